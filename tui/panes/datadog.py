"""Datadog on the team and account screens, and in the overview's cells.

The Metrics tab shows one sparkline per configured metric with its latest
value and unit, then the monitors in alert or warn state by name. On the
team screen a metric's series of the team's accounts are combined with the
query's own space aggregator (the mean CPU, the sum of errors, the deepest
queue). The summary shows when Datadog rate-limited the refresh: how long it
waited for the reset, or which data is older because the reset was too far
away. The overview gets one fragment: alerting monitors in the cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from collectors.datadog.parse import aggregate, latest
from collectors.model import Account, Severity
from collectors.snapshot import Snapshot
from tui.columns import register_cell
from tui.panes import CollectorPane, register_pane
from tui.text import SEVERITY_STYLE, cell, format_age, plural
from tui.widgets.table import Column, KeyedTable, Row

SECTION = "datadog"
MONITOR_COLUMNS = [
    Column("status", "status", 6),
    Column("monitor", "monitor", 30, flex=2, max_width=90),
    Column("account", "account", 16, flex=1, max_width=32),
]
STATUS_STYLE = {"Alert": SEVERITY_STYLE[Severity.CRITICAL], "Warn": "yellow"}


def alert_counts(
    section: dict[str, Any], accounts: Sequence[Account]
) -> tuple[int, int]:
    """Return the monitors in alert and in warn state over ``accounts``."""
    by_account = section.get("by_account", {})
    alert = warn = 0
    for account in accounts:
        monitors = by_account.get(account.id, {}).get("monitors") or {}
        alert += monitors.get("alert", 0)
        warn += monitors.get("warn", 0)
    return alert, warn


@register_cell(SECTION, title="Datadog", order=30)
def alerts_cell(
    snapshot: Snapshot, accounts: Sequence[Account]
) -> tuple[str, Severity] | None:
    """Show how many Datadog monitors alert or warn in the accounts; nothing for 0."""
    section = snapshot.sections.get(SECTION)
    if section is None or not section.get("metrics"):
        return None
    monitors = section.get("monitors") or {}
    if monitors.get("status") != "ok" and not monitors.get("stale"):
        return "DD ?", Severity.UNKNOWN
    alert, warn = alert_counts(section, accounts)
    if alert + warn:
        return f"DD {alert + warn}", Severity.WARNING
    return None


def combined_values(
    section: dict[str, Any], metric: dict[str, Any], accounts: Sequence[Account]
) -> list[float | None] | None:
    """Combine the accounts' values of one metric point by point, or None."""
    by_account = section.get("by_account", {})
    rows = [
        entry["values"]
        for account in accounts
        if (
            entry := by_account.get(account.id, {}).get("metrics", {}).get(metric["id"])
        )
    ]
    if not rows:
        return None
    aggregator = metric.get("aggregator", "avg")
    width = min(len(row) for row in rows)
    return [aggregate([row[i] for row in rows], aggregator) for i in range(width)]


def value_text(value: float | None, unit: str) -> str:
    """Format a value with its unit: ``41.2%``, ``1.3k messages``, ``no data``."""
    if value is None:
        return "no data"
    size = abs(value)
    if size >= 1_000_000:
        number = f"{value / 1_000_000:.1f}M"
    elif size >= 10_000:
        number = f"{value / 1000:.0f}k"
    elif size >= 1000:
        number = f"{value / 1000:.1f}k"
    elif size >= 100 or value == int(value):
        number = f"{value:.0f}"
    else:
        number = f"{value:.1f}"
    if not unit:
        return number
    if unit == "%":
        return f"{number}%"
    if number == "1" and unit.endswith("s"):
        unit = unit[:-1]
    return f"{number} {unit}"


