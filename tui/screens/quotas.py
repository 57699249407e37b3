"""``:quotas``: the quotas closest to their limit across the organization.

Rows are ranked by utilization, highest first, with the account's team and
environment. ``:quotas ec2``, ``:quotas eu-west-1`` or ``:quotas ec2
eu-west-1`` keep the services and regions named (``global`` for quotas that
apply to a whole account); ``/`` filters further by any text. ``enter`` opens
the account on its Quotas tab.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent

from collectors.snapshot import Snapshot
from tui import quotas
from tui.panes.quotas import COLUMNS as PANE_COLUMNS
from tui.panes.quotas import DATA_PROBLEM_STYLE, row_cells, row_key
from tui.screens.base import DataScreen
from tui.text import SEVERITY_STYLE, cell, plural
from tui.views import register_view
from tui.widgets.table import Column, KeyedTable, Row

MAX_ROWS = 500
"""Rows shown at most; a 1,000-account organization has about 60,000 quotas."""
COLUMNS = [Column("rank", "#", 3), Column("level", "level", 8), *PANE_COLUMNS]
"""Team, environment and service are not columns, to fit 160 columns, but the
``/`` filter matches them."""


def parse_argument(argument: str) -> list[str]:
    """Split ``:quotas`` arguments into lower-case service and region terms."""
    return [term.lower() for term in argument.replace(",", " ").split()]


def known_terms(section: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Return the services and regions the section's rows use."""
    services = {row["service"] for row in section["rows"]}
    regions = {row["region"] for row in section["rows"]}
    return services, regions


def select_rows(section: dict[str, Any], terms: list[str]) -> list[dict[str, Any]]:
    """Return the rows of the services and regions in ``terms``, ranked."""
    services, regions = known_terms(section)
    chosen_services = {t for t in terms if t in services}
    chosen_regions = {t for t in terms if t in regions}
    return [
        row
        for row in section["rows"]
        if (not chosen_services or row["service"] in chosen_services)
        and (not chosen_regions or row["region"] in chosen_regions)
    ]


@register_view(
    "quotas",
    description="quotas by utilization across the org; filter by service, region",
    argument="[service] [region]",
)
class QuotasScreen(DataScreen):
    """The organization's quotas, highest utilization first, with drill-down."""

    DEFAULT_CSS = """
    QuotasScreen #quotas-org {
        height: auto;
        padding: 0 1;
    }
    QuotasScreen #quotas-ranked {
        height: 1fr;
    }
    """

    def __init__(self, argument: str = "") -> None:
        """Create the screen; rows are filled on the first paint."""
        super().__init__(argument)
        self.rows: dict[str, dict[str, Any]] = {}

    @classmethod
    def check_argument(cls, snapshot: Snapshot | None, argument: str) -> str | None:
        """Reject a term that is neither a service nor a region of the quotas."""
        section = quotas.quota_section(snapshot)
        terms = parse_argument(argument)
        if section is None or not terms:
            return None
        services, regions = known_terms(section)
        unknown = [t for t in terms if t not in services | regions]
        if unknown:
            return (
                f"No quotas for {', '.join(unknown)}. Services: "
                f"{', '.join(sorted(services))}; regions: {', '.join(sorted(regions))}."
            )
        return None

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the summary line and the ranked table."""
        yield Static("", id="quotas-org", markup=False)
        yield KeyedTable(id="quotas-ranked", cursor_type="row")

    def show(self, snapshot: Snapshot) -> None:
        """List the quotas of the chosen services and regions, highest first."""
        section = quotas.quota_section(snapshot)
        table = self.query_one("#quotas-ranked", KeyedTable)
        summary = self.query_one("#quotas-org", Static)
        if section is None:
            self.set_title("Quotas · no quota data in this snapshot")
            summary.update("")
            table.set_rows(COLUMNS, [])
            return
        terms = parse_argument(self.argument)
        chosen = select_rows(section, terms)
        listed = chosen[:MAX_ROWS]
        accounts = {account.id: account for account in snapshot.accounts}
        self.rows = {row_key(row): row for row in listed}
        table.set_rows(
            COLUMNS, [_row(i, row, accounts) for i, row in enumerate(listed, 1)]
        )
        summary.update(_summary_line(section, chosen))
        self.set_title(_title(terms, len(listed), len(chosen)))

    def apply_filter(self, text: str) -> None:
        """Keep the rows containing ``text``."""
        self.query_one("#quotas-ranked", KeyedTable).set_filter(text)

    def focus_body(self) -> None:
        """Put the focus back on the table."""
        self.query_one("#quotas-ranked", KeyedTable).focus()

    @on(DataTable.RowSelected, "#quotas-ranked")
    async def _selected(self, event: DataTable.RowSelected) -> None:
        from tui.screens.account import AccountScreen

        key = self.query_one("#quotas-ranked", KeyedTable).current_key
        row = self.rows.get(key) if key else None
        snapshot = self.orgtop.snapshot
        if row is None or snapshot is None:
            return
        if snapshot.account(row["account_id"]) is None:
            self.notify(
                f"{row['account_id']} is not in the inventory.", severity="warning"
            )
            return
        screen = AccountScreen(row["account_id"])
        await self.app.push_screen(screen)
        tabs = screen.query(TabbedContent)
        if tabs:
            tabs.first().active = f"tab-{quotas.SECTION}"


def _row(rank: int, row: dict[str, Any], accounts: dict[str, Any]) -> Row:
    account = accounts.get(row["account_id"])
    name = account.name if account else row["account_id"]
    team = f"{account.team}/{account.env}" if account else ""
    level = quotas.level_text(row)
    severity = quotas.severity(row)
    style = DATA_PROBLEM_STYLE if level == "data?" else ""
    if severity is not None and level in ("critical", "warning"):
        style = SEVERITY_STYLE[severity]
    cells = (cell(str(rank), "dim"), cell(level, style), *row_cells(row, name))
    search = " ".join([*(text.plain for text in cells), team, row["service"]])
    return Row(row_key(row), cells, search)


def _summary_line(section: dict[str, Any], chosen: list[dict[str, Any]]) -> str:
    levels = quotas.counts(chosen)
    return (
        f"{levels['critical']} critical, {levels['warning']} warning, "
        f"{levels['data?']} above their quota (a data problem) · "
        f"{quotas.thresholds_text(section)}"
    )


def _title(terms: list[str], listed: int, total: int) -> str:
    scope = f" in {' '.join(terms)}" if terms else ""
    count = plural(total, "quota")
    if listed < total:
        count = f"top {listed} of {total} quotas"
    return (
        f"Quotas{scope} · {count}, highest utilization first · enter opens the account"
    )
