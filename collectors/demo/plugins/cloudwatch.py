"""CloudWatch ``GetMetricData`` served from the scenario's quota usage.

moto can answer ``GetMetricData`` only from datapoints put into it first, and
it scans every stored datapoint for every query and period. Measured on
moto 5.2.5 with 30 daily series of 15 points in one account and region:
seeding took 16 ms and 0.34 MB, one 30-query call 53 ms of server CPU; for
1,000 accounts in 3 regions that is about 50 s and 1 GB of seeding and
160 s of server time per refresh. moto also ignores ``MaxDatapoints`` and
``NextToken``. So this handler computes each period's statistic from the
usage model instead, with the real response shape and paging.

Supported: ``MetricStat`` queries (any namespace; usage metrics of catalog
quotas have data, others come back empty), the statistics ``Maximum``,
``Minimum``, ``Average``, ``Sum`` and ``SampleCount``, ``ScanBy`` and
``MaxDatapoints`` with ``NextToken`` paging. Metric math is rejected.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from collectors.demo.plugins import Response, ValidationError, expect, handler
from collectors.demo.plugins.quotausage import UsageSpec, usage_spec
from collectors.demo.plugins.servicequotas import catalog

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800
STATISTICS = ("Maximum", "Minimum", "Average", "Sum", "SampleCount")
XMLNS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
_MEMBER = re.compile(r"^MetricDataQueries\.member\.(\d+)\.(.+)$")
_DIMENSION = re.compile(
    r"^MetricStat\.Metric\.Dimensions\.member\.(\d+)\.(Name|Value)$"
)


@dataclass
class Query:
    """One ``MetricDataQuery`` of a request."""

    id: str
    namespace: str = ""
    metric: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)
    period: int = 0
    stat: str = ""
    label: str = ""
    return_data: bool = True
    expression: str = ""


@cache
def metric_index() -> dict[tuple[str, str, frozenset[tuple[str, str]]], str]:
    """Map (namespace, metric name, dimensions) of usage metrics to quota codes."""
    index = {}
    for entry in catalog():
        metric = entry.get("usage_metric")
        if metric:
            dimensions = frozenset(metric["dimensions"].items())
            index[(metric["namespace"], metric["metric_name"], dimensions)] = entry[
                "quota_code"
            ]
    return index


@handler("cloudwatch", "GetMetricData")
def get_metric_data(world: DemoWorld, request: WireRequest) -> Response:
    """Return each query's datapoints, paged by ``MaxDatapoints``."""
    form = request.form()
    queries = parse_queries(form)
    start, end = _time(form, "StartTime"), _time(form, "EndTime")
    expect(start < end, "The parameter EndTime must be greater than StartTime.")
    expect(
        0 < len(queries) <= MAX_QUERIES,
        f"MetricDataQueries takes 1 to {MAX_QUERIES} queries",
    )
    limit = int(form.get("MaxDatapoints") or MAX_DATAPOINTS)
    expect(1 <= limit <= MAX_DATAPOINTS, "MaxDatapoints must be between 1 and 100800")
    descending = form.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    series = []
    for query in queries:
        expect(not query.expression, "metric math is not supported by the demo server")
        _check(query)
        points = _datapoints(world, request, query, start, end)
        if descending:
            points.reverse()
        series.append((query, points))
    offset = int(form["NextToken"]) if form.get("NextToken", "").isdigit() else 0
    return _page(series, offset, limit)


def parse_queries(form: dict[str, str]) -> list[Query]:
    """Rebuild the ``MetricDataQueries`` list from query-protocol form fields."""
    fields: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _MEMBER.match(key)
        if match:
            fields.setdefault(int(match.group(1)), {})[match.group(2)] = value
    queries = []
    for number in sorted(fields):
        item = fields[number]
        query = Query(
            id=item.get("Id", ""),
            namespace=item.get("MetricStat.Metric.Namespace", ""),
            metric=item.get("MetricStat.Metric.MetricName", ""),
            period=int(item.get("MetricStat.Period") or item.get("Period") or 0),
            stat=item.get("MetricStat.Stat", ""),
            label=item.get("Label", ""),
            return_data=item.get("ReturnData", "true") != "false",
            expression=item.get("Expression", ""),
        )
        names: dict[int, dict[str, str]] = {}
        for key, value in item.items():
            dimension = _DIMENSION.match(key)
            if dimension:
                names.setdefault(int(dimension.group(1)), {})[dimension.group(2)] = (
                    value
                )
        query.dimensions = {d["Name"]: d["Value"] for d in names.values()}
        queries.append(query)
    return queries


