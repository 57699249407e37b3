"""Proof from the calls actually made that a refresh only reads."""

from __future__ import annotations

from typing import Any

import pytest

from collectors import registry
from collectors.demo.server import DemoWorld
from collectors.refresh import Refresher
from collectors.registry import Collector, Scope, TaskContext
from tests.conftest import make_refresher

READ_PREFIXES = ("Get", "List", "Describe")
STS_CREDENTIAL_CALLS = {"AssumeRole", "GetSessionToken", "GetCallerIdentity"}


def writes_in(counts: dict[str, int]) -> list[str]:
    found = []
    for name in counts:
        service, operation = name.split(".", 1)
        if service == "sts" and operation in STS_CREDENTIAL_CALLS:
            continue
        if not operation.startswith(READ_PREFIXES):
            found.append(name)
    return found


async def refresh_counts(world: DemoWorld, refresher: Refresher) -> dict[str, int]:
    before = world.counts()
    try:
        await refresher.run(force=True)
    finally:
        await refresher.factory.close()
    after = world.counts()
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}


# Datadog is classified by endpoint, since a read can be a POST there
# (timeseries queries); these are the ones orgtop may call, all GET reads.
DATADOG_READS = {"QueryMetrics", "ListMonitors", "Validate"}


async def test_full_refresh_only_reads(world: DemoWorld) -> None:
    counts = await refresh_counts(world, make_refresher(world))
    assert counts
    assert writes_in(counts) == []


async def test_datadog_calls_are_reads(world: DemoWorld) -> None:
    datadog = world.extra["datadog"]
    await refresh_counts(world, make_refresher(world))
    called = set(datadog.requests)
    statuses = {served.status for served in datadog.served}
    assert "QueryMetrics" in called
    assert called <= DATADOG_READS
    assert 405 not in statuses


class PlantedWrite(Collector):
    name = "planted-write"
    scope = Scope.ACCOUNT

    async def collect(self, context: TaskContext) -> Any:
        cloudwatch = await context.client("cloudwatch")
        await context.call(
            cloudwatch, "put_metric_data", Namespace="Planted",
            MetricData=[{"MetricName": "x", "Value": 1.0}],
        )
        return {}


async def test_planted_write_is_caught(world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    refresher = make_refresher(world)
    monkeypatch.setattr(refresher, "collectors", [*refresher.collectors, PlantedWrite()])
    counts = await refresh_counts(world, refresher)
    assert writes_in(counts) == ["cloudwatch.PutMetricData"]
    assert registry  # the planted collector never entered the real registry
    assert "planted-write" not in [c.name for c in registry.collectors()]
