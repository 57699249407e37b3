"""Read the snapshot's ``cost`` section for the screens: totals, services, money.

The section stores amounts as decimal strings per account (see
:mod:`collectors.cost.section`). Screens show groups of accounts (a cell, a
team, one account), so this module adds accounts up and formats money.
Nothing here imports Textual, so it is tested without a screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from collectors.cost.section import Window, month_to_date, projection
from collectors.cost.spikes import baseline
from collectors.model import Account
from collectors.snapshot import Snapshot

ZERO = Decimal(0)
SPIKE_MARK = "▲"
PROVISIONAL_MARK = "~"


def cost_section(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """Return the snapshot's cost section when it contains collected days, else None."""
    if snapshot is None:
        return None
    section = snapshot.sections.get("cost")
    if not section or not section.get("days"):
        return None
    return section


@dataclass
class CostTotals:
    """A group of accounts' spend: the summed daily series and its summary."""

    month_to_date: Decimal = ZERO
    projection: Decimal = ZERO
    latest: Decimal = ZERO
    baseline: Decimal = ZERO
    daily: list[Decimal] = field(default_factory=list)
    spike: bool = False
    accounts: int = 0

    @property
    def change_percent(self) -> float | None:
        """Return the newest complete day against the group's median, in percent."""
        if not self.baseline:
            return None
        return float((self.latest - self.baseline) / self.baseline * 100)


def totals(section: dict[str, Any], accounts: Iterable[Account]) -> CostTotals:
    """Add up the daily spend of ``accounts``; accounts without cost add nothing."""
    result = CostTotals(daily=[ZERO] * len(section["days"]))
    entries = section.get("accounts", {})
    for account in accounts:
        entry = entries.get(account.id)
        if entry is None:
            continue
        result.accounts += 1
        _add_daily(result, entry["daily"])
        result.spike = result.spike or bool(entry.get("spike"))
    return _summarized(section, result)


def _add_daily(result: CostTotals, daily: Sequence[str]) -> None:
    result.daily = [
        total + Decimal(value) for total, value in zip(result.daily, daily, strict=True)
    ]


def _summarized(section: dict[str, Any], result: CostTotals) -> CostTotals:
    """Fill in the summary of the summed series the way the collector computes it.

    A group's median is the median of its summed days, not the sum of its
    accounts' medians, so a team's pane matches the team's row in ``:cost``.
    """
    days = [date.fromisoformat(day) for day in section["days"]]
    window = Window(days, len(section.get("provisional", [])))
    baseline_days = section.get("thresholds", {}).get("baseline_days", 28)
    result.month_to_date = month_to_date(result.daily, window)
    result.projection = projection(result.daily, window)
    result.latest = result.daily[window.evaluated]
    base = baseline(result.daily, window.evaluated, baseline_days)
    result.baseline = base.median if base else ZERO
    return result


def service_totals(
    section: dict[str, Any], accounts: Sequence[Account]
) -> dict[str, CostTotals]:
    """Add up each service's daily spend over ``accounts``, largest month first."""
    found: dict[str, CostTotals] = {}
    spiking = {
        (spike["account_id"], spike["service"])
        for spike in section.get("spikes", [])
        if spike["level"] == "service"
    }
    for account in accounts:
        entry = section.get("accounts", {}).get(account.id)
        if entry is None:
            continue
        for service, summary in entry.get("services", {}).items():
            result = found.setdefault(
                service, CostTotals(daily=[ZERO] * len(section["days"]))
            )
            result.accounts += 1
            _add_daily(result, summary["daily"])
            result.spike = result.spike or (account.id, service) in spiking
    for result in found.values():
        _summarized(section, result)
    return dict(
        sorted(found.items(), key=lambda item: item[1].month_to_date, reverse=True)
    )


def symbol(currency: str) -> str:
    """Return ``$`` for US dollars, else the currency code and a space."""
    return "$" if currency == "USD" else f"{currency} "


def money(amount: Decimal | str | None, currency: str = "USD") -> str:
    """Format an amount with cents and thousands separators: ``$12,345.67``."""
    if amount is None:
        return "-"
    value = Decimal(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol(currency)}{abs(value):,.2f}"


def compact_money(amount: Decimal | str, currency: str = "USD") -> str:
    """Format an amount in at most about six characters: ``$950``, ``$12.3k``."""
    value = Decimal(amount)
    sign = "-" if value < 0 else ""
    size = abs(value)
    for limit, suffix in (
        (Decimal(10) ** 9, "G"),
        (Decimal(10) ** 6, "M"),
        (Decimal(1000), "k"),
    ):
        if size >= limit:
            scaled = size / limit
            digits = 0 if scaled >= 100 else 1
            return f"{sign}{symbol(currency)}{scaled:.{digits}f}{suffix}"
    return f"{sign}{symbol(currency)}{size:.0f}"


def percent(value: float | None) -> str:
    """Format a change in percent with its sign, or ``new`` when nothing came before."""
    if value is None:
        return "new"
    return f"{round(value):+d}%"


def spike_where(spike: dict[str, Any]) -> str:
    """Name what spiked: a team, an account, or an account's service."""
    if spike["level"] == "team":
        return f"team {spike['team']}"
    if spike["level"] == "service":
        return f"{spike['account_name']} · {spike['service']}"
    return spike["account_name"]


def spike_series(section: dict[str, Any], spike: dict[str, Any]) -> list[Decimal]:
    """Return the daily series that spiked: the team's, the account's or a service's."""
    if spike["level"] == "team":
        entry = section.get("teams", {}).get(spike["team"])
    else:
        entry = section.get("accounts", {}).get(spike["account_id"])
        if entry is not None and spike["level"] == "service":
            entry = entry.get("services", {}).get(spike["service"])
    if entry is None:
        return []
    return [Decimal(value) for value in entry["daily"]]


def window_note(section: dict[str, Any]) -> str:
    """Describe the metric, the evaluated and provisional days, and Estimated."""
    parts = [
        section["metric"],
        f"newest complete day {section['evaluated_day']}",
    ]
    provisional = section.get("provisional", [])
    if provisional:
        parts.append(f"{', '.join(provisional)} provisional {PROVISIONAL_MARK}")
    estimated = section.get("estimated", [])
    if estimated:
        parts.append(f"estimated from {estimated[0]}")
    return " · ".join(parts)


def request_note(section: dict[str, Any]) -> str:
    """Describe what reading the section cost: requests and their price."""
    count = section.get("requests", 0)
    price = money(
        section.get("request_cost", "0"), section.get("request_currency", "USD")
    )
    noun = "request" if count == 1 else "requests"
    return f"{count} Cost Explorer {noun} ({price})"