def monitor_rows(section: dict[str, Any], accounts: Sequence[Account]) -> list[Row]:
    """List the accounts' alerting monitors, alerts first, as table rows."""
    by_account = section.get("by_account", {})
    rows = []
    for account in accounts:
        monitors = by_account.get(account.id, {}).get("monitors") or {}
        for monitor in monitors.get("names", []):
            status = monitor["status"]
            cells = (
                cell(status, STATUS_STYLE.get(status, "")),
                cell(monitor["name"]),
                cell(account.name),
            )
            key = f"{account.id}/{monitor.get('id')}"
            rows.append(Row(key, cells, f"{status} {monitor['name']} {account.name}"))
    rows.sort(key=lambda row: (row.cells[0].plain != "Alert", row.cells[1].plain))
    return rows


def rate_limit_text(section: dict[str, Any]) -> Text | None:
    """Describe how the refresh met Datadog's rate limits, or None when it did not."""
    report = section.get("rate_limit") or {}
    waits = report.get("waits") or []
    limited = report.get("limited") or []
    if not waits and not limited:
        return None
    text = Text()
    if waits:
        names = ", ".join(sorted({w.get("name") or w["operation"] for w in waits}))
        text.append(
            f"rate-limited: waited {report.get('waited_seconds', 0):.0f} s in "
            f"{plural(len(waits), 'wait')} for Datadog's X-RateLimit-Reset ({names})",
            style=SEVERITY_STYLE[Severity.WARNING],
        )
    if limited:
        reset = max(item["reset_seconds"] for item in limited)
        if waits:
            text.append("\n")
        text.append(
            f"rate-limited: {plural(len(limited), 'request')} not made, the limit "
            f"resets in {reset:.0f} s; earlier values are shown where there are any",
            style=SEVERITY_STYLE[Severity.UNKNOWN],
        )
    return text


class MetricRow(Horizontal):
    """One metric: its label, a sparkline of the window and the latest value."""

    DEFAULT_CSS = """
    MetricRow {
        height: 2;
        padding: 0 1;
    }
    MetricRow .metric-label {
        width: 20;
    }
    MetricRow Sparkline {
        width: 1fr;
        height: 1;
        margin: 0 1;
    }
    MetricRow Sparkline.empty {
        visibility: hidden;
    }
    MetricRow .metric-value {
        width: 18;
        text-align: right;
    }
    """

    def __init__(self, metric_id: str, label: str) -> None:
        """Name the row after its metric so a refresh finds it again."""
        super().__init__(id=f"metric-{metric_id}")
        self.label = label

    def compose(self) -> ComposeResult:
        """Lay out the label, the sparkline and the value."""
        yield Static(self.label, classes="metric-label", markup=False)
        yield Sparkline([])
        yield Static("", classes="metric-value", markup=False)

    def show(self, values: list[float | None] | None, unit: str, stale: bool) -> None:
        """Paint the series; gaps are left out of the sparkline."""
        present = [value for value in values or [] if value is not None]
        sparkline = self.query_one(Sparkline)
        sparkline.data = present
        # An empty sparkline draws a baseline that reads as a series of zeros.
        sparkline.set_class(not present, "empty")
        text = value_text(latest(values or []), unit)
        style = "dim" if values is None or stale else "bold"
        value = Text(text, style=style)
        if stale:
            value.append(" (old)", style="dim")
        self.query_one(".metric-value", Static).update(value)


