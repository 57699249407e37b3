"""The Datadog collector with the real client against the demo's local Datadog API.

One demo world serves the whole module; each test starts from a server with
no fault rules, fresh rate-limit windows and empty request logs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from collectors.check import evaluate
from collectors.demo.datadog_data import CATALOG
from collectors.demo.datadog_server import DEFAULT_LIMITS, DatadogServer, Window
from collectors.demo.plugins.datadog import DatadogFault
from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.model import ErrorKind, Severity, State
from collectors.snapshot import Snapshot
from collectors.sources.datadog import DatadogCollector
from tests.collectors.test_quotas import isolated
from tests.conftest import SMALL, demo_config, make_refresher

PINNED = """
[datadog]

[[datadog.series]]
account = "payments-prod"
metric = "aws.ec2.cpuutilization"
level = 95.0

[[datadog.series]]
account = "payments-dev"
metric = "aws.sqs.approximate_number_of_messages_visible"
level = 2000.0

[[datadog.monitor]]
name = "Search p99 latency above SLO"
account = "search-prod"
status = "Warn"

[[datadog.monitor]]
name = "Payments ops backlog"
account = "payments-ops"
status = "OK"
"""

QUERIED = {
    "ec2-cpu": "aws.ec2.cpuutilization",
    "rds-cpu": "aws.rds.cpuutilization",
    "alb-5xx": "aws.applicationelb.httpcode_elb_5xx",
    "lambda-errors": "aws.lambda.errors",
    "lambda-throttles": "aws.lambda.throttles",
    "sqs-depth": "aws.sqs.approximate_number_of_messages_visible",
}
"""Default metric ids and the metric each one queries."""


class FakeClock:
    """A clock and sleep shared by the collector and the server; sleeping moves time."""

    def __init__(self, start: float = 1_796_400_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def server_of(world: DemoWorld) -> DatadogServer:
    server = world.extra["datadog"]
    assert isinstance(server, DatadogServer)
    return server


def reset(server: DatadogServer) -> None:
    """Drop fault rules, request logs and rate-limit state left by another test."""
    server.data.section.faults.clear()
    server.served.clear()
    server.requests.clear()
    server.clock = time.time
    limits = {**DEFAULT_LIMITS, **server.data.section.rate_limits}
    server.windows = {name: Window(name, *limit) for name, limit in limits.items()}


def add_fault(world: DemoWorld, **rule: Any) -> None:
    server_of(world).data.section.faults.append(DatadogFault(**rule))


@contextmanager
def module_isolation(folder: Path) -> Iterator[None]:
    """Isolate a module-scoped fixture, which starts before the per-test isolation."""
    with isolated(folder), pytest.MonkeyPatch.context() as patch:
        for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
            patch.setenv(f"XDG_{kind}_HOME", str(folder / f"xdg-{kind.lower()}"))
        yield


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    folder = tmp_path_factory.mktemp("datadog")
    path = folder / "datadog.toml"
    path.write_text(SMALL.read_text() + PINNED)
    with module_isolation(folder), DemoWorld(load_scenario(path)) as world:
        yield world


@pytest.fixture
def dd_world(shared_world: DemoWorld) -> DemoWorld:
    reset(server_of(shared_world))
    return shared_world


async def collect(
    world: DemoWorld,
    clock: FakeClock | None = None,
    previous: Snapshot | None = None,
    **changes: Any,
) -> Snapshot:
    """Run one refresh of the Datadog collector; ``changes`` edit its settings."""
    config = demo_config(world)
    settings = config.collector_settings["datadog"]
    config.collector_settings["datadog"] = replace(settings, **changes)
    refresher = make_refresher(world, config)
    collector = next(c for c in refresher.collectors if c.name == "datadog")
    assert isinstance(collector, DatadogCollector)
    if clock is not None:
        collector.sleep = clock.sleep  # type: ignore[assignment]
        collector.clock = clock
        server_of(world).clock = clock
    try:
        return await refresher.run(previous, only=["datadog"], force=True)
    finally:
        await refresher.factory.close()


@dataclass(frozen=True)
class Baseline:
    """One fault-free refresh and the requests the server counted for it."""

    snapshot: Snapshot
    requests: dict[str, int]


@pytest.fixture(scope="module")
def baseline(shared_world: DemoWorld) -> Baseline:
    reset(server_of(shared_world))
    snapshot = asyncio.run(collect(shared_world))
    return Baseline(snapshot, dict(server_of(shared_world).requests))


def catalog_metric(name: str) -> Any:
    return next(metric for metric in CATALOG if metric.name == name)


def datadog_errors(snapshot: Snapshot) -> list[Any]:
    return [error for error in snapshot.errors if error.collector == "datadog"]


def test_each_account_shows_seeded_series(
    dd_world: DemoWorld, baseline: Baseline
) -> None:
    snapshot = baseline.snapshot
    section = snapshot.sections["datadog"]
    data = server_of(dd_world).data
    assert snapshot.errors == []
    assert [m["id"] for m in section["metrics"]] == list(QUERIED)
    for metric in section["metrics"]:
        demo = catalog_metric(QUERIED[metric["id"]])
        reporting = {a for a in data.accounts if data.level(a, demo) is not None}
        collected = {
            a
            for a, e in section["by_account"].items()
            if metric["id"] in e.get("metrics", {})
        }
        assert collected == reporting, metric["id"]
        for account in reporting:
            values = section["by_account"][account]["metrics"][metric["id"]]["values"]
            expected = [data.value(account, demo, moment) for moment in metric["times"]]
            assert values == expected, (metric["id"], account)


async def test_series_cover_window_with_units(dd_world: DemoWorld) -> None:
    snapshot = await collect(dd_world, window_seconds=3600)
    section = snapshot.sections["datadog"]
    cpu = section["metrics"][0]
    assert cpu["unit"] == "%"
    assert cpu["status"] == "ok"
    assert 12 <= len(cpu["times"]) <= 13
    assert cpu["times"][-1] - cpu["times"][0] <= 3600
    account = next(iter(section["by_account"].values()))
    entry = next(iter(account["metrics"].values()))
    assert entry["latest"] == next(
        v for v in reversed(entry["values"]) if v is not None
    )


async def test_long_window_is_thinned(dd_world: DemoWorld) -> None:
    snapshot = await collect(dd_world, window_seconds=24 * 3600, max_points=30)
    for metric in snapshot.sections["datadog"]["metrics"]:
        assert 2 <= len(metric["times"]) <= 30


def test_alert_counts_per_account(dd_world: DemoWorld, baseline: Baseline) -> None:
    snapshot = baseline.snapshot
    data = server_of(dd_world).data
    section = snapshot.sections["datadog"]
    by_name = {a.name: a.id for a in snapshot.accounts}
    for account in data.accounts:
        states = [data.monitor_status(account, m) for m in CATALOG if m.title]
        explicit = [m.status for m in data.section.monitors if m.account == account]
        monitors = section["by_account"].get(account, {}).get("monitors", {})
        assert monitors.get("alert", 0) == (states + explicit).count("Alert"), account
        assert monitors.get("warn", 0) == (states + explicit).count("Warn"), account
    payments_prod = section["by_account"][by_name["payments-prod"]]["monitors"]
    names = [m["name"] for m in payments_prod["names"]]
    assert payments_prod["alert"] >= 1
    assert f"EC2 CPU utilization high on {by_name['payments-prod']}" in names
    search_prod = section["by_account"][by_name["search-prod"]]["monitors"]
    assert {
        "id": 4_000_101,
        "name": "Search p99 latency above SLO",
        "status": "Warn",
    } in search_prod["names"]
    payments_ops = section["by_account"].get(by_name["payments-ops"], {})
    ops_names = [m["name"] for m in payments_ops.get("monitors", {}).get("names", [])]
    assert "Payments ops backlog" not in ops_names


def test_org_costs_one_request_per_metric(
    dd_world: DemoWorld, baseline: Baseline
) -> None:
    snapshot = baseline.snapshot
    server = server_of(dd_world)
    section = snapshot.sections["datadog"]
    assert len(server.data.accounts) > len(QUERIED)
    assert baseline.requests == {"QueryMetrics": len(QUERIED), "ListMonitors": 1}
    assert section["requests"] == baseline.requests


def test_alerting_monitors_are_warnings(
    dd_world: DemoWorld, baseline: Baseline
) -> None:
    snapshot = baseline.snapshot
    alerts = [
        a
        for a in evaluate(snapshot, demo_config(dd_world)).alerts
        if a.rule == "datadog-monitors"
    ]
    payments_prod = snapshot.account("payments-prod")
    assert payments_prod is not None
    assert {a.severity for a in alerts} == {Severity.WARNING}
    mine = [a for a in alerts if a.account_id == payments_prod.id]
    assert len(mine) == 1
    assert "in payments-prod" in mine[0].summary
    assert "EC2 CPU utilization high" in mine[0].summary


def test_document_has_series_and_counts(
    dd_world: DemoWorld, baseline: Baseline
) -> None:
    snapshot = baseline.snapshot
    document = snapshot.to_document()
    account = next(
        a["id"] for a in document["accounts"] if a["name"] == "payments-prod"
    )
    entry = document["datadog"]["by_account"][account]
    assert entry["monitors"]["alert"] >= 1
    assert entry["metrics"]["ec2-cpu"]["latest"] > 80
    assert document["datadog"]["monitors"]["alert"] >= 1


async def test_missing_key_is_not_configured(dd_world: DemoWorld) -> None:
    snapshot = await collect(dd_world, api_key="", app_key="")
    states = [s for s in snapshot.states if s.collector == "datadog"]
    assert snapshot.errors == []
    assert [s.state for s in states] == [State.NOT_CONFIGURED]
    assert "DD_API_KEY" in states[0].detail
    assert "datadog" not in snapshot.sections
    assert dict(server_of(dd_world).requests) == {}


async def test_missing_app_key_names_it(dd_world: DemoWorld) -> None:
    snapshot = await collect(dd_world, app_key="")
    states = [s for s in snapshot.states if s.collector == "datadog"]
    assert [s.state for s in states] == [State.NOT_CONFIGURED]
    assert "DD_APP_KEY" in states[0].detail


async def test_wrong_app_key_hint(dd_world: DemoWorld) -> None:
    snapshot = await collect(dd_world, app_key="f" * 40, app_key_source="DD_APP_KEY")
    errors = datadog_errors(snapshot)
    assert len(errors) == 1
    assert errors[0].kind is ErrorKind.ACCESS_DENIED
    assert "accepted the API key" in errors[0].message
    assert "application key from DD_APP_KEY" in errors[0].message
    assert "permission" in errors[0].message
    assert server_of(dd_world).requests["Validate"] == 1


async def test_wrong_api_key_hint_names_site(dd_world: DemoWorld) -> None:
    snapshot = await collect(
        dd_world, api_key="f" * 32, api_key_source="DD_API_KEY", site="datadoghq.eu"
    )
    errors = datadog_errors(snapshot)
    assert len(errors) == 1
    assert errors[0].kind is ErrorKind.ACCESS_DENIED
    assert "rejected the API key from DD_API_KEY" in errors[0].message
    assert "site datadoghq.eu" in errors[0].message
    assert "DD_SITE" in errors[0].message


async def test_forbidden_monitors_blame_app_key(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="monitor", status=403)
    snapshot = await collect(dd_world)
    errors = datadog_errors(snapshot)
    assert [e.operation for e in errors] == ["ListMonitors"]
    assert "monitors_read" in errors[0].message


async def test_html_error_page_is_handled(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="query", status=502, body="html")
    snapshot = await collect(dd_world, FakeClock())
    errors = datadog_errors(snapshot)
    assert len(errors) == 1
    assert errors[0].kind is ErrorKind.UNEXPECTED
    assert errors[0].operation == "QueryMetrics"
    assert "HTML page" in errors[0].message
    assert "502 Bad Gateway" in errors[0].message


async def test_html_page_with_status_200(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="monitor", status=200, body="html")
    snapshot = await collect(dd_world)
    errors = datadog_errors(snapshot)
    assert len(errors) == 1
    assert errors[0].kind is ErrorKind.UNEXPECTED
    assert "not the JSON the API documents" in errors[0].message
    assert "captive portal" in errors[0].message


async def test_server_error_is_retried(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="monitor", status=503, times=2)
    clock = FakeClock()
    snapshot = await collect(dd_world, clock)
    served = [
        s.status for s in server_of(dd_world).served if s.operation == "ListMonitors"
    ]
    assert snapshot.errors == []
    assert served == [503, 503, 200]
    assert clock.sleeps == [1.0, 2.0]
    assert snapshot.sections["datadog"]["monitors"]["status"] == "ok"


async def test_slow_answer_times_out(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="monitor", latency_ms=2000)
    snapshot = await collect(dd_world, request_timeout_seconds=0.3)
    errors = datadog_errors(snapshot)
    assert [e.kind for e in errors] == [ErrorKind.TIMEOUT]


async def test_failed_refresh_keeps_earlier_data(
    dd_world: DemoWorld, baseline: Baseline
) -> None:
    first = baseline.snapshot
    second = await collect(dd_world, previous=first, app_key="f" * 40)
    section = second.sections["datadog"]
    assert datadog_errors(second)
    assert section["stale"] is True
    assert section["by_account"] == first.sections["datadog"]["by_account"]
