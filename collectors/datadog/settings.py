"""The ``[datadog]`` config section, the ``DD_*`` environment and Datadog sites.

Keys and the site come from ``DD_API_KEY``, ``DD_APP_KEY`` and ``DD_SITE``
first, then from the config file, as Datadog's own tools read them. Every
metric is one query string for the whole organization; the collector adds
``by {<account tag>}`` so that one request returns one series per account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from collectors.errors import ConfigError
from collectors.tomlcheck import Table

DEFAULT_SITE = "datadoghq.com"
DEFAULT_ACCOUNT_TAG = "aws_account"
"""Tag the Datadog AWS integration puts on every metric it crawls."""

SITE_ALIASES = {
    "us1": "datadoghq.com",
    "us3": "us3.datadoghq.com",
    "us5": "us5.datadoghq.com",
    "eu": "datadoghq.eu",
    "eu1": "datadoghq.eu",
    "ap1": "ap1.datadoghq.com",
    "ap2": "ap2.datadoghq.com",
    "uk1": "uk1.datadoghq.com",
    "gov": "ddog-gov.com",
    "us1-fed": "ddog-gov.com",
}
"""Short names people use for Datadog sites, mapped to the ``DD_SITE`` value."""

AGGREGATORS = ("avg", "sum", "min", "max")

DEFAULT_METRICS = (
    ("ec2-cpu", "EC2 CPU", "avg:aws.ec2.cpuutilization{*}", "%"),
    ("rds-cpu", "RDS CPU", "avg:aws.rds.cpuutilization{*}", "%"),
    (
        "alb-5xx",
        "ALB 5xx",
        "sum:aws.applicationelb.httpcode_elb_5xx{*}.as_count()",
        "errors",
    ),
    ("lambda-errors", "Lambda errors", "sum:aws.lambda.errors{*}.as_count()", "errors"),
    (
        "lambda-throttles",
        "Lambda throttles",
        "sum:aws.lambda.throttles{*}.as_count()",
        "throttles",
    ),
    (
        "sqs-depth",
        "SQS queue depth",
        "max:aws.sqs.approximate_number_of_messages_visible{*}",
        "messages",
    ),
)
"""Metrics an on-call engineer watches per account: (id, label, query, unit)."""

_TAG_KEY = re.compile(r"^[a-z][a-z0-9_./-]*$")
_BY_CLAUSE = re.compile(r"\s+by\s*\{([^}]*)\}")
_AGGREGATOR = re.compile(r"^\s*([a-z]+):")


@cache
def known_sites() -> tuple[str, ...]:
    """Return the sites for which datadog-api-client builds an API host."""
    from datadog_api_client import Configuration

    servers = Configuration().get_host_settings()
    values = servers[0]["variables"]["site"]["enum_values"]
    return tuple(dict.fromkeys(values))


def normalize_site(value: str) -> str | None:
    """Return the ``DD_SITE`` form of a site name or URL, or None if unknown.

    Accepts the site itself (``datadoghq.eu``), a short name (``us5``, ``eu``,
    ``gov``) and the web or API address people copy from a browser
    (``https://app.datadoghq.eu``).
    """
    site = value.strip().lower()
    site = re.sub(r"^https?://", "", site).rstrip("/")
    site = re.sub(r"^(app|api)\.", "", site)
    site = SITE_ALIASES.get(site, site)
    return site if site in known_sites() else None


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One configured metric: what to ask Datadog and how to show it."""

    id: str
    label: str
    query: str
    """The query as sent, grouped by the account tag."""
    unit: str
    """Unit to show; empty means the unit Datadog returns with the series."""
    aggregator: str
    """Space aggregator of the query, used to combine series of one account."""


@dataclass(frozen=True)
class DatadogSettings:
    """Parsed ``[datadog]`` section with the environment applied."""

    enabled: bool = True
    site: str = DEFAULT_SITE
    site_source: str = "the default"
    api_key: str = field(default="", repr=False)
    app_key: str = field(default="", repr=False)
    api_key_source: str = ""
    app_key_source: str = ""
    host: str = ""
    """Base URL that replaces the site's API host (the demo's local server)."""
    proxy: str = ""
    account_tag: str = DEFAULT_ACCOUNT_TAG
    window_seconds: int = 4 * 3600
    max_points: int = 60
    max_wait_seconds: float = 30.0
    """Maximum time a refresh waits for a rate limit to reset before it gives up."""
    request_timeout_seconds: float = 20.0
    monitor_tags: tuple[str, ...] = ()
    metrics: tuple[MetricQuery, ...] = ()
    disabled_note: str = ""
    """Reason the collector is off although keys may exist (set by the demo)."""

    @property
    def api_url(self) -> str:
        """Return the base URL requests go to."""
        return self.host or f"https://api.{self.site}"


def group_query(query: str, tag: str) -> str:
    """Return ``query`` grouped by ``tag``, adding ``by {tag}`` after its scope.

    Raises:
        ValueError: The query has no ``{scope}``, or its own ``by`` clause
            leaves out the account tag.
    """
    start = query.find("{")
    end = query.find("}", start)
    if start < 0 or end < 0:
        raise ValueError(f"{query!r} has no scope such as {{*}}")
    grouping = _BY_CLAUSE.search(query, end)
    if grouping:
        tags = [part.strip() for part in grouping.group(1).split(",")]
        if tag not in tags:
            raise ValueError(
                f"{query!r} groups by {{{grouping.group(1)}}} but not by the "
                f"account tag {tag!r}; add it or leave out the by clause"
            )
        return query
    return f"{query[: end + 1]} by {{{tag}}}{query[end + 1 :]}"


def space_aggregator(query: str) -> str:
    """Return the query's space aggregator; Datadog uses ``avg`` when none is given."""
    match = _AGGREGATOR.match(query)
    if match and match.group(1) in AGGREGATORS:
        return match.group(1)
    return "avg"


def slug(label: str) -> str:
    """Turn a label into a metric id: lower case, words joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def parse_settings(table: Table, environ: Mapping[str, str]) -> DatadogSettings:
    """Read ``[datadog]``; the ``DD_*`` variables in ``environ`` override it."""
    where = f"[datadog] in {table.path}"
    enabled = table.get("enabled", bool, True)
    site, site_source = _site(table, environ, where)
    api_key, api_source = _key(table, environ, "api_key", "DD_API_KEY", where)
    app_key, app_source = _key(table, environ, "app_key", "DD_APP_KEY", where)

    account_tag = table.get("account_tag", str, DEFAULT_ACCOUNT_TAG)
    if not _TAG_KEY.match(account_tag):
        raise table.error("account_tag", f"{account_tag!r} is not a Datadog tag key")

    window = table.get("window_minutes", int, 240)
    if not 5 <= window <= 7 * 24 * 60:
        raise table.error("window_minutes", "must be between 5 and 10080 (one week)")
    points = table.get("points", int, 60)
    if not 2 <= points <= 1000:
        raise table.error("points", "must be between 2 and 1000")
    max_wait = table.get("max_wait_seconds", float, 30.0)
    if max_wait < 0:
        raise table.error("max_wait_seconds", "must be zero or more")
    timeout = table.get("request_timeout_seconds", float, 20.0)
    if timeout <= 0:
        raise table.error("request_timeout_seconds", "must be more than zero")

    settings = DatadogSettings(
        enabled=enabled,
        site=site,
        site_source=site_source,
        api_key=api_key,
        app_key=app_key,
        api_key_source=api_source,
        app_key_source=app_source,
        proxy=table.get("proxy", str, ""),
        account_tag=account_tag,
        window_seconds=window * 60,
        max_points=points,
        max_wait_seconds=max_wait,
        request_timeout_seconds=timeout,
        monitor_tags=tuple(table.strings("monitor_tags")),
        metrics=_metrics(table, account_tag),
    )
    table.done()
    return settings


def _site(table: Table, environ: Mapping[str, str], where: str) -> tuple[str, str]:
    configured = table.get("site", str, "")
    if environ.get("DD_SITE"):
        value, source = environ["DD_SITE"], "DD_SITE"
    elif configured:
        value, source = configured, f"site in {where}"
    else:
        return DEFAULT_SITE, "the default"
    site = normalize_site(value)
    if site is None:
        choices = ", ".join(known_sites())
        message = f"{value!r} is not a Datadog site; use one of {choices}"
        if source == "DD_SITE":
            raise ConfigError("DD_SITE", message)
        raise table.error("site", message)
    return site, source


def _key(
    table: Table, environ: Mapping[str, str], key: str, variable: str, where: str
) -> tuple[str, str]:
    configured = table.get(key, str, "").strip()
    from_env = environ.get(variable, "").strip()
    if from_env:
        return from_env, variable
    if configured:
        return configured, f"{key} in {where}"
    return "", ""


def _metrics(table: Table, account_tag: str) -> tuple[MetricQuery, ...]:
    entries = table.tables("metric")
    if not entries:
        return tuple(
            MetricQuery(
                id,
                label,
                group_query(query, account_tag),
                unit,
                space_aggregator(query),
            )
            for id, label, query, unit in DEFAULT_METRICS
        )
    metrics: list[MetricQuery] = []
    for entry in entries:
        label = entry.get("label", str, "")
        query = entry.get("query", str, "")
        if not label:
            raise entry.error("label", "each [[datadog.metric]] needs a label")
        if not query:
            raise entry.error("query", "each [[datadog.metric]] needs a query")
        try:
            grouped = group_query(query, account_tag)
        except ValueError as error:
            raise entry.error("query", str(error)) from None
        metric_id = entry.get("id", str, "") or slug(label)
        if any(metric.id == metric_id for metric in metrics):
            raise entry.error("id", f"another metric already has the id {metric_id!r}")
        unit = entry.get("unit", str, "")
        entry.done()
        metrics.append(
            MetricQuery(metric_id, label, grouped, unit, space_aggregator(query))
        )
    return tuple(metrics)
