"""HTTP 429 from the local Datadog API: wait for the reset the server sent, or give up.

The server keeps a limit closed until its own clock passes the reset it sent,
so a client that retried early would get 429 again; the server's
request log, not the client's account of itself, shows how long it waited.
"""

from __future__ import annotations

from collectors.check import evaluate
from collectors.demo.server import DemoWorld
from collectors.model import Severity
from tests.collectors import test_datadog
from tests.collectors.test_datadog import FakeClock, add_fault, collect, server_of
from tests.conftest import demo_config

shared_world = test_datadog.shared_world
dd_world = test_datadog.dd_world
baseline = test_datadog.baseline


async def test_waits_for_server_reset(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="query", status=429, reset_seconds=1, times=1)
    snapshot = await collect(dd_world)
    section = snapshot.sections["datadog"]
    served = [s for s in server_of(dd_world).served if s.operation == "QueryMetrics"]
    limited = [s for s in served if s.status == 429]
    assert snapshot.errors == []
    assert limited
    for answer in limited:
        retry = next(s for s in served if s.query == answer.query and s.at > answer.at)
        assert retry.status == 200
        assert answer.reset is not None
        assert retry.at - answer.at >= answer.reset
    assert sorted(w["reset_seconds"] for w in section["rate_limit"]["waits"]) == sorted(
        float(s.reset or 0) for s in limited
    )
    assert {m["status"] for m in section["metrics"]} == {"ok"}
    assert section["status"] == "ok"


async def test_injected_clock_waits_exact_reset(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="monitor", status=429, reset_seconds=40, times=1)
    clock = FakeClock()
    snapshot = await collect(dd_world, clock, max_wait_seconds=60)
    served = [s for s in server_of(dd_world).served if s.operation == "ListMonitors"]
    waits = snapshot.sections["datadog"]["rate_limit"]["waits"]
    assert [s.status for s in served] == [429, 200]
    assert served[0].reset == 40
    assert served[1].at - served[0].at == 40
    assert clock.sleeps == [40.0]
    assert [(w["operation"], w["reset_seconds"], w["name"]) for w in waits] == [
        ("ListMonitors", 40.0, "monitor")
    ]
    assert snapshot.sections["datadog"]["monitors"]["status"] == "ok"


async def test_reset_past_budget_is_rate_limited(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="*", status=429, reset_seconds=3600)
    clock = FakeClock()
    snapshot = await collect(dd_world, clock, max_wait_seconds=30)
    section = snapshot.sections["datadog"]
    assert clock.sleeps == []
    assert snapshot.errors == []
    assert section["status"] == "rate-limited"
    assert {m["status"] for m in section["metrics"]} == {"rate-limited"}
    assert section["monitors"]["status"] == "rate-limited"
    assert len(section["rate_limit"]["limited"]) == 7


async def test_rate_limited_check_is_unknown(dd_world: DemoWorld) -> None:
    add_fault(dd_world, endpoint="monitor", status=429, reset_seconds=3600)
    snapshot = await collect(dd_world, FakeClock())
    alerts = evaluate(snapshot, demo_config(dd_world)).alerts
    limited = [a for a in alerts if a.rule == "datadog-rate-limited"]
    assert len(limited) == 1
    assert limited[0].severity is Severity.UNKNOWN
    assert "3600 s" in limited[0].summary


async def test_rate_limited_keeps_earlier_values(
    dd_world: DemoWorld, baseline: test_datadog.Baseline
) -> None:
    first = baseline.snapshot
    add_fault(dd_world, endpoint="*", status=429, reset_seconds=3600)
    second = await collect(dd_world, FakeClock(), previous=first)
    before, after = first.sections["datadog"], second.sections["datadog"]
    assert after["status"] == "rate-limited"
    assert all(m["stale"] for m in after["metrics"])
    assert [m["times"] for m in after["metrics"]] == [
        m["times"] for m in before["metrics"]
    ]
    assert after["by_account"] == before["by_account"]
    assert after["monitors"]["stale"] is True
    assert after["monitors"]["alert"] == before["monitors"]["alert"]


async def test_spent_limit_stops_further_queries(dd_world: DemoWorld) -> None:
    server_of(dd_world).windows["query"].limit = 3
    snapshot = await collect(dd_world, max_wait_seconds=0)
    section = snapshot.sections["datadog"]
    statuses = [m["status"] for m in section["metrics"]]
    assert statuses.count("ok") == 3
    assert statuses.count("rate-limited") == 3
    assert section["rate_limit"]["limits"]["query"]["limit"] == 3
