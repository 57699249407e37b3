"""Datadog in the demo world: the ``[datadog]`` scenario section and its server.

The section tunes the organization :mod:`collectors.demo.datadog_data`
describes: ``[[datadog.series]]`` pins a level for an account's metric,
``[[datadog.monitor]]`` adds a monitor tagged with one account and
``[[datadog.fault]]`` makes the local server
(:mod:`collectors.demo.datadog_server`) fail the way Datadog does. The
server starts with the demo world, and the collector's settings are pointed
at it with the keys it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from collectors.demo.datadog_data import CATALOG, DatadogData
from collectors.demo.datadog_server import DEFAULT_LIMITS, DatadogServer
from collectors.demo.plugins import demo_config, seeder, stopper
from collectors.demo.scenario import section_parser
from collectors.tomlcheck import Table

if TYPE_CHECKING:
    from collectors.demo.scenario import Scenario
    from collectors.demo.server import DemoWorld

MONITOR_STATES = ("Alert", "Warn", "OK", "No Data")
FAULT_STATUSES = (200, 400, 401, 403, 429, 500, 502, 503, 504)
ENDPOINTS = ("query", "monitor", "validate", "*")


@dataclass(frozen=True, slots=True)
class SeriesPin:
    """A ``[[datadog.series]]`` entry: a fixed level for an account and metric."""

    account: str
    metric: str
    level: float
    swing: float | None


@dataclass(frozen=True, slots=True)
class DemoMonitor:
    """A ``[[datadog.monitor]]`` entry: a simple monitor tagged with one account."""

    name: str
    account: str
    status: str
    tags: tuple[str, ...]


@dataclass
class DatadogFault:
    """A ``[[datadog.fault]]`` entry and how often it has fired."""

    endpoint: str = "*"
    status: int = 0
    reset_seconds: int = 60
    body: str = "json"
    latency_ms: int = 0
    times: int = 0
    fired: int = 0


@dataclass
class DatadogScenario:
    """The ``[datadog]`` section of a scenario."""

    enabled: bool = True
    api_key: str = ""
    """Key the local server accepts; empty means a random one per world."""
    app_key: str = ""
    interval_seconds: int = 300
    hot_rate: float = 0.03
    """Share of (account, metric) pairs whose level is above the warning threshold."""
    monitor_templates: bool = True
    rate_limits: dict[str, tuple[int, int]] = field(default_factory=dict)
    pins: list[SeriesPin] = field(default_factory=list)
    monitors: list[DemoMonitor] = field(default_factory=list)
    faults: list[DatadogFault] = field(default_factory=list)


@section_parser("datadog")
def parse_datadog(table: Table, scenario: Scenario) -> DatadogScenario:
    """Read ``[datadog]`` with its series pins, monitors, faults and rate limits."""
    section = DatadogScenario(
        enabled=table.get("enabled", bool, True),
        api_key=table.get("api_key", str, ""),
        app_key=table.get("app_key", str, ""),
        interval_seconds=table.get("interval_seconds", int, 300),
        hot_rate=table.get("hot_rate", float, 0.03),
        monitor_templates=table.get("monitor_templates", bool, True),
    )
    if not 10 <= section.interval_seconds <= 3600:
        raise table.error("interval_seconds", "must be between 10 and 3600")
    if not 0 <= section.hot_rate <= 1:
        raise table.error("hot_rate", "must be between 0 and 1")
    section.rate_limits = _parse_rate_limits(table.table("rate_limits"))
    section.pins = [_parse_pin(entry, scenario) for entry in table.tables("series")]
    section.monitors = [
        _parse_monitor(entry, scenario) for entry in table.tables("monitor")
    ]
    section.faults = [_parse_fault(entry) for entry in table.tables("fault")]
    table.done()
    return section


def _parse_rate_limits(limits: Table) -> dict[str, tuple[int, int]]:
    """Read ``[datadog.rate_limits.NAME]`` tables of ``limit`` and ``period``."""
    found = {}
    for name in limits.data:
        entry = limits.table(name)
        if name not in ENDPOINTS[:-1]:
            raise limits.error(
                name, f"unknown endpoint; use one of {', '.join(ENDPOINTS[:-1])}"
            )
        default_limit, default_period = DEFAULT_LIMITS[name]
        limit = entry.get("limit", int, default_limit)
        period = entry.get("period", int, default_period)
        if limit < 1 or period < 1:
            raise entry.error("limit", "limit and period must be 1 or more")
        found[name] = (limit, period)
        entry.done()
    limits.done()
    return found


def _account(entry: Table, scenario: Scenario, wildcard: bool) -> str:
    name = entry.get("account", str, "")
    if wildcard and name == "*":
        return name
    account = scenario.account(name)
    if account is None:
        raise entry.error("account", f"no account named {name!r} in the scenario")
    return account.id


def _parse_pin(entry: Table, scenario: Scenario) -> SeriesPin:
    account = _account(entry, scenario, wildcard=True)
    metric = entry.get("metric", str, "")
    if metric not in {m.name for m in CATALOG}:
        known = ", ".join(m.name for m in CATALOG)
        raise entry.error("metric", f"unknown metric {metric!r}; known: {known}")
    level = entry.get("level", float, 0.0)
    swing = entry.get("swing", float, -1.0)
    entry.done()
    return SeriesPin(account, metric, level, swing if swing >= 0 else None)


def _parse_monitor(entry: Table, scenario: Scenario) -> DemoMonitor:
    name = entry.get("name", str, "")
    if not name:
        raise entry.error("name", "each [[datadog.monitor]] needs a name")
    account = _account(entry, scenario, wildcard=False)
    status = entry.get("status", str, "Alert")
    if status not in MONITOR_STATES:
        raise entry.error("status", f"must be one of {', '.join(MONITOR_STATES)}")
    tags = tuple(entry.strings("tags"))
    entry.done()
    return DemoMonitor(name, account, status, tags)


def _parse_fault(entry: Table) -> DatadogFault:
    fault = DatadogFault(
        endpoint=entry.get("endpoint", str, "*"),
        status=entry.get("status", int, 0),
        reset_seconds=entry.get("reset_seconds", int, 60),
        body=entry.get("body", str, "json"),
        latency_ms=entry.get("latency_ms", int, 0),
        times=entry.get("times", int, 0),
    )
    entry.done()
    if fault.endpoint not in ENDPOINTS:
        raise entry.error("endpoint", f"must be one of {', '.join(ENDPOINTS)}")
    if fault.status and fault.status not in FAULT_STATUSES:
        statuses = ", ".join(str(status) for status in FAULT_STATUSES)
        raise entry.error("status", f"must be one of {statuses}")
    if not fault.status and not fault.latency_ms:
        raise entry.error("status", "give a status, a latency_ms or both")
    if fault.body not in ("json", "html"):
        raise entry.error("body", "must be json or html")
    if fault.status == 200 and fault.body != "html":
        raise entry.error(
            "body", 'a status 200 fault serves an html body; set body = "html"'
        )
    if fault.reset_seconds < 0 or fault.times < 0 or fault.latency_ms < 0:
        raise entry.error(
            "times", "reset_seconds, times and latency_ms must be zero or more"
        )
    return fault


@seeder(order=90)
def start_server(world: DemoWorld) -> None:
    """Start the local Datadog API server unless the scenario turns Datadog off."""
    section: DatadogScenario = world.scenario.sections["datadog"]
    if section.enabled:
        server = DatadogServer(DatadogData(world.scenario)).start()
        world.remember_secret(server.api_key, server.app_key)
        world.extra["datadog"] = server


@demo_config
def point_collector_at_server(world: DemoWorld, config: Any) -> None:
    """Give the collector the local server's URL and keys, or turn it off."""
    from collectors.datadog.settings import DatadogSettings, parse_settings

    settings = config.collector_settings.get("datadog")
    if not isinstance(settings, DatadogSettings):
        settings = parse_settings(Table({}, "<defaults>", "", "datadog"), {})
    server: DatadogServer | None = world.extra.get("datadog")
    if server is None:
        # Keys from the environment must never reach the real Datadog from the demo.
        config.collector_settings["datadog"] = replace(
            settings,
            enabled=False,
            api_key="",
            app_key="",
            host="",
            disabled_note=(
                "the demo scenario turns Datadog off ([datadog] enabled = false)"
            ),
        )
        return
    config.collector_settings["datadog"] = replace(
        settings,
        api_key=server.api_key,
        app_key=server.app_key,
        api_key_source="the demo world",
        app_key_source="the demo world",
        host=server.url,
        proxy="",
    )


@stopper
def stop_server(world: DemoWorld) -> None:
    """Stop the local Datadog API server."""
    server = world.extra.pop("datadog", None)
    if server is not None:
        server.stop()
