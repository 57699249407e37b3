"""``:errors``: every collection error of the latest snapshot."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.widget import Widget
from textual.widgets import DataTable

from collectors.model import ErrorRecord, Severity
from collectors.snapshot import Snapshot
from tui.screens.base import DataScreen
from tui.text import SEVERITY_STYLE, cell, plural
from tui.views import register_view
from tui.widgets.detail import DetailLine
from tui.widgets.table import Column, KeyedTable, Row

COLUMNS = [
    Column("account", "account", 18),
    Column("kind", "kind", 13),
    Column("collector", "collector", 9),
    Column("operation", "operation", 14),
    Column("message", "message", 16, flex=1),
    Column("region", "region", 14),
    Column("id", "id", 12),
    Column("at", "when", 19),
]


@register_view("errors", description="list every collection error")
class ErrorsScreen(DataScreen):
    """Account, region, collector, kind, message and time of every error."""

    def __init__(self, argument: str = "") -> None:
        """Create the screen; rows are filled on the first paint."""
        super().__init__(argument)
        self.records: dict[str, ErrorRecord] = {}

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the errors table."""
        yield KeyedTable(
            id="errors", cursor_type="row", on_cursor=self._describe_cursor
        )
        yield DetailLine(id="error-detail")

    def show(self, snapshot: Snapshot) -> None:
        """List the snapshot's error records by account name, collector and region."""
        names = {account.id: account.name for account in snapshot.accounts}
        ordered = sorted(
            snapshot.errors,
            key=lambda e: (
                names.get(e.account_id, e.account_id),
                e.collector,
                e.region,
            ),
        )
        rows = []
        self.records = {}
        seen: dict[str, int] = {}
        for error in ordered:
            base = (
                f"{error.account_id}/{error.region}/{error.collector}/{error.operation}"
            )
            seen[base] = seen.get(base, 0) + 1
            cells = (
                cell(names.get(error.account_id, "-"), "bold"),
                cell(str(error.kind), SEVERITY_STYLE[Severity.UNKNOWN]),
                cell(error.collector),
                cell(error.operation or "-"),
                cell(error.message),
                cell(error.region or "-"),
                cell(error.account_id or "-"),
                cell(error.at.replace("T", " ").rstrip("Z")),
            )
            search = " ".join(c.plain for c in cells)
            key = f"{base}#{seen[base]}"
            self.records[key] = error
            rows.append(Row(key, cells, search))
        self.query_one("#errors", KeyedTable).set_rows(COLUMNS, rows)
        self._describe_cursor()
        accounts = len({error.account_id for error in snapshot.errors})
        if snapshot.errors:
            self.set_title(
                f"Errors · {plural(len(snapshot.errors), 'collection error')} in "
                f"{plural(accounts, 'account')} · enter opens the account"
            )
        else:
            self.set_title("Errors · none in the latest snapshot")

    def apply_filter(self, text: str) -> None:
        """Keep the errors whose row contains ``text``."""
        self.query_one("#errors", KeyedTable).set_filter(text)
        self._describe_cursor()

    def _describe_cursor(self) -> None:
        key = self.query_one("#errors", KeyedTable).current_key
        error = self.records.get(key) if key else None
        detail = self.query_one("#error-detail", DetailLine)
        if error is None:
            detail.update("")
            return
        snapshot = self.orgtop.snapshot
        account = snapshot.account(error.account_id) if snapshot else None
        name = account.name if account else error.account_id
        where = f" in {error.region}" if error.region else ""
        detail.update(
            f"{name} ({error.account_id}){where}: {error.collector} "
            f"{error.operation or 'call'} failed with {error.code or error.kind} "
            f"at {error.at}. {error.message}"
        )

    def focus_body(self) -> None:
        """Put the focus back on the errors table."""
        self.query_one("#errors", KeyedTable).focus()

    @on(DataTable.RowSelected, "#errors")
    def _selected(self, event: DataTable.RowSelected) -> None:
        from tui.screens.account import AccountScreen

        key = self.query_one("#errors", KeyedTable).current_key
        if key is None:
            return
        account_id = key.split("/", 1)[0]
        if self.orgtop.snapshot and self.orgtop.snapshot.account(account_id):
            self.app.push_screen(AccountScreen(account_id))
