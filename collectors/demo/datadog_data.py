"""The demo's Datadog organization: metric series, monitors and API responses.

Every active workload account reports the AWS-integration metrics of
:data:`CATALOG`, tagged ``aws_account:<id>``, unless a stable draw leaves a
metric out for it (not every account runs RDS). Each (account, metric) pair
has a level and the series swings around it over the day. A share of pairs
(``hot_rate``) runs above the warning threshold, so the org-wide monitors,
one multi-alert monitor per metric grouped by ``aws_account``, have alerting
groups. The monitors evaluate the level, so they agree with the series.

NOTE: the query parser covers one metric with a space aggregator, a scope,
``by {...}`` and the functions ``as_count``, ``as_rate``, ``rollup`` and
``fill``. Datadog accepts much more (arithmetic, ``top()``...), which the
demo rejects as unparseable. Scope filters other than ``aws_account`` match
every series, because the demo's series carry no other tags.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collectors.demo.plugins.datadog import DatadogScenario
    from collectors.demo.scenario import Scenario

ACCOUNT_TAG = "aws_account"
AGGREGATORS = ("avg", "sum", "min", "max")
FUNCTIONS = ("as_count", "as_rate", "rollup", "fill")
ALERTING = ("Alert", "Warn")

_QUERY = re.compile(
    r"^\s*(?:(?P<aggregator>[a-z]+):)?(?P<metric>[A-Za-z][A-Za-z0-9_.]*)"
    r"\{(?P<scope>[^{}]*)\}"
    r"(?:\s+by\s*\{(?P<by>[^{}]*)\})?"
    r"(?P<functions>(?:\.[a-z_]+\([^()]*\))*)\s*$"
)
_FUNCTION = re.compile(r"\.([a-z_]+)\(([^()]*)\)")


@dataclass(frozen=True, slots=True)
class DemoUnit:
    """A Datadog unit as the query API describes it."""

    family: str
    name: str
    plural: str
    short_name: str = ""


UNITS = {
    "percent": DemoUnit("percentage", "percent", "percent", "%"),
    "error": DemoUnit("general", "error", "errors"),
    "throttle": DemoUnit("general", "throttle", "throttles"),
    "message": DemoUnit("general", "message", "messages"),
    "byte": DemoUnit("bytes", "byte", "bytes", "B"),
    "millisecond": DemoUnit("time", "millisecond", "milliseconds", "ms"),
}


@dataclass(frozen=True, slots=True)
class DemoMetric:
    """A metric the demo serves and how its levels spread over accounts."""

    name: str
    unit: DemoUnit
    low: float
    high: float
    """Levels of accounts that do not run hot are spread between low and high."""
    warning: float
    critical: float
    presence: float
    """Share of accounts that report the metric at all."""
    title: str
    """Monitor title; metrics without one have no monitor."""
    aggregation: str
    integer: bool
    ceiling: float | None


# fmt: off
_ROWS = (
    # metric, unit, low, high, warning, critical, presence,
    #   monitor title, aggregation
    ("aws.ec2.cpuutilization", "percent", 4, 55, 80, 90, 0.95,
     "EC2 CPU utilization", "avg"),
    ("aws.rds.cpuutilization", "percent", 3, 45, 80, 90, 0.7,
     "RDS CPU utilization", "avg"),
    ("aws.applicationelb.httpcode_elb_5xx", "error", 0, 6, 25, 60, 0.75,
     "ALB 5xx errors", "sum"),
    ("aws.elb.httpcode_elb_5xx", "error", 0, 4, 25, 60, 0.2,
     "Classic ELB 5xx errors", "sum"),
    ("aws.lambda.errors", "error", 0, 4, 15, 40, 0.85,
     "Lambda errors", "sum"),
    ("aws.lambda.throttles", "throttle", 0, 1, 5, 20, 0.85,
     "Lambda throttles", "sum"),
    ("aws.sqs.approximate_number_of_messages_visible", "message", 0, 150, 1000,
     5000, 0.6, "SQS queue depth", "max"),
    ("aws.rds.free_storage_space", "byte", 2e10, 2e11, 0, 0, 0.7,
     "", "min"),
    ("aws.lambda.duration", "millisecond", 40, 600, 0, 0, 0.85,
     "", "avg"),
)
# fmt: on

CATALOG = tuple(
    DemoMetric(
        name,
        UNITS[unit],
        low,
        high,
        warning,
        critical,
        presence,
        title,
        aggregation,
        integer=unit in ("error", "throttle", "message"),
        ceiling=100.0 if unit == "percent" else None,
    )
    for name, unit, low, high, warning, critical, presence, title, aggregation in _ROWS
)
"""Metrics named as the Datadog AWS integration names them."""


class QueryError(ValueError):
    """A query string the demo cannot parse."""


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed metric query."""

    text: str
    aggregator: str
    metric: str
    include: frozenset[str]
    exclude: frozenset[str]
    group_by: tuple[str, ...]
    rollup_seconds: int


