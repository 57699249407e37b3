"""Cost on the team and account screens, and in the overview's cells.

The pane names the metric, shows month to date and the month-end projection,
the newest complete day against its median, the provisional days, a chart
of the daily series and the spend per service. The overview gets two cell
fragments: month to date, and the change of the newest complete day with a
spike mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Sparkline, Static

from collectors.model import Account, Severity
from collectors.snapshot import Snapshot
from tui import costs
from tui.columns import register_cell
from tui.panes import CollectorPane, register_pane
from tui.text import SEVERITY_STYLE, cell, format_age
from tui.widgets.table import Column, KeyedTable, Row

COLUMNS = [
    Column("service", "service", 24, flex=1, max_width=48),
    Column("month", "month to date", 14),
    Column("projection", "projection", 14),
    Column("latest", "newest day", 13),
    Column("median", "median", 13),
    Column("change", "change", 8),
]


def _group(
    snapshot: Snapshot, accounts: Sequence[Account]
) -> tuple[str, costs.CostTotals] | None:
    """Return the currency and the accounts' totals, or None without cost data."""
    section = costs.cost_section(snapshot)
    if section is None:
        return None
    found = costs.totals(section, accounts)
    return (section["currency"], found) if found.accounts else None


@register_cell("cost", title="MTD", order=10)
def month_to_date_cell(
    snapshot: Snapshot, accounts: Sequence[Account]
) -> tuple[str, Severity] | None:
    """Show the accounts' month-to-date spend."""
    group = _group(snapshot, accounts)
    if group is None:
        return None
    currency, found = group
    return costs.compact_money(found.month_to_date, currency), Severity.OK


@register_cell("cost-change", title="Δ day", order=11)
def change_cell(
    snapshot: Snapshot, accounts: Sequence[Account]
) -> tuple[str, Severity] | None:
    """Show the newest complete day against its median, marked when it spiked."""
    group = _group(snapshot, accounts)
    if group is None:
        return None
    found = group[1]
    if not found.baseline and not found.latest:
        return None
    text = costs.percent(found.change_percent)
    if found.spike:
        return f"{text}{costs.SPIKE_MARK}", Severity.WARNING
    return text, Severity.OK


@register_pane
class CostPane(CollectorPane):
    """Spend of the shown accounts: summary, daily chart and services."""

    collector = "cost"
    title = "Cost"
    order = 10

    DEFAULT_CSS = """
    CostPane #cost-summary {
        height: auto;
        padding: 0 1;
    }
    CostPane #cost-chart {
        height: 4;
        margin: 0 1;
    }
    CostPane #cost-chart-caption {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def compose(self) -> ComposeResult:
        """Lay out the summary, the chart and the services table."""
        yield Static("", id="cost-summary", markup=False)
        yield Sparkline([], id="cost-chart")
        yield Static("", id="cost-chart-caption", markup=False)
        yield KeyedTable(id="cost-services", cursor_type="row")

    def show(self, snapshot: Snapshot, accounts: Sequence[Account]) -> None:
        """Paint the accounts' spend from the snapshot's cost section."""
        section = costs.cost_section(snapshot)
        summary = self.query_one("#cost-summary", Static)
        if section is None:
            summary.update(_missing_text(snapshot))
            self.query_one("#cost-chart", Sparkline).data = []
            self.query_one("#cost-services", KeyedTable).set_rows(COLUMNS, [])
            return
        found = costs.totals(section, accounts)
        summary.update(self._summary(section, found))
        self.query_one("#cost-chart", Sparkline).data = [float(v) for v in found.daily]
        self.query_one("#cost-chart-caption", Static).update(_caption(section))
        services = costs.service_totals(section, accounts)
        rows = list(_service_rows(services, section["currency"]))
        self.query_one("#cost-services", KeyedTable).set_rows(COLUMNS, rows)

    def apply_filter(self, text: str) -> None:
        """Keep the services whose name contains ``text``."""
        self.query_one("#cost-services", KeyedTable).set_filter(text)

    def _summary(self, section: dict[str, object], found: costs.CostTotals) -> Text:
        currency = str(section["currency"])
        text = Text(costs.window_note(section), style="bold")
        text.append("\n")
        text.append(
            f"{section['month']} to date {costs.money(found.month_to_date, currency)}"
            f" · projected {costs.money(found.projection, currency)} by month end"
        )
        text.append("\n")
        text.append(
            f"{section['evaluated_day']}: {costs.money(found.latest, currency)} "
            f"against a median of {costs.money(found.baseline, currency)} a day "
            f"({costs.percent(found.change_percent)})"
        )
        if found.spike:
            text.append(
                f" {costs.SPIKE_MARK} spike", style=SEVERITY_STYLE[Severity.WARNING]
            )
        fetched = section.get("fetched_at")
        if isinstance(fetched, str):
            now: datetime = self.app.clock()  # type: ignore[attr-defined]
            age = format_age(datetime.fromisoformat(fetched), now)
            text.append(f"\nread {age} in {costs.request_note(section)}", style="dim")
        return text


def _missing_text(snapshot: Snapshot) -> str:
    states = [s for s in snapshot.states if s.collector == "cost"]
    if states:
        return f"Cost is not collected: {states[0].detail or states[0].state}."
    failed = [e for e in snapshot.errors if e.collector == "cost"]
    if failed:
        return f"Cost Explorer failed: {failed[0].kind} {failed[0].message}"
    return "No cost data in this snapshot yet."


def _caption(section: dict[str, object]) -> str:
    days = section["days"]
    assert isinstance(days, list)
    provisional = section.get("provisional") or []
    assert isinstance(provisional, list)
    last = " (last provisional)" if provisional else ""
    return f"daily spend {days[0]} … {days[-1]}{last}"


def _service_rows(
    services: dict[str, costs.CostTotals], currency: str
) -> Iterable[Row]:
    for service, found in services.items():
        style = SEVERITY_STYLE[Severity.WARNING] if found.spike else ""
        change = costs.percent(found.change_percent)
        cells = (
            cell(f"{service} {costs.SPIKE_MARK}" if found.spike else service, style),
            cell(costs.money(found.month_to_date, currency)),
            cell(costs.money(found.projection, currency)),
            cell(costs.money(found.latest, currency), style),
            cell(costs.money(found.baseline, currency)),
            cell(change, style),
        )
        yield Row(service, cells, service)
