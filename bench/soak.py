"""Run many refreshes in a row and watch for leaks: ``python -m bench.soak``.

A generated demo world with faults (10 % of requests throttled, plus the
denied, suspended and region-disabled accounts of :mod:`bench.faults`) runs
in a process of its own, so this process's memory is the client's alone and
does not include moto's. This process builds the command line's refresher
(:class:`~bench.harness.BenchRuntime`, default config) and runs consecutive
refreshes, each given the previous snapshot as the dashboard does. After
each refresh it prints the asyncio task count, the open AWS clients, the
resident set size (from ``/proc/self/statm``) and the wall time. At the end
it compares the last refresh with the first against the targets: no growth
in tasks or clients, and memory growth under 10 %.

The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from bench.faults import FaultPlan, faulty_scenario, machine_line
from bench.harness import SERVER_START_SECONDS, BenchRuntime, ReplayServer
from bench.replay import ServedWorld
from collectors.snapshot import Snapshot

THROTTLE_RATE = 0.1
MEMORY_GROWTH_TARGET = 0.10
DEFAULT_REFRESHES = 20
DEFAULT_ACCOUNTS = 300

_spawn = multiprocessing.get_context("spawn")


@dataclass(frozen=True, slots=True)
class Sample:
    """Figures sampled in this process right after one refresh."""

    refresh: int
    tasks: int
    open_clients: int
    rss_mib: float
    wall_seconds: float
    requests: int
    retries: int
    errors: int


class FaultyWorld(ServedWorld):
    """Endpoint, keys and config of a demo world with faults in another process."""

    def counts(self) -> dict[str, int]:
        """Return no server counts: the soak compares the client with itself.

        The demo world's own counters live in the server process, which has
        no endpoint that serves them.
        """
        return {}


class WorldServer(ReplayServer):
    """A demo world of :func:`~bench.faults.faulty_scenario` in a child process.

    It is stopped as :class:`~bench.harness.ReplayServer` stops its process,
    but serves the demo world directly, without a replay proxy, because the
    faults must hit the accounts they name.
    """

    def __init__(self, accounts: int, throttle_rate: float) -> None:
        """Describe the server; nothing runs until the ``with`` block."""
        super().__init__(accounts, latency_ms=0)
        self.throttle_rate = throttle_rate

    def __enter__(self) -> tuple[FaultyWorld, FaultPlan]:  # type: ignore[override]
        """Start the server process and wait until it listens."""
        mine, theirs = _spawn.Pipe()
        self._connection = mine
        self._process = _spawn.Process(
            target=serve_world,
            args=(self.accounts, self.throttle_rate, theirs),
            daemon=True,
        )
        self._process.start()
        theirs.close()
        try:
            if not mine.poll(SERVER_START_SECONDS):
                raise TimeoutError(
                    f"demo world not ready after {SERVER_START_SECONDS} s"
                )
            served: tuple[FaultyWorld, FaultPlan] = mine.recv()
        except BaseException:
            self.__exit__()
            raise
        return served


def serve_world(accounts: int, throttle_rate: float, connection: Connection) -> None:
    """Serve a demo world with faults until ``connection`` sends stop.

    This is the entry point of the server process. It sends one
    ``(FaultyWorld, FaultPlan)`` pair, then waits for any message (or the
    other end closing) and stops the world.
    """
    from collectors.config import parse_config
    from collectors.demo.server import DemoWorld
    from collectors.tomlcheck import Table

    scenario, plan = faulty_scenario(accounts, throttle_rate)
    world = DemoWorld(scenario).start()
    try:
        config = parse_config(Table({}, "<benchmark defaults>", ""), None)
        world.configure(config)
        served = FaultyWorld(
            world.endpoint,
            config,
            world.user_credentials,
            world.mfa_serial,
            len(scenario.accounts),
            tuple(scenario.regions),
        )
        connection.send((served, plan))
        try:
            connection.recv()
        except EOFError:
            pass
    finally:
        world.stop()


def rss_mib() -> float:
    """Return this process's resident set size now, from ``/proc/self/statm``."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def soak(served: FaultyWorld, refreshes: int) -> list[Sample]:
    """Run ``refreshes`` refreshes in a row and sample after each one."""
    runtime = BenchRuntime(served)
    refresher = runtime.build()
    samples: list[Sample] = []
    previous: Snapshot | None = None
    try:
        for number in range(1, refreshes + 1):
            started = time.perf_counter()
            previous = await refresher.run(previous)
            wall = time.perf_counter() - started
            sample = Sample(
                number,
                len(asyncio.all_tasks()),
                refresher.factory.open_clients,
                rss_mib(),
                wall,
                previous.stats["requests_total"],
                previous.stats["retries"],
                len(previous.errors),
            )
            samples.append(sample)
            print(
                f"  {sample.refresh:>7}  {sample.tasks:>5}  {sample.open_clients:>7}  "
                f"{sample.rss_mib:>8.1f}  {sample.wall_seconds:>6.1f}  "
                f"{sample.requests:>8}  {sample.retries:>7}  {sample.errors:>6}",
                flush=True,
            )
    finally:
        await runtime.close()
    return samples


