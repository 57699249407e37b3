"""Processes and measurements for the fan-out benchmark.

The replay server (demo world plus :class:`~bench.replay.ReplayProxy`) and
every measured client run in processes of their own, so a client's CPU time
and peak memory are its own and nothing else's. A client builds its
refresher through the same :class:`~tui.runtime.Runtime` as the command line,
pointed at the replay server instead of an in-process demo world.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import botocore

from bench.replay import ServedWorld, serve
from collectors.clients import REQUEST_CREDENTIALS, SHARED_KEY
from collectors.refresh import Refresher
from collectors.snapshot import Snapshot
from tui.runtime import Options, Runtime

MFA_CODE = "123456"
"""The demo world accepts any six digits."""

SERVER_START_SECONDS = 300.0
CLIENT_SECONDS = 900.0
STOP_SECONDS = 30.0

_spawn = multiprocessing.get_context("spawn")


@dataclass
class Measurement:
    """Requests, time, CPU and memory of one measured client run."""

    label: str
    accounts: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    client_counts: dict[str, int]
    server_counts: dict[str, int]
    errors: int = 0
    """Error records of the refresh (failures, not expected states)."""
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    error_responses: int = 0
    """AWS error responses the sequential loop received and moved past."""
    rate_limit_waits: int = 0
    rate_limited: dict[str, int] = field(default_factory=dict)
    """Calls the per-operation rate limits delayed, by ``service.Operation``."""
    rate_limited_until: dict[str, float] = field(default_factory=dict)
    """Seconds into the refresh when each operation's last delayed call went."""
    fan_out_started: float = 0.0
    """Seconds into the refresh when the tasks started (inventory and planning done)."""
    calls: list[RecordedCall] = field(default_factory=list, repr=False)

    @property
    def client_requests(self) -> int:
        """HTTP attempts counted by the client."""
        return sum(self.client_counts.values())

    @property
    def server_requests(self) -> int:
        """Requests the replay server received during the run."""
        return sum(self.server_counts.values())

    @property
    def cpu_ms_per_request(self) -> float:
        """Client CPU time per HTTP attempt, in milliseconds."""
        return 1000 * self.cpu_seconds / max(1, self.client_requests)

    def count_mismatches(self) -> dict[str, tuple[int, int]]:
        """Return ``{operation: (client, server)}`` where the two counts differ.

        Operations are compared by name alone because the client names the
        service by its service id (``cost-explorer``) and the server by its
        endpoint prefix (``ce``).
        """
        client = _by_operation(self.client_counts)
        server = _by_operation(self.server_counts)
        return {
            name: (client[name], server[name])
            for name in sorted(set(client) | set(server))
            if client[name] != server[name]
        }


