"""Turn Datadog responses into per-account series and monitor counts.

A metric query grouped by the account tag returns one series per tag value,
or several when the query groups by more tags; the series of one account are
combined with the query's space aggregator. Series are thinned to at most
``max_points`` points with the same aggregator, so a long window cannot
bloat the stored snapshot.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

ALERTING = ("Alert", "Warn")
"""Monitor states counted as alerting, worst first."""


def tag_value(tags: Iterable[str], key: str) -> str | None:
    """Return the value of the first ``key:value`` tag, or None."""
    prefix = f"{key}:"
    for tag in tags:
        tag = tag.strip()
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return None


def aggregate(values: Sequence[float | None], aggregator: str) -> float | None:
    """Combine values with ``avg``, ``sum``, ``min`` or ``max``, skipping gaps."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    if aggregator == "sum":
        return sum(present)
    if aggregator == "min":
        return min(present)
    if aggregator == "max":
        return max(present)
    return sum(present) / len(present)


def series_by_tag(
    response: dict[str, Any], tag: str, aggregator: str, max_points: int
) -> dict[str, Any]:
    """Return ``times`` (epoch seconds), ``by_tag`` values aligned to them and ``unit``.

    ``response`` is a ``GET /api/v1/query`` response as a dict. Series without
    the tag (the query was not grouped by it) are counted in ``untagged``.
    """
    points: dict[str, dict[int, list[float | None]]] = defaultdict(
        lambda: defaultdict(list)
    )
    untagged = 0
    unit = ""
    for series in response.get("series") or []:
        tags = series.get("tag_set") or str(series.get("scope") or "").split(",")
        value = tag_value(tags, tag)
        if value is None or value == "N/A":
            untagged += 1
            continue
        unit = unit or unit_name(series.get("unit"))
        for point in series.get("pointlist") or []:
            if len(point) < 2 or point[0] is None:
                continue
            points[value][int(point[0] // 1000)].append(_number(point[1]))
    times = sorted({moment for by_time in points.values() for moment in by_time})
    by_tag = {
        value: [aggregate(by_time.get(moment, []), aggregator) for moment in times]
        for value, by_time in points.items()
    }
    times, by_tag = thin(times, by_tag, aggregator, max_points)
    return {
        "times": times,
        "by_tag": {
            value: [_round(v) for v in values] for value, values in by_tag.items()
        },
        "unit": unit,
        "untagged": untagged,
    }


def thin(
    times: list[int],
    by_tag: dict[str, list[float | None]],
    aggregator: str,
    max_points: int,
) -> tuple[list[int], dict[str, list[float | None]]]:
    """Merge runs of consecutive points so that at most ``max_points`` remain."""
    if len(times) <= max_points:
        return times, by_tag
    size = math.ceil(len(times) / max_points)
    starts = range(0, len(times), size)
    thinned = {
        value: [aggregate(values[i : i + size], aggregator) for i in starts]
        for value, values in by_tag.items()
    }
    return [times[i] for i in starts], thinned


def unit_name(unit: Any) -> str:
    """Return a short unit from Datadog's ``[unit, per_unit]``, like ``errors/s``."""
    if not isinstance(unit, list) or not unit or not isinstance(unit[0], dict):
        return ""
    name = _short(unit[0])
    if len(unit) > 1 and isinstance(unit[1], dict):
        name = f"{name}/{_short(unit[1])}"
    return name


def _short(unit: dict[str, Any]) -> str:
    return str(unit.get("short_name") or unit.get("plural") or unit.get("name") or "")


def latest(values: Sequence[float | None]) -> float | None:
    """Return the newest value that is not a gap."""
    for value in reversed(values):
        if value is not None:
            return value
    return None


def count_monitors(monitors: Iterable[dict[str, Any]], tag: str) -> dict[str, Any]:
    """Count alerting monitors per account tag value.

    A multi-alert monitor grouped by the account tag counts once for every
    account whose group alerts. A simple monitor counts for the account in
    its own tags; one without such a tag is listed as ``unattributed``.
    """
    by_tag: dict[str, dict[str, Any]] = {}
    unattributed: list[dict[str, Any]] = []
    listed = 0
    for monitor in monitors:
        listed += 1
        hits = _alerting_groups(monitor, tag)
        overall = str(monitor.get("overall_state") or "")
        if not hits and overall in ALERTING:
            account = tag_value(monitor.get("tags") or [], tag)
            if account is None:
                unattributed.append(_summary(monitor, overall, tag, ""))
                continue
            hits = {account: overall}
        for account, status in hits.items():
            entry = by_tag.setdefault(account, {"alert": 0, "warn": 0, "names": []})
            entry[status.lower()] += 1
            entry["names"].append(_summary(monitor, status, tag, account))
    for entry in by_tag.values():
        entry["names"].sort(
            key=lambda item: (ALERTING.index(item["status"]), item["name"])
        )
    return {"by_tag": by_tag, "unattributed": unattributed, "listed": listed}


def _alerting_groups(monitor: dict[str, Any], tag: str) -> dict[str, str]:
    groups = (monitor.get("state") or {}).get("groups") or {}
    hits: dict[str, str] = {}
    for name, group in groups.items():
        status = str((group or {}).get("status") or "")
        if status not in ALERTING:
            continue
        account = tag_value(str((group or {}).get("name") or name).split(","), tag)
        if account is None:
            continue
        if hits.get(account) != "Alert":
            hits[account] = status
    return hits


def _summary(
    monitor: dict[str, Any], status: str, tag: str, account: str
) -> dict[str, Any]:
    name = str(monitor.get("name") or "")
    if account:
        # Datadog renders {{tag.name}} in a multi-alert monitor's name as the
        # group's tag value; the API returns the template.
        name = name.replace(f"{{{{{tag}.name}}}}", account)
    return {"id": monitor.get("id"), "name": name, "status": status}


def _number(value: Any) -> float | None:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return float(value)
    return None


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")
