"""Turn Cost Explorer's raw amounts into the ``cost`` section of a snapshot.

Amounts are :class:`~decimal.Decimal` throughout and written as decimal
strings, with the currency named once in the section. Daily series are
aligned to the section's ``days``. The organization total reconciles
exactly: ``org`` equals the sum of every account plus ``unallocated``, day by
day, because ``unallocated`` is computed as that difference. Per-service
amounts are rounded to cents, so an account's services can differ from its
exact total by a few cents.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from collectors.cost import spikes
from collectors.cost.fetch import REQUEST_PRICE, RawCosts
from collectors.cost.settings import CostSettings
from collectors.model import Account

Series = list[Decimal]
CENT = Decimal("0.01")
RUN_RATE_DAYS = 7
"""Complete days averaged for the month-end projection: one of each weekday."""
UNASSIGNED = "unassigned"


@dataclass
class Window:
    """The days of a window and where the evaluated day and the month sit in it."""

    days: list[date]
    provisional_days: int

    @property
    def evaluated(self) -> int:
        """Return the index of the newest complete day."""
        return len(self.days) - self.provisional_days - 1

    @property
    def month(self) -> tuple[int, int]:
        """Return the (year, month) of the newest day: the month being projected."""
        newest = self.days[-1]
        return newest.year, newest.month

    def in_month(self, index: int) -> bool:
        """Return whether the day at ``index`` lies in the projected month."""
        day = self.days[index]
        return (day.year, day.month) == self.month


@dataclass
class AccountCosts:
    """One account's daily series, in total and per service."""

    account: Account
    services: dict[str, Series] = field(default_factory=dict)
    total: Series = field(default_factory=list)


def build_section(
    raw: RawCosts, accounts: Sequence[Account], settings: CostSettings
) -> dict[str, Any]:
    """Build the ``cost`` section: series, summaries, reconciliation and spikes."""
    window = Window(raw.days, settings.provisional_days)
    by_account = _account_costs(raw, accounts, window)

    org = [raw.totals.get(day, Decimal(0)) for day in window.days]
    allocated = _sum_series(
        [costs.total for costs in by_account.values()], len(window.days)
    )
    unallocated = [total - part for total, part in zip(org, allocated, strict=True)]
    teams = _grouped(by_account.values(), lambda a: a.team, window)
    cells = _grouped(by_account.values(), lambda a: (a.team, a.env), window)

    found = _find_spikes(by_account, teams, window, settings)
    flagged = {spike["account_id"] for spike in found if spike["account_id"]}
    return {
        **_header(raw, window, settings),
        "org": summarize(org, window, settings),
        "unallocated": summarize(unallocated, window, settings),
        "accounts": {
            account_id: _account_entry(costs, window, settings, account_id in flagged)
            for account_id, costs in sorted(by_account.items())
        },
        "teams": {
            team: summarize(series, window, settings)
            for team, series in sorted(teams.items())
        },
        "cells": _cells(cells, by_account.values(), flagged, window, settings),
        "spikes": found,
    }


def _header(raw: RawCosts, window: Window, settings: CostSettings) -> dict[str, Any]:
    """Describe the window, the requests it took and the spike thresholds."""
    year, month = window.month
    return {
        "metric": raw.metric,
        "currency": raw.currency,
        "granularity": "DAILY",
        "start": raw.start.isoformat(),
        "end": raw.end.isoformat(),
        "days": [day.isoformat() for day in window.days],
        "provisional": [day.isoformat() for day in window.days[window.evaluated + 1 :]],
        "evaluated_day": window.days[window.evaluated].isoformat(),
        "estimated": sorted(day.isoformat() for day in raw.estimated),
        "month": f"{year:04d}-{month:02d}",
        "month_days": calendar.monthrange(year, month)[1],
        "requests": raw.requests,
        "request_cost": money(REQUEST_PRICE * raw.requests),
        "request_currency": "USD",
        "thresholds": thresholds(settings),
    }


