"""Read the snapshot's ``quotas`` section for the screens: lookups and cell text.

Rows come from :mod:`collectors.quotas.rows` (one quota in one account and
region). The overview needs the highest utilization of every cell, and a
large organization has tens of thousands of rows, so rows are grouped by
account once per section and looked up from there. Nothing here imports
Textual, so it is tested without a screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from collectors.model import Account, Severity, State, StateRecord
from collectors.quotas import rows as quota_rows
from collectors.snapshot import Snapshot

SECTION = "quotas"
TREND_BARS = "▁▂▃▄▅▆▇█"
LEVEL_SEVERITY = {
    "critical": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "ok": Severity.OK,
}
"""Severity of a row's level; ``none`` (no utilization known) has none."""
FLAG_NOTES = {
    "over-quota": "usage above the quota: a raised value not visible yet?",
    "applied-unknown": "applied value unreadable",
    "rate-average": "daily average rate, bursts hidden",
    "no-usage-metric": "AWS publishes no usage for it",
    "no-data": "no datapoint in the horizon",
    "count-failed": "counting the resources failed",
}


def quota_section(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """Return the snapshot's quotas section, or None when it has none."""
    if snapshot is None:
        return None
    section = snapshot.sections.get(SECTION)
    return section if section and "rows" in section else None


@dataclass
class QuotaIndex:
    """A section's rows by account id, each list ranked by utilization."""

    section: dict[str, Any]
    by_account: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    top: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each account's highest row that has a level (ok, warning or critical)."""


_last: QuotaIndex | None = None


def index(section: dict[str, Any]) -> QuotaIndex:
    """Group a section's rows by account, reusing the index of the same section."""
    global _last
    if _last is not None and _last.section is section:
        return _last
    found = QuotaIndex(section)
    for row in section["rows"]:
        found.by_account.setdefault(row["account_id"], []).append(row)
    for account_id, account_rows in found.by_account.items():
        account_rows.sort(key=quota_rows.rank_key)
        levelled = [r for r in account_rows if r["severity"] in LEVEL_SEVERITY]
        if levelled:
            found.top[account_id] = levelled[0]
    _last = found
    return found


def rows_for(
    section: dict[str, Any], accounts: Iterable[Account]
) -> list[dict[str, Any]]:
    """Return the rows of ``accounts``, highest utilization first."""
    found = index(section)
    chosen = [row for a in accounts for row in found.by_account.get(a.id, [])]
    return sorted(chosen, key=quota_rows.rank_key)


def top_row(
    section: dict[str, Any], accounts: Iterable[Account]
) -> dict[str, Any] | None:
    """Return the highest-utilization row of ``accounts`` that has a level."""
    found = index(section)
    tops = [found.top[a.id] for a in accounts if a.id in found.top]
    return min(tops, key=quota_rows.rank_key) if tops else None


def severity(row: dict[str, Any]) -> Severity | None:
    """Return the row's severity, or None when no utilization is known."""
    return LEVEL_SEVERITY.get(row["severity"])


def level_text(row: dict[str, Any]) -> str:
    """Return the level shown for a row: critical, warning, ok, data? or blank."""
    if "over-quota" in row["flags"]:
        return "data?"
    if row["severity"] in LEVEL_SEVERITY:
        return str(row["severity"])
    return "unknown" if row["source"] == "unknown" else ""


def trend_text(row: dict[str, Any]) -> str:
    """Draw the daily usage as bars scaled to the quota's value (or the maximum)."""
    values = [v for v in row["trend"] if v is not None]
    if not values:
        return ""
    top = row["value"] or max(values) or 1.0
    bars = []
    for value in row["trend"]:
        if value is None:
            bars.append(" ")
            continue
        share = min(max(value / top, 0.0), 1.0)
        bars.append(TREND_BARS[round(share * (len(TREND_BARS) - 1))])
    return "".join(bars)


def note_text(row: dict[str, Any]) -> str:
    """Explain a row's flags in words, the applied value's error included."""
    notes = []
    for flag in row["flags"]:
        note = FLAG_NOTES.get(flag, flag)
        if flag == "applied-unknown" and row.get("applied_error"):
            note = f"{note} ({row['applied_error']})"
        notes.append(note)
    if row.get("usage_source") == "count":
        notes.append("usage counted")
    return "; ".join(notes)


def region_notes(
    section: dict[str, Any], accounts: Sequence[Account], states: Iterable[StateRecord]
) -> list[str]:
    """Describe the regions of ``accounts`` that are not enabled, per account.

    The inventory's disabled regions come from the section; a region that
    answered ``OptInRequired`` during the refresh comes from the snapshot's
    states.
    """
    disabled = {k: list(v) for k, v in section.get("disabled_regions", {}).items()}
    for state in states:
        if state.collector == SECTION and state.state is State.REGION_DISABLED:
            regions = disabled.setdefault(state.account_id, [])
            if state.region not in regions:
                regions.append(state.region)
    notes = []
    for account in accounts:
        regions = disabled.get(account.id)
        if regions:
            notes.append(f"{account.name}: {', '.join(regions)} not enabled")
    return notes


def counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Count rows by level: critical, warning and data problems."""
    found = {"critical": 0, "warning": 0, "data?": 0}
    for row in rows:
        level = level_text(row)
        if level in found:
            found[level] += 1
    return found


def thresholds_text(section: dict[str, Any]) -> str:
    """Describe the thresholds the section's levels were computed with."""
    thresholds = section.get("thresholds", {})
    text = (
        f"warning {thresholds.get('warning', 80):g} %, "
        f"critical {thresholds.get('critical', 95):g} %"
    )
    per_quota = thresholds.get("per_quota") or {}
    if per_quota:
        text += f" ({len(per_quota)} quota codes with their own)"
    return text