def _check(query: Query) -> None:
    expect(
        bool(re.fullmatch(r"[a-z][a-zA-Z0-9_]*", query.id)),
        f"invalid query Id {query.id!r}",
    )
    expect(query.stat in STATISTICS, f"unsupported statistic {query.stat!r}")
    expect(
        query.period >= 60 and query.period % 60 == 0,
        "The parameter MetricStat.Period must be a multiple of 60.",
    )


def _time(form: dict[str, str], key: str) -> datetime:
    text = form.get(key, "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"The parameter {key} is required and must be ISO 8601."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # CloudWatch rounds times within the last 15 days down to the minute.
    return moment.replace(second=0, microsecond=0)


def _datapoints(
    world: DemoWorld, request: WireRequest, query: Query, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    key = (query.namespace, query.metric, frozenset(query.dimensions.items()))
    code = metric_index().get(key)
    if code is None:
        return []
    spec = usage_spec(world.scenario, request.account, request.region, code)
    if spec is None:
        return []
    salt = f"{world.scenario.seed}:{request.account}:{request.region}:{code}"
    points = []
    step = timedelta(seconds=query.period)
    bucket = start
    while bucket < end:
        closes = min(bucket + step, end)
        value = _statistic(spec, query.stat, bucket, closes, end, salt)
        points.append((bucket, value))
        bucket += step
    return points


def _statistic(
    spec: UsageSpec,
    stat: str,
    opens: datetime,
    closes: datetime,
    end: datetime,
    salt: str,
) -> float:
    """Compute one period's statistic of a usage that changes linearly with time.

    The usage model's newest moment is the request's ``EndTime``, so the
    newest period of every request ends at the scenario's level.
    """
    seconds = (closes - opens).total_seconds()
    day = int((end - closes).total_seconds() // 86400)
    first = spec.at((end - opens).total_seconds() / 86400, day, salt)
    last = spec.at((end - closes).total_seconds() / 86400, day, salt)
    if stat == "Maximum":
        return max(first, last)
    if stat == "Minimum":
        return min(first, last)
    if stat == "Average":
        return (first + last) / 2
    if stat == "Sum":
        return (first + last) / 2 * seconds
    return seconds // 60


def _page(
    series: list[tuple[Query, list[tuple[datetime, float]]]], offset: int, limit: int
) -> Response:
    """Render the datapoints from ``offset`` on, at most ``limit`` of them.

    Datapoints are counted across queries in request order; a query cut by
    the page boundary is ``PartialData`` and continues on the next page.
    """
    returned = [(query, points) for query, points in series if query.return_data]
    total = sum(len(points) for _, points in returned)
    members = []
    position = 0
    for query, points in returned:
        first, last = position, position + len(points)
        position = last
        begin, end = max(first, offset), min(last, offset + limit)
        if begin < end or (not points and offset == 0):
            partial = end < last
            page_points = points[begin - first : end - first] if points else []
            members.append(
                _member(query, page_points, "PartialData" if partial else "Complete")
            )
    token = f"<NextToken>{offset + limit}</NextToken>" if offset + limit < total else ""
    body = (
        f'<GetMetricDataResponse xmlns="{XMLNS}"><GetMetricDataResult>'
        f"<MetricDataResults>{''.join(members)}</MetricDataResults>{token}"
        "<Messages/></GetMetricDataResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</GetMetricDataResponse>"
    )
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": str(uuid.uuid4())}
    return 200, headers, body.encode()


def _member(query: Query, points: list[tuple[datetime, float]], status: str) -> str:
    stamps = "".join(
        f"<member>{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}</member>"
        for moment, _ in points
    )
    values = "".join(f"<member>{value!r}</member>" for _, value in points)
    label = _xml(query.label or query.metric)
    return (
        f"<member><Id>{query.id}</Id><Label>{label}</Label>"
        f"<Timestamps>{stamps}</Timestamps><Values>{values}</Values>"
        f"<StatusCode>{status}</StatusCode></member>"
    )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