def parse_query(text: str) -> Query:
    """Parse ``[aggregator:]metric{scope}[ by {tags}][.function(...)]...``."""
    match = _QUERY.match(text)
    if not match:
        raise QueryError(f"Error parsing query: unable to parse {text}")
    aggregator = match.group("aggregator") or "avg"
    if aggregator not in AGGREGATORS:
        raise QueryError(f"Error parsing query: unknown aggregator {aggregator!r}")

    include: set[str] = set()
    exclude: set[str] = set()
    for part in (p.strip() for p in match.group("scope").split(",")):
        if not part:
            raise QueryError(f"Error parsing query: empty scope in {text}")
        key, _, value = part.lstrip("!").partition(":")
        if key == ACCOUNT_TAG and value:
            (exclude if part.startswith("!") else include).add(value)

    by = match.group("by")
    group_by = tuple(tag.strip() for tag in (by or "").split(",") if tag.strip())
    if by is not None and not group_by:
        raise QueryError(f"Error parsing query: empty group by in {text}")

    rollup = 0
    for name, arguments in _FUNCTION.findall(match.group("functions")):
        if name not in FUNCTIONS:
            raise QueryError(f"Error parsing query: unknown function {name}()")
        if name == "rollup":
            seconds = [a for a in arguments.replace(" ", "").split(",") if a.isdigit()]
            rollup = int(seconds[0]) if seconds else 0

    return Query(
        text,
        aggregator,
        match.group("metric"),
        frozenset(include),
        frozenset(exclude),
        group_by,
        rollup,
    )


class DatadogData:
    """Series levels, values and monitors of the scenario's Datadog organization."""

    def __init__(self, scenario: Scenario) -> None:
        """Index the scenario's reporting accounts and pinned levels."""
        self.scenario = scenario
        self.section: DatadogScenario = scenario.sections["datadog"]
        self.accounts = [
            account.id
            for account in scenario.accounts
            if account.kind == "workload" and account.status == "ACTIVE"
        ]
        self.pins = {(pin.account, pin.metric): pin for pin in self.section.pins}
        self.metrics = {metric.name: metric for metric in CATALOG}

    def level(self, account: str, metric: DemoMetric) -> tuple[float, float] | None:
        """Return the (level, swing) of an account's metric, or None if not reported."""
        pin = self.pins.get((account, metric.name)) or self.pins.get(("*", metric.name))
        if pin is not None:
            swing = pin.swing if pin.swing is not None else max(pin.level * 0.05, 0.5)
            return pin.level, swing
        seed = self.scenario.seed
        if _fraction(f"{seed}:present", account, metric.name) >= metric.presence:
            return None
        draw = _fraction(f"{seed}:level", account, metric.name)
        hot_rate = self.section.hot_rate
        if metric.title and draw < hot_rate:
            top = metric.critical * 1.3
            level = metric.warning + (top - metric.warning) * draw / hot_rate
        else:
            level = metric.low + (metric.high - metric.low) * draw
        return level, max((metric.high - metric.low) * 0.1, 0.5)

    def value(self, account: str, metric: DemoMetric, moment: int) -> float | None:
        """Return the value at ``moment`` (epoch seconds); about 2 % are gaps."""
        shape = self.level(account, metric)
        key = f"{account}:{metric.name}:{moment}".encode()
        if shape is None or zlib.crc32(key) % 50 == 0:
            return None
        level, swing = shape
        phase = _fraction("phase", account, metric.name) * 2 * math.pi
        wave = math.sin(2 * math.pi * moment / 86400 + phase)
        noise = (zlib.crc32(key, 7) % 1000) / 1000 - 0.5
        value = max(0.0, level + swing * (wave + noise * 0.6))
        if metric.ceiling is not None:
            value = min(value, metric.ceiling)
        return float(round(value)) if metric.integer else round(value, 2)

    def monitor_status(self, account: str, metric: DemoMetric) -> str | None:
        """Evaluate the metric's org-wide monitor on an account's level."""
        shape = self.level(account, metric)
        if shape is None:
            return None
        if shape[0] >= metric.critical:
            return "Alert"
        if shape[0] >= metric.warning:
            return "Warn"
        return "OK"

    def series(self, query: Query, start: int, end: int, interval: int) -> list[Any]:
        """Return the ``series`` of a ``GET /api/v1/query`` response."""
        metric = self.metrics.get(query.metric)
        if metric is None:
            return []
        interval = max(interval, query.rollup_seconds)
        first = math.ceil(start / interval) * interval
        times = list(range(first, end + 1, interval))
        accounts = [
            account
            for account in self.accounts
            if (not query.include or account in query.include)
            and account not in query.exclude
            and self.level(account, metric) is not None
        ]
        if not times or not accounts:
            return []
        rows = {a: [self.value(a, metric, t) for t in times] for a in accounts}
        if ACCOUNT_TAG in query.group_by:
            return [
                _series(query, metric, times, values, interval, _tags(query, account))
                for account, values in rows.items()
            ]
        combined = [
            _combine([rows[a][i] for a in accounts], query.aggregator)
            for i in range(len(times))
        ]
        tags = [f"{tag}:N/A" for tag in query.group_by]
        return [_series(query, metric, times, combined, interval, tags)]

    def monitors(self) -> list[dict[str, Any]]:
        """Return every monitor as ``GET /api/v1/monitor`` does, plus ``groups``.

        ``groups`` maps each group name to its status; the server turns it
        into ``state.groups`` for the states the request asks for.
        """
        monitors = []
        if self.section.monitor_templates:
            for number, metric in enumerate(CATALOG, start=1):
                if metric.title:
                    monitors.append(self._template(number, metric))
        for number, monitor in enumerate(self.section.monitors, start=101):
            document = _monitor(number, monitor.name, monitor.status, {})
            document["tags"] = [f"aws_account:{monitor.account}", *monitor.tags]
            document["query"] = (
                f"avg(last_5m):demo.check{{aws_account:{monitor.account}}} > 1"
            )
            monitors.append(document)
        return monitors

    def _template(self, number: int, metric: DemoMetric) -> dict[str, Any]:
        groups = {}
        for account in self.accounts:
            status = self.monitor_status(account, metric)
            if status is not None:
                groups[f"aws_account:{account}"] = status
        worst = next((s for s in ALERTING if s in groups.values()), "OK")
        document = _monitor(
            number, f"{metric.title} high on {{{{aws_account.name}}}}", worst, groups
        )
        aggregation = metric.aggregation
        document["query"] = (
            f"{aggregation}(last_15m):{aggregation}:{metric.name}{{*}} "
            f"by {{aws_account}} > {metric.critical:g}"
        )
        document["multi"] = True
        document["options"]["thresholds"] = {
            "critical": float(metric.critical),
            "warning": float(metric.warning),
        }
        return document


