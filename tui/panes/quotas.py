"""Quotas on the team and account screens, and in the overview's cells.

The pane lists every quota of the shown accounts, highest utilization first,
with its region, usage against value, the daily trend and the time to
exhaustion where the trend reaches the value within the horizon. Rows whose
utilization is unknown (applied value unreadable, no usage metric) or
suspect (usage above the quota) come with a note instead of a level. The
overview gets one fragment: the cell's highest utilization.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from collectors.model import Account, Severity, State
from collectors.quotas import rows as quota_rows
from collectors.snapshot import Snapshot
from tui import quotas
from tui.columns import register_cell
from tui.panes import CollectorPane, register_pane
from tui.text import SEVERITY_STYLE, cell, format_age, plural
from tui.widgets.table import Column, KeyedTable, Row

COLUMNS = [
    Column("account", "account", 16),
    Column("region", "region", 14),
    Column("quota", "quota", 20, flex=2, max_width=60),
    Column("usage", "usage", 10),
    Column("value", "value", 10, flex=1, max_width=28),
    Column("percent", "%", 7),
    Column("trend", "trend", 14),
    Column("full", "full", 6),
    Column("note", "note", 10, flex=1, max_width=60),
]
"""Columns of :func:`row_cells`; ``:quotas`` puts a rank and a level before them."""
DATA_PROBLEM_STYLE = SEVERITY_STYLE[Severity.UNKNOWN]


@register_cell("quotas", title="Quota", order=20)
def utilization_cell(
    snapshot: Snapshot, accounts: Sequence[Account]
) -> tuple[str, Severity] | None:
    """Show the accounts' highest quota utilization, coloured by its level."""
    section = quotas.quota_section(snapshot)
    if section is None:
        return None
    row = quotas.top_row(section, accounts)
    if row is None:
        return None
    level = quotas.severity(row) or Severity.OK
    return f"Q {row['percent']:.0f}%", level


def row_cells(row: dict[str, Any], account_name: str) -> tuple[Text, ...]:
    """Format one quota row as table cells, the level's colour on the percent."""
    level = quotas.severity(row)
    style = SEVERITY_STYLE[level] if level and level is not Severity.OK else ""
    if "over-quota" in row["flags"]:
        style = DATA_PROBLEM_STYLE
    return (
        cell(account_name),
        cell(row["region"]),
        cell(row["name"]),
        cell(quota_rows.usage_text(row)),
        cell(quota_rows.value_text(row), "dim" if row["source"] == "unknown" else ""),
        cell(quota_rows.percent_text(row), style),
        cell(quotas.trend_text(row), style or "cyan"),
        cell(quota_rows.exhaustion_text(row).removeprefix("in "), "bold"),
        cell(quotas.note_text(row), "dim"),
    )


def row_key(row: dict[str, Any]) -> str:
    """Return a row's key: account, region and quota code."""
    return f"{row['account_id']}/{row['region']}/{row['code']}"


@register_pane
class QuotasPane(CollectorPane):
    """Quotas of the shown accounts, highest utilization first."""

    collector = quotas.SECTION
    title = "Quotas"
    order = 20

    DEFAULT_CSS = """
    QuotasPane #quotas-summary {
        height: auto;
        max-height: 6;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        """Lay out the summary lines above the quotas table."""
        yield Static("", id="quotas-summary", markup=False)
        yield KeyedTable(id="quotas-table", cursor_type="row")

    def show(self, snapshot: Snapshot, accounts: Sequence[Account]) -> None:
        """Paint the accounts' quotas from the snapshot's quotas section."""
        section = quotas.quota_section(snapshot)
        summary = self.query_one("#quotas-summary", Static)
        table = self.query_one("#quotas-table", KeyedTable)
        if section is None:
            summary.update(_missing_text(snapshot))
            table.set_rows(COLUMNS, [])
            return
        found = quotas.rows_for(section, accounts)
        names = {account.id: account.name for account in accounts}
        rows = []
        for row in found:
            cells = row_cells(row, names.get(row["account_id"], row["account_id"]))
            search = " ".join(text.plain for text in cells) + f" {row['service']}"
            rows.append(Row(row_key(row), cells, search))
        table.set_rows(COLUMNS, rows)
        summary.update(self._summary(snapshot, section, accounts, found))

    def apply_filter(self, text: str) -> None:
        """Keep the quotas whose row contains ``text`` (service, region, name)."""
        self.query_one("#quotas-table", KeyedTable).set_filter(text)

    def _summary(
        self,
        snapshot: Snapshot,
        section: dict[str, Any],
        accounts: Sequence[Account],
        found: list[dict[str, Any]],
    ) -> Text:
        levels = quotas.counts(found)
        text = Text(plural(len(found), "quota"), style="bold")
        for level in ("critical", "warning"):
            if levels[level]:
                severity = quotas.LEVEL_SEVERITY[level]
                text.append(f" · {levels[level]} {level}", SEVERITY_STYLE[severity])
        if levels["data?"]:
            text.append(f" · {levels['data?']} above the quota", DATA_PROBLEM_STYLE)
        text.append(
            f" · {quotas.thresholds_text(section)} · "
            f"trend over {section.get('horizon_days', 14)} days"
        )
        for note in quotas.region_notes(section, accounts, snapshot.states):
            text.append(f"\n{note} (a state, not an error)", style="dim")
        ids = {account.id for account in accounts}
        for error in snapshot.errors:
            if error.collector == quotas.SECTION and error.account_id in ids:
                text.append(
                    f"\n{error.region}: {error.kind} {error.operation} {error.code}",
                    style=SEVERITY_STYLE[Severity.UNKNOWN],
                )
        fetched = section.get("fetched_at")
        if isinstance(fetched, str):
            now: datetime = self.app.clock()  # type: ignore[attr-defined]
            age = format_age(datetime.fromisoformat(fetched), now)
            text.append(f"\nusage read {age}", style="dim")
        return text


def _missing_text(snapshot: Snapshot) -> str:
    for state in snapshot.states:
        if state.collector == quotas.SECTION and state.state is State.NOT_CONFIGURED:
            return f"Quotas are not collected: {state.detail or state.state}."
    return "No quota data in this snapshot yet."
