"""Quota rows: value, usage, utilization, trend and verdict, and their text.

A row is one quota in one account and region (``global`` for quotas that
apply to the whole account), as stored in the snapshot's ``quotas``
section. The TUI and ``orgtop check`` both read rows through the functions
here, so a quota reads the same everywhere.

Flags name the conditions a user must see:

- ``applied-unknown``: ``ListServiceQuotas`` failed, so only the default is
  known; no utilization is computed and no threshold can be crossed.
- ``no-usage-metric``: AWS publishes no usage for the quota; usage is n/a.
- ``no-data``: the usage metric had no datapoint in the horizon.
- ``over-quota``: usage above the value, a data problem (a raised value not
  visible yet, or a metric that counts something else); never an alert.
- ``rate-average``: the usage is a daily average rate, which hides bursts.
- ``count-failed``: the Describe call that counts the resources failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collectors.model import Account
from collectors.quotas.settings import QuotaSettings, Thresholds
from collectors.quotas.usage import Usage, days_to_exhaustion, slope_per_day
from collectors.quotas.values import GLOBAL_REGION

UNIT_SUFFIXES = {"None": "", "Count": "", "Count/Second": "/s", "Count/Minute": "/min"}


def build_rows(
    account_id: str,
    region: str,
    quotas: Iterable[dict[str, Any]],
    applied: dict[str, Any],
    usage: dict[str, Usage],
    counted: dict[str, Any],
    settings: QuotaSettings,
) -> list[dict[str, Any]]:
    """Combine values, usage and counts into one row per quota."""
    rows = []
    for info in quotas:
        row = _value_row(account_id, region, info, applied)
        _add_usage(row, info, usage, counted)
        _add_utilization(row, settings.horizon_days)
        row["severity"] = verdict(row, settings.thresholds_for(row["code"]))
        rows.append(row)
    return rows


def _value_row(
    account_id: str, region: str, info: dict[str, Any], applied: dict[str, Any]
) -> dict[str, Any]:
    record = applied["values"].get(info["code"])
    denied = applied["unreadable"].get(info["service"])
    row = {
        "account_id": account_id,
        "region": GLOBAL_REGION if info["global"] else region,
        "service": info["service"],
        "code": info["code"],
        "name": info["name"],
        "unit": info["unit"],
        "default": info["default"],
        "value": info["default"],
        "source": "default",
        "flags": [],
    }
    if record is not None:
        row["value"], row["source"] = record["value"], "applied"
    elif denied is not None:
        row["value"], row["source"] = None, "unknown"
        row["applied_error"] = denied["code"]
        row["flags"].append("applied-unknown")
    return row


def _add_usage(
    row: dict[str, Any],
    info: dict[str, Any],
    usage: dict[str, Usage],
    counted: dict[str, Any],
) -> None:
    row.update(usage=None, usage_source=None, trend=[], statistic=None)
    if info["code"] in counted["values"]:
        row["usage"] = counted["values"][info["code"]]
        row["usage_source"] = "count"
        if row["usage"] is None:
            row["flags"].append("count-failed")
        return
    if info["metric"] is None:
        row["flags"].append("no-usage-metric")
        return
    found = usage.get(info["code"])
    row["usage_source"] = "metric"
    row["statistic"] = info["metric"]["statistic"]
    if found is None or all(v is None for v in found.daily):
        row["flags"].append("no-data")
        return
    row["usage"] = found.current
    row["trend"] = [None if v is None else round(v, 4) for v in found.daily]
    if found.rate:
        row["flags"].append("rate-average")


def _add_utilization(row: dict[str, Any], horizon_days: int) -> None:
    value, usage = row["value"], row["usage"]
    row["percent"] = None
    if value is not None and usage is not None:
        if value > 0:
            row["percent"] = round(usage / value * 100, 2)
        if usage > value:
            row["flags"].append("over-quota")
    slope = slope_per_day(row["trend"]) if row["trend"] else None
    row["slope_per_day"] = None if slope is None else round(slope, 4)
    days = days_to_exhaustion(usage, value, slope, horizon_days)
    row["days_to_exhaustion"] = None if days is None else round(days, 1)


def verdict(row: dict[str, Any], thresholds: Thresholds) -> str:
    """Return ``critical``, ``warning``, ``ok`` or ``none`` (no utilization known).

    Rows with an unknown applied value or usage above the value are
    ``none``: a default or a data problem must never read as a breach.
    """
    percent = row.get("percent")
    if percent is None or "over-quota" in row["flags"]:
        return "none"
    if percent >= thresholds.critical:
        return "critical"
    if percent >= thresholds.warning:
        return "warning"
    return "ok"


def rank_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key: highest utilization first, rows without one last."""
    percent = row.get("percent")
    return (
        percent is None,
        -(percent or 0.0),
        row["account_id"],
        row["region"],
        row["code"],
    )


def number(value: float) -> str:
    """Format a count or value: whole numbers with separators, else 1 or 2 decimals."""
    if abs(value - round(value)) < 0.05:
        return f"{round(value):,}"
    if abs(value) < 10:
        return f"{value:,.2f}"
    return f"{value:,.1f}"


def unit_suffix(unit: str) -> str:
    """Return the text shown after a value; units ``None`` and ``Count`` show none."""
    suffix = UNIT_SUFFIXES.get(unit)
    return f" {unit}" if suffix is None else suffix


def value_text(row: dict[str, Any]) -> str:
    """Format the quota's value: applied or default, or the default alone."""
    if row["source"] == "unknown":
        default = "unknown" if row["default"] is None else number(row["default"])
        return f"default {default}, applied unknown"
    if row["value"] is None:
        return "unknown"
    return number(row["value"]) + unit_suffix(row["unit"])


def usage_text(row: dict[str, Any]) -> str:
    """Format the usage, or ``n/a`` without a metric and ``no data`` without points.

    A rate quota's usage is a daily average; its ``rate-average`` flag says so.
    """
    if row["usage"] is None:
        return "no data" if "no-data" in row["flags"] else "n/a"
    return number(row["usage"]) + unit_suffix(row["unit"])


def percent_text(row: dict[str, Any]) -> str:
    """Format the utilization, or an empty string when it is not known."""
    return "" if row["percent"] is None else f"{row['percent']:.1f}%"


def exhaustion_text(row: dict[str, Any]) -> str:
    """Format the time to exhaustion, or an empty string when none is forecast."""
    days = row.get("days_to_exhaustion")
    if days is None:
        return ""
    return "today" if days < 1 else f"in ~{days:.0f} d"


def alert_summary(row: dict[str, Any], account: Account | None) -> str:
    """Format one ``orgtop check`` line: account, team, env, region, quota, usage."""
    name = account.name if account else row["account_id"]
    team = account.team if account else "unassigned"
    env = account.env if account else "unassigned"
    value = number(row["value"]) + unit_suffix(row["unit"])
    summary = (
        f"quota {row['name']} ({row['service']} {row['code']}) in {name} "
        f"({row['account_id']}) team {team} env {env} {row['region']}: "
        f"{number(row['usage'])}/{value} = {percent_text(row)}"
    )
    forecast = exhaustion_text(row)
    return f"{summary}, full {forecast}" if forecast else summary
