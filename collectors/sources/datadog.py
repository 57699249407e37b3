"""Datadog: per-account metric series and alerting monitors for the whole org.

One task for the organization makes one ``GET /api/v1/query`` per configured
metric, grouped by the AWS integration's account tag, and pages through
``GET /api/v1/monitor``. The cost is one request per metric plus one per
thousand monitors, whatever the number of accounts. The task makes no AWS
call. Keys and site come from ``DD_API_KEY``, ``DD_APP_KEY`` and ``DD_SITE``
or the ``[datadog]`` section. Without keys the collector is not configured,
which is a state, not an error.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from typing import Any

from datadog_api_client.v1.api.metrics_api import MetricsApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.metrics_query_response import MetricsQueryResponse

from collectors.datadog.api import (
    DatadogError,
    Forbidden,
    RateLimited,
    Session,
    build_configuration,
    open_client,
)
from collectors.datadog.parse import count_monitors, series_by_tag
from collectors.datadog.section import build_section, empty_section
from collectors.datadog.settings import DatadogSettings, MetricQuery, parse_settings
from collectors.model import Account, Alert, Severity
from collectors.registry import Collector, Scope, TaskContext, TaskResult, register
from collectors.tomlcheck import Table

MONITOR_PAGE_SIZE = 1000
"""Largest ``page_size`` the monitor list accepts."""
MAX_MONITOR_PAGES = 50
MAX_NAMES_PER_ALERT = 3


@register
class DatadogCollector(Collector):
    """Reads metric series per account and counts alerting monitors."""

    name = "datadog"
    title = "Datadog"
    scope = Scope.ORG
    ttl_seconds = 60.0
    order = 60

    def __init__(self) -> None:
        """Use the real clock; tests replace ``sleep`` and ``clock`` to skip waits."""
        self.sleep = asyncio.sleep
        self.clock = time.monotonic

    def parse_config(self, table: Table) -> DatadogSettings:
        """Read ``[datadog]`` and the ``DD_*`` environment variables."""
        return parse_settings(table, os.environ)

    def disabled_reason(self, settings: Any) -> str | None:
        """Explain a missing key or a collector turned off; None when it can run."""
        settings = _settings(settings)
        if not settings.enabled:
            return (
                settings.disabled_note or "turned off by enabled = false in [datadog]"
            )
        if not settings.api_key:
            return (
                "no Datadog API key: set DD_API_KEY and DD_APP_KEY, or api_key "
                "and app_key in the [datadog] section of the config"
            )
        if not settings.app_key:
            return (
                "no Datadog application key: set DD_APP_KEY, or app_key in the "
                "[datadog] section of the config; metric queries and the monitor "
                "list need one"
            )
        return None

    async def collect(self, context: TaskContext) -> Any:
        """Query every metric and list the monitors, within the rate-limit budget."""
        settings = _settings(context.settings)
        session = Session(settings, sleep=self.sleep, clock=self.clock)
        end = int(context.now.timestamp())
        start = end - settings.window_seconds
        async with open_client(build_configuration(settings)) as client:
            metrics_api = MetricsApi(client)
            jobs = [
                _query(session, metrics_api, metric, start, end, settings)
                for metric in settings.metrics
            ]
            jobs.append(_monitors(session, MonitorsApi(client), settings))
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
            failure = _first_failure(outcomes)
            if isinstance(failure, Forbidden):
                failure = await session.explain_forbidden(failure, client)
        if failure is not None:
            raise failure
        *metric_results, monitors = outcomes
        ids = [metric.id for metric in settings.metrics]
        return {
            "site": settings.site,
            "api_url": settings.api_url,
            "from": start,
            "to": end,
            "metrics": dict(zip(ids, metric_results, strict=True)),
            "monitors": monitors,
            "rate_limit": session.report(),
            "requests": dict(session.requests),
        }

    def merge(
        self,
        results: Sequence[TaskResult],
        previous: dict[str, Any] | None,
        accounts: Sequence[Account],
        settings: Any,
    ) -> dict[str, Any]:
        """Map tag values to accounts; keep earlier data where a request failed."""
        settings = _settings(settings)
        if not results:
            if previous and previous.get("metrics"):
                return {**previous, "stale": True}
            return empty_section(settings)
        return build_section(results[0].data, previous, accounts, settings)

    def alerts(
        self, section: dict[str, Any], accounts: Sequence[Account], settings: Any
    ) -> list[Alert]:
        """Warn for every account with monitors in alert or warn state."""
        names = {account.id: account.name for account in accounts}
        found = []
        for account_id, entry in sorted(section.get("by_account", {}).items()):
            monitors = entry.get("monitors") or {}
            if monitors.get("alert", 0) + monitors.get("warn", 0):
                where = f"in {names.get(account_id, account_id)} ({account_id})"
                found.append(
                    Alert(
                        Severity.WARNING,
                        "datadog-monitors",
                        f"Datadog: {_describe(monitors, where)}",
                        account_id,
                    )
                )
        monitors = section.get("monitors") or {}
        unattributed = monitors.get("unattributed") or []
        if unattributed:
            counts = {
                "alert": sum(1 for m in unattributed if m["status"] == "Alert"),
                "warn": sum(1 for m in unattributed if m["status"] == "Warn"),
                "names": unattributed,
            }
            tag = section.get("account_tag", "account")
            found.append(
                Alert(
                    Severity.WARNING,
                    "datadog-monitors",
                    f"Datadog: {_describe(counts, f'with no {tag} tag')}",
                )
            )
        if monitors.get("status") == "rate-limited":
            found.append(
                Alert(
                    Severity.UNKNOWN,
                    "datadog-rate-limited",
                    "Datadog monitors not read: rate-limited, the limit resets in "
                    f"{monitors.get('reset_seconds', 0):.0f} s",
                )
            )
        return found


def _settings(settings: Any) -> DatadogSettings:
    if isinstance(settings, DatadogSettings):
        return settings
    return parse_settings(Table({}, "<defaults>", "", "datadog"), os.environ)


async def _query(
    session: Session,
    api: MetricsApi,
    metric: MetricQuery,
    start: int,
    end: int,
    settings: DatadogSettings,
) -> dict[str, Any]:
    try:
        response = await session.call(
            "QueryMetrics",
            api.query_metrics,
            MetricsQueryResponse,
            _from=start,
            to=end,
            query=metric.query,
        )
    except RateLimited as error:
        return {"status": "rate-limited", "reset_seconds": error.reset_seconds}
    except DatadogError as error:
        error.args = (f"{metric.label}: {error}",)
        raise
    series = series_by_tag(
        _as_dict(response), settings.account_tag, metric.aggregator, settings.max_points
    )
    return {"status": "ok", **series}


async def _monitors(
    session: Session, api: MonitorsApi, settings: DatadogSettings
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "group_states": "alert,warn",
        "page_size": MONITOR_PAGE_SIZE,
    }
    if settings.monitor_tags:
        options["monitor_tags"] = ",".join(settings.monitor_tags)
    listed: list[dict[str, Any]] = []
    try:
        for page in range(MAX_MONITOR_PAGES):
            response = await session.call(
                "ListMonitors", api.list_monitors, list, page=page, **options
            )
            listed.extend(_as_dict(monitor) for monitor in response)
            if len(response) < MONITOR_PAGE_SIZE:
                break
    except RateLimited as error:
        return {"status": "rate-limited", "reset_seconds": error.reset_seconds}
    counts = count_monitors(listed, settings.account_tag)
    return {"status": "ok", "pages": page + 1, **counts}


def _as_dict(item: Any) -> dict[str, Any]:
    """Return a deserialized model as plain data; a plain dict passes through."""
    if isinstance(item, dict):
        return item
    return dict(item.to_dict()) if hasattr(item, "to_dict") else {}


def _first_failure(outcomes: Sequence[Any]) -> BaseException | None:
    """Return the failure to report: a rejected key first, then any other."""
    failures = [item for item in outcomes if isinstance(item, BaseException)]
    for failure in failures:
        if isinstance(failure, Forbidden):
            return failure
    return failures[0] if failures else None


def _describe(monitors: dict[str, Any], where: str) -> str:
    """Describe alerting monitors: ``2 monitors in alert in payments-prod: A, B``."""
    parts = []
    for state in ("alert", "warn"):
        if monitors.get(state):
            parts.append(f"{monitors[state]} in {state}")
    total = monitors.get("alert", 0) + monitors.get("warn", 0)
    noun = "monitor" if total == 1 else "monitors"
    names = [item["name"] for item in monitors.get("names", [])]
    listed = ", ".join(names[:MAX_NAMES_PER_ALERT])
    if len(names) > MAX_NAMES_PER_ALERT:
        listed += f" and {len(names) - MAX_NAMES_PER_ALERT} more"
    return f"{noun} {' and '.join(parts)} {where}: {listed}"