def thresholds(settings: CostSettings) -> dict[str, Any]:
    """Describe the spike thresholds as the section stores them."""
    return {
        "percent": settings.spike_percent,
        "min_increase": money(settings.spike_min_increase),
        "spread_factor": settings.spike_spread_factor,
        "baseline_days": settings.baseline_days,
    }


def _account_costs(
    raw: RawCosts, accounts: Sequence[Account], window: Window
) -> dict[str, AccountCosts]:
    """Align every account's amounts to the window; inventory accounts come first."""
    known = {account.id: account for account in accounts}
    result: dict[str, AccountCosts] = {}
    for account_id in [*known, *(a for a in raw.groups if a not in known)]:
        account = known.get(account_id) or Account(
            account_id,
            raw.names.get(account_id, account_id),
            team=UNASSIGNED,
            env=UNASSIGNED,
        )
        costs = AccountCosts(account)
        for service, amounts in sorted(raw.groups.get(account_id, {}).items()):
            costs.services[service] = [
                amounts.get(day, Decimal(0)) for day in window.days
            ]
        costs.total = _sum_series(list(costs.services.values()), len(window.days))
        result[account_id] = costs
    return result


def _sum_series(series: Sequence[Series], length: int) -> Series:
    total = [Decimal(0)] * length
    for values in series:
        total = [a + b for a, b in zip(total, values, strict=True)]
    return total


def _grouped(accounts: Any, key: Any, window: Window) -> dict[Any, Series]:
    groups: dict[Any, list[Series]] = defaultdict(list)
    for costs in accounts:
        groups[key(costs.account)].append(costs.total)
    return {
        name: _sum_series(series, len(window.days)) for name, series in groups.items()
    }


def summarize(
    series: Series, window: Window, settings: CostSettings, *, exact: bool = True
) -> dict[str, Any]:
    """Summarize a daily series: month to date, projection and the evaluated day.

    With ``exact`` False every amount is rounded to cents, which keeps the
    per-service series of a large organization small in the store. Spikes
    are found on the exact amounts either way.
    """
    index = window.evaluated
    base = spikes.baseline(series, index, settings.baseline_days)
    latest = series[index]
    text = money if exact else cents
    return {
        "daily": [text(value) for value in series],
        "window_total": text(sum(series, Decimal(0))),
        "month_to_date": text(month_to_date(series, window)),
        "projection": text(projection(series, window)),
        "latest": text(latest),
        "baseline": text(base.median) if base else None,
        "change": text(latest - base.median) if base else None,
        "change_percent": _rounded(spikes.increase_percent(latest, base))
        if base
        else None,
    }


def month_to_date(series: Series, window: Window) -> Decimal:
    """Return the spend of the projected month so far, provisional days included."""
    return sum(
        (value for i, value in enumerate(series) if window.in_month(i)), Decimal(0)
    )


def projection(series: Series, window: Window) -> Decimal:
    """Project the month's spend: complete days plus the recent daily mean for the rest.

    The rest are the provisional days, today and the days still to come. The
    mean is over the newest ``RUN_RATE_DAYS`` complete days, which contain one
    of each weekday, so a weekly rhythm does not bias it.
    """
    index = window.evaluated
    complete = [i for i in range(index + 1) if window.in_month(i)]
    spent = sum((series[i] for i in complete), Decimal(0))
    recent = series[max(0, index - RUN_RATE_DAYS + 1) : index + 1]
    rate = sum(recent, Decimal(0)) / len(recent)
    year, month = window.month
    remaining = calendar.monthrange(year, month)[1] - len(complete)
    return (spent + rate * remaining).quantize(CENT)


def _account_entry(
    costs: AccountCosts, window: Window, settings: CostSettings, spike: bool
) -> dict[str, Any]:
    account = costs.account
    entry = {
        "name": account.name,
        "team": account.team,
        "env": account.env,
        "spike": spike,
        **summarize(costs.total, window, settings),
    }
    entry["services"] = {
        service: summarize(series, window, settings, exact=False)
        for service, series in costs.services.items()
    }
    return entry


