"""Quota usage and its trend from CloudWatch, in one ``GetMetricData`` call.

Each quota with a usage metric gets one query: its metric with the
statistic the quota recommends, in periods of one day over the horizon
(default 14 days). The window ends at the current minute, so the newest
period is the last 24 hours and every period is a whole day. That one series
gives the current usage, which is the newest period (for ``Maximum``, the
peak of the last 24 hours). It also gives the daily maxima that the time to
exhaustion is fitted on. So a steady refresh costs one call per account and
region for up to 500 quotas, the ``GetMetricData`` limit per request.

Rate quotas (usage metrics with the ``Sum`` statistic, such as
``CallCount``) are compared as the average rate over each day, which hides
bursts; their rows carry the ``rate-average`` flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collectors.registry import TaskContext

MAX_QUERIES = 500
"""Most queries ``GetMetricData`` takes in one request."""
DAY = 86400


@dataclass(frozen=True, slots=True)
class Usage:
    """A quota's usage: the newest daily value and the daily history."""

    current: float | None
    daily: list[float | None]
    """One value per day of the horizon, oldest first; None where no datapoint."""
    rate: bool = False


def window(now: datetime, horizon_days: int) -> tuple[datetime, datetime]:
    """Return the request window: whole days ending at the current minute."""
    end = now.replace(second=0, microsecond=0)
    return end - timedelta(days=horizon_days), end


async def read_usage(
    context: TaskContext, quotas: Sequence[dict[str, Any]], horizon_days: int
) -> dict[str, Usage]:
    """Read the usage of every quota that has a usage metric, by quota code."""
    if not quotas:
        return {}
    start, end = window(context.now, horizon_days)
    cloudwatch = await context.client("cloudwatch")
    series: dict[str, list[tuple[datetime, float]]] = {q["code"]: [] for q in quotas}
    for first in range(0, len(quotas), MAX_QUERIES):
        batch = list(quotas[first : first + MAX_QUERIES])
        codes = {f"q{first + i}": quota["code"] for i, quota in enumerate(batch)}
        pairs = zip(codes, batch, strict=True)
        queries = [_query(query_id, quota) for query_id, quota in pairs]
        async for result in _results(context, cloudwatch, queries, start, end):
            points = zip(result["Timestamps"], result["Values"], strict=True)
            series[codes[result["Id"]]].extend(points)
    return {
        quota["code"]: summarize(series[quota["code"]], quota, start, horizon_days)
        for quota in quotas
    }


def _query(query_id: str, quota: dict[str, Any]) -> dict[str, Any]:
    # ReturnData defaults to true. Every field costs client CPU twice, because
    # botocore url-encodes a query-protocol body once to sign it and once to
    # send it.
    metric = quota["metric"]
    dimensions = [
        {"Name": k, "Value": v} for k, v in sorted(metric["dimensions"].items())
    ]
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": metric["namespace"],
                "MetricName": metric["name"],
                "Dimensions": dimensions,
            },
            "Period": DAY,
            "Stat": metric["statistic"],
        },
    }


async def _results(
    context: TaskContext,
    cloudwatch: Any,
    queries: list[dict[str, Any]],
    start: datetime,
    end: datetime,
) -> Any:
    """Yield every ``MetricDataResults`` item, following ``NextToken``."""
    token = None
    while True:
        arguments: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        if token:
            arguments["NextToken"] = token
        answer = await context.call(cloudwatch, "get_metric_data", **arguments)
        for result in answer.get("MetricDataResults", []):
            yield result
        token = answer.get("NextToken")
        if not token:
            return


def summarize(
    points: list[tuple[datetime, float]],
    quota: dict[str, Any],
    start: datetime,
    horizon_days: int,
) -> Usage:
    """Place datapoints on the day grid and convert rate sums to the quota's unit."""
    rate = quota["metric"]["statistic"] == "Sum"
    scale = 1.0
    if rate:
        scale = 60.0 / DAY if "Minute" in quota["unit"] else 1.0 / DAY
    daily: list[float | None] = [None] * horizon_days
    for moment, value in points:
        index = round((moment - start).total_seconds() / DAY)
        if 0 <= index < horizon_days:
            known = daily[index]
            daily[index] = value * scale if known is None else max(known, value * scale)
    return Usage(daily[-1], daily, rate)


def slope_per_day(daily: Sequence[float | None]) -> float | None:
    """Fit a least-squares line through the daily values; None under 3 points."""
    points = [(float(i), v) for i, v in enumerate(daily) if v is not None]
    if len(points) < 3:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def days_to_exhaustion(
    current: float | None, value: float | None, slope: float | None, horizon_days: int
) -> float | None:
    """Return days until the usage trend reaches the value, if within the horizon."""
    if current is None or value is None or slope is None or slope <= 0:
        return None
    if current >= value:
        return None
    days = (value - current) / slope
    return days if days <= horizon_days else None
