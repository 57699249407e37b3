"""``:errors``: every collection error of the latest snapshot."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.widget import Widget
from textual.widgets import DataTable

from collectors.model import Severity
from collectors.snapshot import Snapshot
from tui.screens.base import DataScreen
from tui.text import SEVERITY_STYLE, cell
from tui.views import register_view
from tui.widgets.table import Column, KeyedTable, Row

COLUMNS = [
    Column("account", "account", 22),
    Column("id", "id", 12),
    Column("region", "region", 14),
    Column("collector", "collector", 10),
    Column("kind", "kind", 19),
    Column("operation", "operation", 20),
    Column("message", "message", 50),
    Column("at", "when", 20),
]


@register_view("errors", description="list every collection error")
class ErrorsScreen(DataScreen):
    """Account, region, collector, kind, message and time of every error."""

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the errors table."""
        yield KeyedTable(id="errors", cursor_type="row")

    def show(self, snapshot: Snapshot) -> None:
        """List the snapshot's error records, worst accounts first."""
        names = {account.id: account.name for account in snapshot.accounts}
        ordered = sorted(
            snapshot.errors,
            key=lambda e: (names.get(e.account_id, e.account_id), e.collector, e.region),
        )
        rows = []
        seen: dict[str, int] = {}
        for error in ordered:
            base = f"{error.account_id}/{error.region}/{error.collector}/{error.operation}"
            seen[base] = seen.get(base, 0) + 1
            cells = (
                cell(names.get(error.account_id, "-"), "bold"),
                cell(error.account_id or "-"),
                cell(error.region or "-"),
                cell(error.collector),
                cell(str(error.kind), SEVERITY_STYLE[Severity.UNKNOWN]),
                cell(error.operation or "-"),
                cell(error.message),
                cell(error.at.replace("T", " ").rstrip("Z")),
            )
            search = " ".join(c.plain for c in cells)
            rows.append(Row(f"{base}#{seen[base]}", cells, search))
        self.query_one("#errors", KeyedTable).set_rows(COLUMNS, rows)
        accounts = len({error.account_id for error in snapshot.errors})
        if snapshot.errors:
            self.set_title(
                f"Errors · {len(snapshot.errors)} collection errors in {accounts} accounts"
                " · enter opens the account"
            )
        else:
            self.set_title("Errors · none in the latest snapshot")

    def apply_filter(self, text: str) -> None:
        """Keep the errors whose row contains ``text``."""
        self.query_one("#errors", KeyedTable).set_filter(text)

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
