"""Spike detection: one day against a robust baseline of the days before it.

The baseline is the median of the previous days and the spread is their
median absolute deviation scaled by 1.4826, which estimates the standard
deviation of normal data but ignores a few outliers such as a one-off fee.
A day is a spike only when its increase over the median passes all three
thresholds: a percentage of the median, an absolute amount in the currency
(so a 500 % jump on USD 0.02 is not an alert) and a multiple of the spread
(so a noisy series needs a larger jump).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from collectors.cost.settings import CostSettings

MAD_TO_SIGMA = Decimal("1.4826")
"""Scales a median absolute deviation to a standard deviation for normal data."""
MIN_BASELINE_DAYS = 5


@dataclass(frozen=True)
class Baseline:
    """The typical daily amount before a day and how much it varies."""

    median: Decimal
    spread: Decimal
    days: int


def baseline(series: Sequence[Decimal], index: int, days: int) -> Baseline | None:
    """Return the baseline of the ``days`` values before ``index``, if enough exist."""
    window = list(series[max(0, index - days) : index])
    if len(window) < MIN_BASELINE_DAYS:
        return None
    middle = Decimal(median(window))
    deviation = Decimal(median(abs(value - middle) for value in window))
    return Baseline(middle, deviation * MAD_TO_SIGMA, len(window))


def increase_percent(value: Decimal, base: Baseline) -> float | None:
    """Return the change over the median in percent; None when the median is zero."""
    if not base.median:
        return None
    return float((value - base.median) / base.median * 100)


def is_spike(value: Decimal, base: Baseline | None, settings: CostSettings) -> bool:
    """Return whether a day's amount passes every spike threshold over its baseline."""
    if base is None:
        return False
    increase = value - base.median
    if increase <= 0 or increase < settings.spike_min_increase:
        return False
    percent = increase_percent(value, base)
    if percent is not None and percent < settings.spike_percent:
        return False
    return increase >= base.spread * Decimal(str(settings.spike_spread_factor))


@dataclass(frozen=True)
class Contribution:
    """How much one account and service added to a change."""

    account_id: str
    service: str
    increase: Decimal


def drivers(
    contributions: Sequence[Contribution], total_increase: Decimal, limit: int = 3
) -> list[Contribution]:
    """Return the largest positive contributions that explain 80 % of an increase."""
    ranked = sorted(
        (c for c in contributions if c.increase > 0),
        key=lambda c: c.increase,
        reverse=True,
    )
    chosen: list[Contribution] = []
    covered = Decimal(0)
    for contribution in ranked[:limit]:
        chosen.append(contribution)
        covered += contribution.increase
        if covered >= total_increase * Decimal("0.8"):
            break
    return chosen