def _cells(
    cells: dict[tuple[str, str], Series],
    accounts: Any,
    flagged: set[str],
    window: Window,
    settings: CostSettings,
) -> dict[str, dict[str, Any]]:
    """Summaries per team and environment, for the overview matrix."""
    spiking = {
        (c.account.team, c.account.env) for c in accounts if c.account.id in flagged
    }
    result: dict[str, dict[str, Any]] = defaultdict(dict)
    for (team, env), series in sorted(cells.items()):
        summary = summarize(series, window, settings)
        del summary["daily"]
        summary["spike"] = (team, env) in spiking
        result[team][env] = summary
    return dict(result)


def _find_spikes(
    by_account: dict[str, AccountCosts],
    teams: dict[str, Series],
    window: Window,
    settings: CostSettings,
) -> list[dict[str, Any]]:
    """Find spikes per account, per account and service, and per team."""
    index = window.evaluated
    found = []
    for costs in by_account.values():
        contributions = _contributions(costs, index, settings)
        total = _detect(costs.total, index, settings)
        if total:
            found.append(
                _spike_record(
                    "account", costs.account, "", window, total, contributions
                )
            )
        for service, series in costs.services.items():
            detected = _detect(series, index, settings)
            if detected:
                own = [c for c in contributions if c.service == service]
                found.append(
                    _spike_record(
                        "service", costs.account, service, window, detected, own
                    )
                )
    for team, series in teams.items():
        detected = _detect(series, index, settings)
        if detected:
            members = [c for c in by_account.values() if c.account.team == team]
            contributions = [
                x for c in members for x in _contributions(c, index, settings)
            ]
            record = _spike_record(
                "team", None, "", window, detected, contributions, by_account
            )
            record["team"] = team
            found.append(record)
    found.sort(key=lambda spike: Decimal(spike["increase"]), reverse=True)
    return found


def _detect(
    series: Series, index: int, settings: CostSettings
) -> tuple[Decimal, spikes.Baseline] | None:
    base = spikes.baseline(series, index, settings.baseline_days)
    if not spikes.is_spike(series[index], base, settings):
        return None
    assert base is not None
    return series[index], base


def _contributions(
    costs: AccountCosts, index: int, settings: CostSettings
) -> list[spikes.Contribution]:
    found = []
    for service, series in costs.services.items():
        base = spikes.baseline(series, index, settings.baseline_days)
        median = base.median if base else Decimal(0)
        found.append(
            spikes.Contribution(costs.account.id, service, series[index] - median)
        )
    return found


def _spike_record(
    level: str,
    account: Account | None,
    service: str,
    window: Window,
    detected: tuple[Decimal, spikes.Baseline],
    contributions: list[spikes.Contribution],
    by_account: dict[str, AccountCosts] | None = None,
) -> dict[str, Any]:
    value, base = detected
    increase = value - base.median
    names = {a: c.account.name for a, c in (by_account or {}).items()}
    if account is not None:
        names[account.id] = account.name
    return {
        "level": level,
        "account_id": account.id if account else "",
        "account_name": account.name if account else "",
        "team": account.team if account else "",
        "env": account.env if account else "",
        "service": service,
        "day": window.days[window.evaluated].isoformat(),
        "amount": money(value),
        "baseline": money(base.median),
        "spread": money(base.spread.quantize(CENT)),
        "increase": money(increase),
        "increase_percent": _rounded(spikes.increase_percent(value, base)),
        "drivers": [
            {
                "account_id": driver.account_id,
                "account_name": names.get(driver.account_id, driver.account_id),
                "service": driver.service,
                "increase": money(driver.increase),
            }
            for driver in spikes.drivers(contributions, increase)
        ],
    }


def _rounded(percent: float | None) -> float | None:
    return None if percent is None else round(percent, 1)


def money(value: Decimal) -> str:
    """Format an amount as a plain decimal string (no exponent)."""
    if not value:
        return "0"
    return format(value.normalize(), "f")


def cents(value: Decimal) -> str:
    """Format an amount rounded to cents, half to even."""
    return money(value.quantize(CENT))