def _by_operation(counts: dict[str, int]) -> Counter[str]:
    merged: Counter[str] = Counter()
    for key, value in counts.items():
        merged[key.rsplit(".", 1)[-1]] += value
    return merged


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One API call a refresh made, to be made again by the sequential loop.

    ``label`` names the credentials: ``source-base`` (the demo user's keys),
    ``source`` (its MFA session) or the ARN of the role the call ran under.
    """

    label: str
    service: str
    region: str
    method: str
    params: dict[str, Any]


class CallRecorder:
    """Records every API call made through a client factory's clients."""

    def __init__(self) -> None:
        """Start with no calls."""
        self.calls: list[RecordedCall] = []
        self._watched: set[int] = set()

    def install(self, factory: Any) -> None:
        """Wrap ``factory.client`` so every client it returns is watched."""
        original = factory.client

        async def client(
            service: str, region: str, credentials: Any, key: str = ""
        ) -> Any:
            made = await original(service, region, credentials, key)
            if id(made) not in self._watched:
                self._watched.add(id(made))
                label = key.split("@", 1)[0]
                made.meta.events.register(
                    "provide-client-params", partial(self._record, label, made)
                )
            return made

        factory.client = client

    def _record(
        self, label: str, client: Any, params: dict[str, Any], model: Any, **_: Any
    ) -> None:
        if label == SHARED_KEY:
            # A shared client's call signs as the role its task set.
            signing = REQUEST_CREDENTIALS.get()
            label = signing.role if signing is not None else label
        self.calls.append(
            RecordedCall(
                label,
                client.meta.service_model.service_name,
                client.meta.region_name,
                botocore.xform_name(model.name),
                dict(params),
            )
        )


class BenchRuntime(Runtime):
    """The command line's runtime, pointed at a replay server in another process."""

    def __init__(self, served: ServedWorld) -> None:
        """Use the served world's config, keys and endpoint; start nothing."""
        self.served = served
        super().__init__(Options(demo=True, mfa_code=MFA_CODE))

    def _load_config(self) -> Any:
        self.world = self.served
        return self.served.config


@asynccontextmanager
async def bench_refresher(
    served: ServedWorld, recorder: CallRecorder | None = None
) -> AsyncIterator[Refresher]:
    """Build the command line's refresher against ``served``; close it after."""
    runtime = BenchRuntime(served)
    refresher = runtime.build()
    if recorder is not None:
        recorder.install(runtime.factory)
    try:
        yield refresher
    finally:
        await runtime.close()


class WaitTally:
    """Records, per operation, the calls a refresher's rate limiter delayed.

    ``last_release`` is when the last delayed call of each operation was let
    through, in seconds after :meth:`start`: a lower bound the limits set on
    the refresh's wall time.
    """

    def __init__(self, refresher: Refresher) -> None:
        """Wrap ``refresher.limiter.wait``; nothing is recorded before start."""
        self.delayed: Counter[str] = Counter()
        self.last_release: dict[str, float] = {}
        self._started = time.perf_counter()
        self._wait = refresher.limiter.wait
        refresher.limiter.wait = self.wait  # type: ignore[method-assign]

    def start(self) -> None:
        """Forget what was recorded and count time from now."""
        self.delayed.clear()
        self.last_release.clear()
        self._started = time.perf_counter()

    def close(self, refresher: Refresher) -> None:
        """Give ``refresher`` its limiter's own ``wait`` back."""
        refresher.limiter.wait = self._wait  # type: ignore[method-assign]

    async def wait(self, key: str, rate: float) -> None:
        """Wait as the limiter does, recording a delay of more than 1 ms."""
        before = time.perf_counter()
        await self._wait(key, rate)
        after = time.perf_counter()
        if after - before > 0.001:
            operation = key.split("/", 1)[0]
            self.delayed[operation] += 1
            self.last_release[operation] = after - self._started


async def measure_refresh(
    label: str,
    served: ServedWorld,
    refresher: Refresher,
    previous: Snapshot | None = None,
) -> tuple[Measurement, Snapshot]:
    """Run one refresh and measure its wall time, client CPU and peak memory."""
    tally = WaitTally(refresher)
    started = time.perf_counter()
    fan_out_started: list[float] = []

    def progress(done: int, total: int) -> None:
        if not fan_out_started:
            fan_out_started.append(time.perf_counter() - started)

    tally.start()
    cpu_before = time.process_time()
    try:
        snapshot = await refresher.run(previous, progress=progress)
    finally:
        tally.close(refresher)
    cpu = time.process_time() - cpu_before
    stats = snapshot.stats
    measurement = Measurement(
        label,
        served.accounts,
        stats["wall_seconds"],
        cpu,
        peak_rss_mib(),
        dict(stats["requests"]),
        dict(stats.get("server_requests", {})),
        errors=len(snapshot.errors),
        errors_by_kind=dict(stats.get("errors_by_kind", {})),
        rate_limit_waits=sum(tally.delayed.values()),
        rate_limited=dict(tally.delayed),
        rate_limited_until=dict(tally.last_release),
        fan_out_started=fan_out_started[0] if fan_out_started else 0.0,
    )
    return measurement, snapshot


def peak_rss_mib() -> float:
    """Return this process's peak resident set size (``ru_maxrss``) in MiB."""
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ReplayServer:
    """A demo world and its replay proxy in a child process."""

    def __init__(self, accounts: int, latency_ms: float) -> None:
        """Describe the server; nothing runs until the ``with`` block."""
        self.accounts = accounts
        self.latency = latency_ms / 1000
        self._process: Any = None
        self._connection: Connection | None = None

    def __enter__(self) -> ServedWorld:
        """Start the server process and wait until it listens."""
        mine, theirs = _spawn.Pipe()
        self._connection = mine
        self._process = _spawn.Process(
            target=serve, args=(self.accounts, self.latency, theirs), daemon=True
        )
        self._process.start()
        theirs.close()
        try:
            if not mine.poll(SERVER_START_SECONDS):
                raise TimeoutError(
                    f"replay server not ready after {SERVER_START_SECONDS} s"
                )
            served: ServedWorld = mine.recv()
        except BaseException:
            self.__exit__()
            raise
        return served

    def __exit__(self, *_: object) -> None:
        """Ask the server process to stop; terminate it if it does not."""
        if self._connection is not None:
            try:
                self._connection.send("stop")
            except (BrokenPipeError, OSError):
                pass
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(STOP_SECONDS)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(STOP_SECONDS)
            self._process = None


def run_client(
    function: Callable[..., Any], *args: Any, timeout: float = CLIENT_SECONDS
) -> Any:
    """Run ``function(*args)`` in a fresh process and return its result.

    A fresh process per run makes ``ru_maxrss`` the peak of that run alone.
    ``function`` must be importable by name (a module-level function).
    """
    mine, theirs = _spawn.Pipe()
    process = _spawn.Process(
        target=_client_entry, args=(function, args, theirs), daemon=True
    )
    process.start()
    theirs.close()
    try:
        if not mine.poll(timeout):
            raise TimeoutError(f"{function.__name__} did not finish within {timeout} s")
        status, value = mine.recv()
    finally:
        mine.close()
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.terminate()
            process.join(STOP_SECONDS)
    if status != "ok":
        raise RuntimeError(f"{function.__name__} failed in its process:\n{value}")
    return value


def _client_entry(
    function: Callable[..., Any], args: tuple[Any, ...], connection: Connection
) -> None:
    try:
        result = function(*args)
    except BaseException:  # noqa: BLE001 - the parent shows the traceback
        connection.send(("error", traceback.format_exc()))
    else:
        connection.send(("ok", result))
    finally:
        connection.close()


def run_async(coroutine_function: Callable[..., Any], *args: Any) -> Any:
    """Run an async scenario in this (client) process's own event loop."""
    return asyncio.run(coroutine_function(*args))