def _monitor(
    number: int, name: str, status: str, groups: dict[str, str]
) -> dict[str, Any]:
    return {
        "id": 4_000_000 + number,
        "name": name,
        "type": "query alert",
        "query": "",
        "message": "Notify @oncall",
        "tags": ["integration:amazon_web_services"],
        "options": {"thresholds": {"critical": 1.0}, "notify_no_data": False},
        "overall_state": status,
        "multi": False,
        "priority": None,
        "created": "2026-01-15T09:30:00.000000+00:00",
        "modified": "2026-06-01T12:00:00.000000+00:00",
        "creator": {
            "email": "oncall@example.com",
            "handle": "oncall@example.com",
            "name": "On-call",
        },
        "restricted_roles": None,
        "groups": groups,
    }


def _tags(query: Query, account: str) -> list[str]:
    return [
        f"{tag}:{account}" if tag == ACCOUNT_TAG else f"{tag}:N/A"
        for tag in query.group_by
    ]


def _series(
    query: Query,
    metric: DemoMetric,
    times: list[int],
    values: list[float | None],
    interval: int,
    tags: list[str],
) -> dict[str, Any]:
    scope = ",".join(tags) or "*"
    unit: dict[str, Any] = {
        "family": metric.unit.family,
        "name": metric.unit.name,
        "plural": metric.unit.plural,
        "scale_factor": 1.0,
    }
    if metric.unit.short_name:
        unit["short_name"] = metric.unit.short_name
    return {
        "metric": metric.name,
        "display_name": metric.name,
        "scope": scope,
        "tag_set": tags,
        "expression": f"{query.aggregator}:{metric.name}{{{scope}}}",
        "aggr": query.aggregator,
        "pointlist": [[float(t * 1000), v] for t, v in zip(times, values, strict=True)],
        "start": times[0] * 1000,
        "end": (times[-1] + interval) * 1000 - 1,
        "interval": interval,
        "length": len(times),
        "query_index": 0,
        "unit": [unit, None],
    }


def _combine(values: list[float | None], aggregator: str) -> float | None:
    present = [value for value in values if value is not None]
    if not present:
        return None
    if aggregator == "sum":
        return round(sum(present), 4)
    if aggregator == "min":
        return min(present)
    if aggregator == "max":
        return max(present)
    return round(sum(present) / len(present), 4)


@cache
def _fraction(salt: str, account: str, metric: str) -> float:
    """Return a stable number in [0, 1) for a salt, account and metric."""
    return zlib.crc32(f"{salt}:{account}:{metric}".encode()) / 2**32
