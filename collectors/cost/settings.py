"""The ``[cost]`` section of orgtop's config file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from collectors.tomlcheck import Table

METRICS = (
    "UnblendedCost",
    "AmortizedCost",
    "NetUnblendedCost",
    "NetAmortizedCost",
    "BlendedCost",
)
"""Cost metrics of ``GetCostAndUsage``; usage quantities are not money."""
MAX_DAYS = 425
"""Cost Explorer keeps about 14 months of daily data."""
MONTH_DAYS = 31
"""Minimum days that always reach back to the first day of the newest month."""


@dataclass(frozen=True)
class CostSettings:
    """Cost collector settings: the request, the cache age and the spike thresholds."""

    enabled: bool = True
    metric: str = "UnblendedCost"
    days: int = 35
    ttl_hours: float = 6.0
    provisional_days: int = 1
    baseline_days: int = 28
    spike_percent: float = 40.0
    spike_min_increase: Decimal = Decimal(50)
    spike_spread_factor: float = 4.0
    today: date | None = None
    """The UTC date to count days back from; None means the current date.

    Only the demo world sets it, to the scenario's date; the config file cannot.
    """

    @property
    def ttl_seconds(self) -> float:
        """Return the age under which stored cost data is reused without a request."""
        return self.ttl_hours * 3600


def parse_settings(table: Table) -> CostSettings:
    """Read ``[cost]``; every key is optional and unknown keys are rejected."""
    defaults = CostSettings()
    metric = table.get("metric", str, defaults.metric)
    if metric not in METRICS:
        raise table.error(
            "metric",
            f"{metric!r} is not a cost metric; use one of {', '.join(METRICS)}",
        )
    settings = CostSettings(
        enabled=table.get("enabled", bool, True),
        metric=metric,
        days=_bounded(table, "days", defaults.days, MONTH_DAYS, MAX_DAYS),
        ttl_hours=table.get("ttl_hours", float, defaults.ttl_hours),
        provisional_days=_bounded(
            table, "provisional_days", defaults.provisional_days, 0, 3
        ),
        baseline_days=_bounded(
            table, "baseline_days", defaults.baseline_days, 5, MAX_DAYS
        ),
        spike_percent=table.get("spike_percent", float, defaults.spike_percent),
        spike_min_increase=_money(
            table, "spike_min_increase", defaults.spike_min_increase
        ),
        spike_spread_factor=table.get(
            "spike_spread_factor", float, defaults.spike_spread_factor
        ),
    )
    if settings.ttl_hours < 0:
        raise table.error("ttl_hours", "must be zero or more hours")
    if settings.spike_percent < 0 or settings.spike_spread_factor < 0:
        key = "spike_percent" if settings.spike_percent < 0 else "spike_spread_factor"
        raise table.error(key, "must be zero or more")
    needed = max(MONTH_DAYS, settings.baseline_days + settings.provisional_days + 1)
    if settings.days < needed:
        key = "days" if table.has("days") else "baseline_days"
        raise table.error(
            key,
            f"days = {settings.days} must cover a whole month, the baseline, the "
            f"evaluated day and the provisional days: raise days to at least {needed} "
            f"or lower baseline_days",
        )
    table.done()
    return settings


def _bounded(table: Table, key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, int, default)
    if not low <= value <= high:
        raise table.error(key, f"must be between {low} and {high}")
    return value


def _money(table: Table, key: str, default: Decimal) -> Decimal:
    value = table.get(key, float, float(default))
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise table.error(key, f"{value!r} is not an amount") from None
    if amount < 0:
        raise table.error(key, "must be zero or more")
    return amount