def growth_lines(samples: list[Sample]) -> tuple[list[str], bool]:
    """Compare the last sample with the first; return the lines and whether all pass."""
    first, last = samples[0], samples[-1]
    tasks = last.tasks - first.tasks
    clients = last.open_clients - first.open_clients
    memory = (last.rss_mib - first.rss_mib) / first.rss_mib
    peak = max(sample.rss_mib for sample in samples)
    checks = [
        ("asyncio tasks", f"{tasks:+d}", "no growth", tasks <= 0),
        ("open clients", f"{clients:+d}", "no growth", clients <= 0),
        (
            "resident memory",
            f"{memory:+.1%} ({first.rss_mib:.1f} -> {last.rss_mib:.1f} MiB, "
            f"peak {peak:.1f} MiB)",
            f"< +{MEMORY_GROWTH_TARGET:.0%}",
            memory < MEMORY_GROWTH_TARGET,
        ),
    ]
    # Not a target: shows whether memory still grows once the caches are warm.
    middle = samples[len(samples) // 2]
    late = (last.rss_mib - middle.rss_mib) / middle.rss_mib
    lines = [
        f"growth from refresh 1 to refresh {last.refresh}:",
        *(
            f"  {name:<16} {value:<48} target {target:<10} "
            f"{'ok' if passed else 'MISSED'}"
            for name, value, target, passed in checks
        ),
        f"  (for comparison, resident memory from refresh {middle.refresh} to "
        f"{last.refresh}: {late:+.1%})",
    ]
    return lines, all(passed for *_, passed in checks)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the refreshes and print the samples and growth."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument(
        "--refreshes",
        type=int,
        default=DEFAULT_REFRESHES,
        help=f"refreshes to run in a row (default {DEFAULT_REFRESHES})",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=DEFAULT_ACCOUNTS,
        help=f"accounts to generate (default {DEFAULT_ACCOUNTS})",
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=THROTTLE_RATE,
        help="share of all requests failed with ThrottlingException (default 0.1)",
    )
    options = parser.parse_args(argv)
    if options.refreshes < 2:
        parser.error("--refreshes must be at least 2 to measure growth")

    print("orgtop soak benchmark")
    print(f"  machine:  {machine_line()}")
    print(f"  command:  python -m bench.soak {' '.join(sys.argv[1:])}".rstrip())
    started = time.perf_counter()
    with WorldServer(options.accounts, options.throttle_rate) as (served, plan):
        print(
            f"  world:    {served.accounts} accounts, {len(served.regions)} regions, "
            "demo world in its own process (memory below is the client's alone)"
        )
        print(
            f"  faults:   {options.throttle_rate:.0%} of all requests throttled; "
            f"AssumeRole denied in {len(plan.denied)} accounts; "
            f"{len(plan.suspended)} suspended; {plan.disabled_region} not enabled "
            f"in {len(plan.region_disabled)} accounts"
        )
        print(
            "  client:   the command line's refresher, every collector, default config"
        )
        print()
        print("  refresh  tasks  clients  RSS MiB  wall s  requests  retries  errors")
        samples = asyncio.run(soak(served, options.refreshes))
    print()
    lines, passed = growth_lines(samples)
    print("\n".join(lines))
    print(f"total time {time.perf_counter() - started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
