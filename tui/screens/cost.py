"""``:cost``: cost spikes across the organization, ranked by absolute increase.

Each row is one spike on the newest complete day: a team, an account or an
account's service. The lines under the table show the highlighted spike's
daily series and the services that drove it. ``enter`` opens the account or
team on its Cost tab.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on
from textual.widget import Widget
from textual.widgets import DataTable, Sparkline, Static, TabbedContent

from collectors.model import Severity
from collectors.snapshot import Snapshot
from tui import costs
from tui.screens.base import DataScreen
from tui.text import SEVERITY_STYLE, cell, plural
from tui.views import register_view
from tui.widgets.table import Column, KeyedTable, Row

COLUMNS = [
    Column("rank", "#", 3),
    Column("level", "level", 7),
    Column("where", "spike in", 24, flex=2, max_width=60),
    Column("increase", "increase", 13),
    Column("percent", "change", 8),
    Column("amount", "that day", 13),
    Column("median", "median", 13),
    Column("drivers", "driven by", 16, flex=1, max_width=60),
]


@register_view("cost", description="cost spikes across the org, largest first")
class CostScreen(DataScreen):
    """Every cost spike of the newest complete day, with drill-down."""

    DEFAULT_CSS = """
    CostScreen #cost-org {
        height: auto;
        padding: 0 1;
    }
    CostScreen #spikes {
        height: 1fr;
    }
    CostScreen #spike-chart {
        height: 3;
        margin: 0 1;
    }
    CostScreen #spike-detail {
        height: 2;
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(self, argument: str = "") -> None:
        """Create the screen; rows are filled on the first paint."""
        super().__init__(argument)
        self.spikes: dict[str, dict[str, Any]] = {}
        self.section: dict[str, Any] | None = None

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the org summary, the spikes table and the highlighted spike."""
        yield Static("", id="cost-org", markup=False)
        yield KeyedTable(id="spikes", cursor_type="row")
        yield Sparkline([], id="spike-chart")
        yield Static("", id="spike-detail", markup=False)

    def show(self, snapshot: Snapshot) -> None:
        """List the snapshot's cost spikes, largest increase first."""
        section = costs.cost_section(snapshot)
        self.section = section
        table = self.query_one("#spikes", KeyedTable)
        if section is None:
            self.set_title("Cost spikes · no cost data in this snapshot")
            self.query_one("#cost-org", Static).update("")
            table.set_rows(COLUMNS, [])
            self._describe_cursor()
            return
        found = section.get("spikes", [])
        self.spikes = {_key(spike): spike for spike in found}
        currency = section["currency"]
        rows = [_row(index, spike, currency) for index, spike in enumerate(found, 1)]
        table.set_rows(COLUMNS, rows)
        self.query_one("#cost-org", Static).update(_org_line(section))
        self.set_title(_title(section, len(found)))
        self._describe_cursor()

    def apply_filter(self, text: str) -> None:
        """Keep the spikes whose row contains ``text``."""
        self.query_one("#spikes", KeyedTable).set_filter(text)
        self._describe_cursor()

    def focus_body(self) -> None:
        """Put the focus back on the spikes table."""
        self.query_one("#spikes", KeyedTable).focus()

    @on(DataTable.RowHighlighted, "#spikes")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe_cursor()

    def _describe_cursor(self) -> None:
        key = self.query_one("#spikes", KeyedTable).current_key
        spike = self.spikes.get(key) if key else None
        chart = self.query_one("#spike-chart", Sparkline)
        detail = self.query_one("#spike-detail", Static)
        if spike is None or self.section is None:
            chart.data = []
            detail.update("")
            return
        chart.data = [float(value) for value in costs.spike_series(self.section, spike)]
        detail.update(_detail(spike, self.section))

    @on(DataTable.RowSelected, "#spikes")
    async def _selected(self, event: DataTable.RowSelected) -> None:
        from tui.screens.account import AccountScreen
        from tui.screens.team import TeamScreen

        key = self.query_one("#spikes", KeyedTable).current_key
        spike = self.spikes.get(key) if key else None
        if spike is None:
            return
        screen: DataScreen
        if spike["level"] == "team":
            screen = TeamScreen(spike["team"])
        elif self.orgtop.snapshot and self.orgtop.snapshot.account(spike["account_id"]):
            screen = AccountScreen(spike["account_id"])
        else:
            self.notify(
                f"{spike['account_name']} is not in the inventory.", severity="warning"
            )
            return
        await self.app.push_screen(screen)
        tabs = screen.query(TabbedContent)
        if tabs:
            tabs.first().active = "tab-cost"


def _key(spike: dict[str, Any]) -> str:
    return f"{spike['level']}/{spike['account_id'] or spike['team']}/{spike['service']}"


def _row(rank: int, spike: dict[str, Any], currency: str) -> Row:
    warning = SEVERITY_STYLE[Severity.WARNING]
    drivers = ", ".join(driver["service"] for driver in spike["drivers"])
    cells = (
        cell(str(rank), "dim"),
        cell(spike["level"]),
        cell(costs.spike_where(spike), "bold"),
        cell(f"+{costs.money(spike['increase'], currency)}", warning),
        cell(costs.percent(spike["increase_percent"]), warning),
        cell(costs.money(spike["amount"], currency)),
        cell(costs.money(spike["baseline"], currency)),
        cell(drivers or "-"),
    )
    search = " ".join(text.plain for text in cells)
    return Row(_key(spike), cells, search)


def _title(section: dict[str, Any], count: int) -> str:
    if not count:
        thresholds = section.get("thresholds", {})
        limit = costs.money(thresholds.get("min_increase", "0"), section["currency"])
        return (
            f"Cost spikes · none on {section['evaluated_day']} "
            f"(thresholds +{thresholds.get('percent', 0):.0f} % and {limit} "
            "over the median)"
        )
    return (
        f"Cost spikes · {plural(count, 'spike')} on {section['evaluated_day']}, "
        "largest increase first · enter opens the Cost tab"
    )


def _org_line(section: dict[str, Any]) -> Text:
    currency = section["currency"]
    org = section["org"]
    unallocated = section["unallocated"]
    text = Text(costs.window_note(section), style="bold")
    text.append(
        f"\norganization {section['month']} to date "
        f"{costs.money(org['month_to_date'], currency)} "
        f"(unallocated {costs.money(unallocated['month_to_date'], currency)}), "
        f"projected {costs.money(org['projection'], currency)} · "
        f"{costs.request_note(section)}"
    )
    return text


def _detail(spike: dict[str, Any], section: dict[str, Any]) -> str:
    currency = section["currency"]
    drivers = "; ".join(
        f"{driver['service']}"
        + (f" in {driver['account_name']}" if spike["level"] == "team" else "")
        + f" +{costs.money(driver['increase'], currency)}"
        for driver in spike["drivers"]
    )
    return (
        f"{costs.spike_where(spike)} on {spike['day']}: "
        f"{costs.money(spike['amount'], currency)} against a median of "
        f"{costs.money(spike['baseline'], currency)} a day "
        f"(spread {costs.money(spike['spread'], currency)}, {section['metric']}).\n"
        f"Driven by {drivers or 'no single service'}. Chart: "
        f"{section['days'][0]} … {section['days'][-1]}."
    )
