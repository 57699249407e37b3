"""Fan-out: progress, timeouts, rate limits, generations and the client factory."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

import pytest

from collectors import fanout
from collectors.clients import ClientFactory, ClientSettings, shared_ssl_context
from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.fanout import Job, RateLimiter, run_jobs
from collectors.model import ErrorKind
from tests.conftest import SMALL, demo_config, make_refresher


async def test_progress_reaches_total() -> None:
    seen: list[tuple[int, int]] = []

    async def work() -> int:
        await asyncio.sleep(0)
        return 1

    jobs = [Job("test", str(n), "", work) for n in range(7)]
    outcomes = await run_jobs(jobs, concurrency=3, timeout=5, progress=lambda d, t: seen.append((d, t)))
    assert [o.data for o in outcomes] == [1] * 7
    assert seen[0] == (0, 7)
    assert seen[-1] == (7, 7)


async def test_concurrency_limit_holds() -> None:
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    await run_jobs([Job("t", str(n), "", work) for n in range(20)], concurrency=4, timeout=5)
    assert peak == 4


async def test_exception_becomes_unexpected_record() -> None:
    async def broken() -> None:
        raise ValueError("bad data")

    outcome = (await run_jobs([Job("t", "123", "us-east-1", broken)], concurrency=1, timeout=5))[0]
    assert outcome.error is not None
    assert outcome.error.kind is ErrorKind.UNEXPECTED
    assert outcome.error.account_id == "123"


async def test_failed_job_frees_its_frames() -> None:
    # A failed job's frames hold its context and, through it, the collector's
    # previous section. With the garbage collector off, only reference
    # counting can free them, so a reference cycle through the error fails here.
    class Payload:
        pass

    payloads: list[weakref.ref[Payload]] = []

    async def denied() -> None:
        payload = Payload()
        payloads.append(weakref.ref(payload))
        await asyncio.sleep(0)
        raise ValueError("denied")

    gc.collect()
    gc.disable()
    try:
        outcomes = await run_jobs(
            [Job("t", "123", "", denied)], concurrency=1, timeout=5
        )
        freed = payloads[0]() is None
    finally:
        gc.enable()
    assert outcomes[0].error is not None
    assert freed


async def test_rate_limiter_spaces_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(fanout.asyncio, "sleep", fake_sleep)
    limiter = RateLimiter(clock=lambda: now[0])
    for _ in range(4):
        await limiter.wait("servicequotas.ListServiceQuotas/1/us-east-1", 10.0)
    await limiter.wait("other-key", 10.0)
    assert slept == pytest.approx([0.1, 0.2, 0.3])


async def test_hanging_account_times_out_alone(tmp_path: Path) -> None:
    path = tmp_path / "hang.toml"
    path.write_text(SMALL.read_text() + """
[[fault]]
service = "sts"
operation = "GetCallerIdentity"
account = "search-prod"
hang = true
""")
    with DemoWorld(load_scenario(path)) as world:
        config = demo_config(world)
        config.task_timeout = 1.5
        refresher = make_refresher(world, config)
        try:
            snapshot = await refresher.run(only=["reach"])
        finally:
            await refresher.factory.close()
    errors = [(snapshot.account(e.account_id).name, e.kind) for e in snapshot.errors]
    reached = snapshot.sections["reach"]["by_account"]
    assert errors == [("search-prod", ErrorKind.TIMEOUT)]
    assert len(reached) == sum(a.active for a in snapshot.accounts) - 1


async def test_generation_increases(refresher) -> None:
    first = await refresher.run()
    second = await refresher.run(first)
    assert second.generation == first.generation + 1


async def test_clients_reused_per_service_region(world: DemoWorld) -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    creds = world.user_credentials
    one = await factory.client("sts", "us-east-1", creds, "k")
    two = await factory.client("sts", "us-east-1", creds, "k")
    other = await factory.client("sts", "eu-west-1", creds, "k")
    count = factory.open_clients
    await factory.forget("k")
    remaining = factory.open_clients
    await factory.close()
    assert one is two
    assert other is not one
    assert count == 2
    assert remaining == 0


def test_ssl_context_shared_and_honours_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert shared_ssl_context() is shared_ssl_context()
    shared_ssl_context.cache_clear()
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(FileNotFoundError):
        shared_ssl_context()
    shared_ssl_context.cache_clear()