@register_pane
class DatadogPane(CollectorPane):
    """Datadog metrics and alerting monitors of the shown accounts."""

    collector = SECTION
    title = "Metrics"
    order = 30

    DEFAULT_CSS = """
    DatadogPane #datadog-summary {
        height: auto;
        padding: 0 1;
    }
    DatadogPane #datadog-metrics {
        height: auto;
        margin: 1 0;
    }
    DatadogPane #datadog-monitors {
        height: 1fr;
    }
    """

    def compose(self) -> ComposeResult:
        """Lay out the summary, the metric rows and the monitors table."""
        yield Static("", id="datadog-summary", markup=False)
        yield Vertical(id="datadog-metrics")
        yield KeyedTable(id="datadog-monitors", cursor_type="row")

    def show(self, snapshot: Snapshot, accounts: Sequence[Account]) -> None:
        """Paint the accounts' metrics and monitors from the datadog section."""
        section = self.section(snapshot)
        summary = self.query_one("#datadog-summary", Static)
        monitors = self.query_one("#datadog-monitors", KeyedTable)
        if section is None or not section.get("metrics"):
            summary.update(_missing_text(snapshot))
            self._show_metrics({}, [], accounts)
            monitors.set_rows(MONITOR_COLUMNS, [])
            return
        summary.update(self._summary(snapshot, section, accounts))
        self._show_metrics(section, section["metrics"], accounts)
        monitors.set_rows(MONITOR_COLUMNS, monitor_rows(section, accounts))

    def apply_filter(self, text: str) -> None:
        """Keep the monitors whose name, state or account contains ``text``."""
        self.query_one("#datadog-monitors", KeyedTable).set_filter(text)

    def _show_metrics(
        self,
        section: dict[str, Any],
        metrics: list[dict[str, Any]],
        accounts: Sequence[Account],
    ) -> None:
        box = self.query_one("#datadog-metrics", Vertical)
        expected_ids = [f"metric-{metric['id']}" for metric in metrics]
        if [row.id for row in box.query(MetricRow)] != expected_ids:
            # The metric list changes only with the config, so rows are
            # rebuilt rarely. A refresh with the same metrics updates them.
            box.remove_children()
            box.mount_all(
                MetricRow(metric["id"], metric["label"]) for metric in metrics
            )
            self.call_after_refresh(self._paint_metrics, section, metrics, accounts)
            return
        self._paint_metrics(section, metrics, accounts)

    def _paint_metrics(
        self,
        section: dict[str, Any],
        metrics: list[dict[str, Any]],
        accounts: Sequence[Account],
    ) -> None:
        for metric in metrics:
            row = self.query_one(f"#metric-{metric['id']}", MetricRow)
            values = combined_values(section, metric, accounts)
            stale = bool(metric.get("stale") or section.get("stale"))
            row.show(values, metric.get("unit", ""), stale)

    def _summary(
        self, snapshot: Snapshot, section: dict[str, Any], accounts: Sequence[Account]
    ) -> Text:
        text = Text(f"Datadog {section.get('site', '')}", style="bold")
        text.append(
            f" · {len(section['metrics'])} metrics by {section.get('account_tag', '')}"
            f"{_window_text(section)}"
        )
        alert, warn = alert_counts(section, accounts)
        text.append("\n")
        if alert or warn:
            counts = [
                f"{n} in {state}"
                for n, state in ((alert, "alert"), (warn, "warn"))
                if n
            ]
            text.append(
                f"Monitors: {', '.join(counts)}", style=SEVERITY_STYLE[Severity.WARNING]
            )
        else:
            text.append("no monitor in alert or warn", style="green")
        limits = rate_limit_text(section)
        if limits is not None:
            text.append("\n")
            text.append(limits)
        for error in snapshot.errors:
            if error.collector == SECTION:
                text.append(
                    f"\n{error.kind} {error.operation}: {error.message}",
                    style=SEVERITY_STYLE[Severity.UNKNOWN],
                )
        fetched = section.get("fetched_at")
        if isinstance(fetched, str):
            now: datetime = self.app.clock()  # type: ignore[attr-defined]
            age = format_age(datetime.fromisoformat(fetched), now)
            requests = sum((section.get("requests") or {}).values())
            stale = " (kept from an earlier refresh)" if section.get("stale") else ""
            text.append(
                f"\nread {age}{stale} in {plural(requests, 'request')}", style="dim"
            )
        return text


def _window_text(section: dict[str, Any]) -> str:
    window = section.get("window") or {}
    if not window.get("from") or not window.get("to"):
        return ""
    start = datetime.fromisoformat(window["from"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(window["to"].replace("Z", "+00:00"))
    hours = (end - start).total_seconds() / 3600
    return f" · last {hours:g} h"


def _missing_text(snapshot: Snapshot) -> str:
    states = [s for s in snapshot.states if s.collector == SECTION]
    if states:
        return f"Datadog is not collected: {states[0].detail or states[0].state}."
    failed = [e for e in snapshot.errors if e.collector == SECTION]
    if failed:
        return f"Datadog failed: {failed[0].kind} {failed[0].message}"
    return "No Datadog data in this snapshot yet."
