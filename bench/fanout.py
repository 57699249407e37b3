"""Measure orgtop's fan-out, not the emulator's: ``python -m bench.fanout``.

For each organization size the benchmark starts a generated demo world with
a replay proxy in a process of its own (see :mod:`bench.replay`). Each
measured scenario then runs in a fresh client process, using the command
line's refresher with every registered collector against the replay server,
which adds a fixed latency to every request. At the baseline size a plain
sequential boto3 loop also makes the refresh's calls again against the same
server. The report prints each figure beside its target.

Run it from the repository root; docs/benchmarks.md records a run.

Adding a scenario: write a module-level function ``name(served) ->
Measurement`` that runs in the client process (see :func:`first_refresh`)
and add it to :data:`SCENARIOS`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    CallRecorder,
    Measurement,
    ReplayServer,
    bench_refresher,
    measure_refresh,
    run_async,
    run_client,
)
from bench.replay import ServedWorld
from bench.sequential import SEQUENTIAL_LOOP, sequential_loop

CPU_MS_PER_REQUEST_TARGET = 5.0
SPEED_UP_TARGET = 10.0
PEAK_MIB_TARGET = 300.0
PEAK_TARGET_ACCOUNTS = 1000
FIRST_REFRESH = "first refresh"
UNLIMITED_REFRESH = "first refresh, rate limits off"


async def _first_refresh(
    served: ServedWorld, label: str, record: bool, profile: str, rate_limits: bool
) -> Measurement:
    recorder = CallRecorder() if record else None
    async with bench_refresher(served, recorder) as refresher:
        if not rate_limits:
            refresher.rate_limits = {key: 0.0 for key in refresher.rate_limits}
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        measurement, _ = await measure_refresh(label, served, refresher)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    if recorder is not None:
        measurement.calls = recorder.calls
    return measurement


def first_refresh(
    served: ServedWorld, record: bool = False, profile: str = ""
) -> Measurement:
    """Measure a first refresh: new role sessions, new clients, full inventory.

    ``record`` keeps the calls made (for the sequential loop); ``profile``
    names a file for cProfile statistics of the refresh.
    """
    return run_async(_first_refresh, served, FIRST_REFRESH, record, profile, True)


def first_refresh_unlimited(served: ServedWorld) -> Measurement:
    """Measure a first refresh with every per-operation rate limit turned off.

    It shows how much of the first refresh's wall time the rate limits take
    (the inventory's Organizations calls share one limit per operation).
    """
    return run_async(_first_refresh, served, UNLIMITED_REFRESH, False, "", False)


Scenario = Callable[[ServedWorld], Measurement]
SCENARIOS: list[Scenario] = []
"""Scenarios measured after the first refresh at every size, each in its own process."""


# Steady state --------------------------------------------------------------
# A refresh right after a first one in the same process: role sessions and
# clients are reused, and quota values (and every other collector's cached
# data) come from the previous snapshot, so only usage is read again.

STEADY_REFRESH = "steady refresh, sessions and quota values cached"
STEADY_SECONDS_TARGET = 30.0
STEADY_TARGET_ACCOUNTS = 1000


async def _steady_refresh(served: ServedWorld) -> Measurement:
    async with bench_refresher(served) as refresher:
        _, warm = await measure_refresh("warm-up", served, refresher)
        measurement, _ = await measure_refresh(STEADY_REFRESH, served, refresher, warm)
    return measurement


def steady_refresh(served: ServedWorld) -> Measurement:
    """Measure the second of two refreshes in one process."""
    return run_async(_steady_refresh, served)


def steady_verdicts(result: SizeResult) -> list[Verdict]:
    """Compare a steady refresh with its targets.

    Targets: at most 1 + regions requests per account, and under 30 s at
    1,000 accounts. Requests are those the server received. The client's
    attempts can be a few more, because a request sent on a connection the
    server had already closed is retried without reaching it. Requests made
    once per refresh, not per account (the source identity's
    ``GetCallerIdentity`` and the inventory's Organizations pages), are
    counted apart and shown in the reason.
    """
    steady = result.find(STEADY_REFRESH)
    if steady is None:
        return []
    per_refresh = 1 + sum(
        count
        for name, count in steady.server_counts.items()
        if name.startswith("organizations.")
    )
    accounts = max(1, steady.accounts)
    per_account = (steady.server_requests - per_refresh) / accounts
    limit = 1 + result.regions
    by_operation = ", ".join(
        f"{k} {v}" for k, v in sorted(steady.server_counts.items())
    )
    found = [
        Verdict(
            f"steady requests per account, {result.accounts} accounts",
            f"{per_account:.2f}",
            f"<= {limit}",
            per_account <= limit,
            f"{per_refresh} more once per refresh; the client made "
            f"{steady.client_requests} attempts for the server's "
            f"{steady.server_requests} requests; by operation: {by_operation}",
        )
    ]
    if result.requested == STEADY_TARGET_ACCOUNTS:
        found.append(
            Verdict(
                f"steady refresh wall time, {result.accounts} accounts",
                f"{steady.wall_seconds:.1f} s",
                f"< {STEADY_SECONDS_TARGET:g} s",
                steady.wall_seconds < STEADY_SECONDS_TARGET,
                f"the client was busy {steady.cpu_seconds:.1f} s of it "
                f"({steady.cpu_seconds / steady.wall_seconds:.0%})",
            )
        )
    return found


SCENARIOS.append(steady_refresh)
# End of the steady-state section --------------------------------------------


@dataclass
class Settings:
    """Sizes, latency and options of one benchmark run."""

    sizes: Sequence[int] = (200, 1000)
    latency_ms: float = 50.0
    baseline_at: int = 200
    profile_dir: Path | None = None


@dataclass
class SizeResult:
    """The measurements of one organization size."""

    requested: int
    accounts: int
    regions: int
    measured: list[Measurement]

    def find(self, label: str) -> Measurement | None:
        """Return the measurement with this label, if it was taken."""
        return next((m for m in self.measured if m.label == label), None)


def bench_size(accounts: int, settings: Settings) -> SizeResult:
    """Serve one organization size and run every scenario against it."""
    baseline = accounts == settings.baseline_at
    profile = ""
    if settings.profile_dir is not None:
        profile = str(settings.profile_dir / f"first-refresh-{accounts}.pstats")
    with ReplayServer(accounts, settings.latency_ms) as served:
        first = run_client(first_refresh, served, baseline, profile)
        measured = [first]
        if baseline:
            measured.append(run_client(sequential_loop, served, first.calls))
            first.calls = []
            measured.append(run_client(first_refresh_unlimited, served))
        for scenario in SCENARIOS:
            measured.append(run_client(scenario, served))
    return SizeResult(accounts, served.accounts, len(served.regions), measured)


def describe(measurement: Measurement) -> list[str]:
    """Format one measurement as indented report lines."""
    agree = "agree" if not measurement.count_mismatches() else "DISAGREE"
    per_account = measurement.client_requests / max(1, measurement.accounts)
    lines = [
        f"  {measurement.label}",
        f"    wall time              {measurement.wall_seconds:8.2f} s",
        f"    requests               {measurement.client_requests:8d}"
        f"   (server counted {measurement.server_requests}: {agree})",
        f"    requests per account   {per_account:8.2f}",
        f"    client CPU per request {measurement.cpu_ms_per_request:8.2f} ms"
        f"   ({measurement.cpu_seconds:.2f} s in all)",
        f"    peak memory            {measurement.peak_rss_mib:8.1f} MiB (ru_maxrss)",
    ]
    if measurement.fan_out_started:
        lines.append(
            f"    tasks started after    {measurement.fan_out_started:8.2f} s"
            "   (inventory and planning)"
        )
    if measurement.rate_limit_waits:
        lines.append(
            f"    rate-limited calls     {measurement.rate_limit_waits:8d}"
            f"   ({slowest_limits(measurement)})"
        )
    if measurement.error_responses:
        lines.append(f"    AWS error responses    {measurement.error_responses:8d}")
    if measurement.errors:
        kinds = ", ".join(f"{k} {v}" for k, v in measurement.errors_by_kind.items())
        lines.append(f"    errors                 {measurement.errors:8d}   ({kinds})")
    for name, (client, server) in measurement.count_mismatches().items():
        lines.append(f"    MISMATCH {name}: client {client}, server {server}")
    return lines


def slowest_limits(measurement: Measurement, count: int = 2) -> str:
    """Name the rate-limited operations whose last delayed call went latest."""
    latest = sorted(measurement.rate_limited_until.items(), key=lambda item: -item[1])[
        :count
    ]
    return ", ".join(
        f"{name} {measurement.rate_limited[name]} until {until:.1f} s"
        for name, until in latest
    )


@dataclass
class Verdict:
    """One figure beside its target, with the reason when it is missed."""

    figure: str
    value: str
    target: str
    met: bool
    reason: str = ""

    def line(self) -> str:
        """Format the verdict as one report line."""
        status = "met" if self.met else "MISSED"
        return (
            f"  {self.figure:<46} {self.value:>9}   target {self.target:<10} {status}"
        )


def verdicts(results: Sequence[SizeResult]) -> list[Verdict]:
    """Compare the measurements with the targets."""
    found = []
    for result in results:
        first = result.find(FIRST_REFRESH)
        assert first is not None
        found.append(
            Verdict(
                f"client CPU per request, {result.accounts} accounts",
                f"{first.cpu_ms_per_request:.2f} ms",
                f"<= {CPU_MS_PER_REQUEST_TARGET:g} ms",
                first.cpu_ms_per_request <= CPU_MS_PER_REQUEST_TARGET,
            )
        )
        found.extend(steady_verdicts(result))
        loop = result.find(SEQUENTIAL_LOOP)
        if loop is not None:
            found.append(speed_up_verdict(result, first, loop))
        if result.requested == PEAK_TARGET_ACCOUNTS:
            found.append(
                Verdict(
                    f"peak memory, {result.accounts} accounts",
                    f"{first.peak_rss_mib:.0f} MiB",
                    f"< {PEAK_MIB_TARGET:g} MiB",
                    first.peak_rss_mib < PEAK_MIB_TARGET,
                )
            )
    return found


def speed_up_verdict(
    result: SizeResult, first: Measurement, loop: Measurement
) -> Verdict:
    """Compare the first refresh's wall time with the sequential loop's."""
    speed_up = loop.wall_seconds / first.wall_seconds
    verdict = Verdict(
        f"speed-up over the sequential loop, {result.accounts} accounts",
        f"{speed_up:.1f}x",
        f">= {SPEED_UP_TARGET:g}x",
        speed_up >= SPEED_UP_TARGET,
    )
    unlimited = result.find(UNLIMITED_REFRESH)
    busy = first.cpu_seconds / first.wall_seconds
    verdict.reason = (
        f"the client was busy {busy:.0%} of the wall time, so CPU is not the limit"
        if busy < 0.8
        else f"the client was busy {busy:.0%} of the wall time: CPU is the limit"
    )
    if first.rate_limit_waits:
        verdict.reason += (
            f"; the per-operation rate limits delayed {first.rate_limit_waits} calls "
            f"({slowest_limits(first)})"
        )
    if unlimited is not None:
        verdict.reason += (
            f"; with the limits off the same refresh took "
            f"{unlimited.wall_seconds:.1f} s "
            f"({loop.wall_seconds / unlimited.wall_seconds:.1f}x the loop)"
        )
    return verdict


def header(settings: Settings) -> list[str]:
    """Describe the machine and the set-up the figures come from."""
    from collectors import registry

    names = ", ".join(collector.name for collector in registry.collectors())
    lines = [
        "orgtop fan-out benchmark",
        f"  machine:  {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        f"  server:   demo world behind a replay proxy in its own process, "
        f"{settings.latency_ms:g} ms added per request",
        f"  client:   the command line's refresher, collectors: {names}",
        f"  command:  {' '.join(['python -m bench.fanout', *sys.argv[1:]])}",
    ]
    if settings.profile_dir is not None:
        lines.append(
            "  profiling: cProfile runs during each first refresh and about doubles "
            "its CPU time, so its figures are not comparable"
        )
    return lines


def report(result: SizeResult) -> list[str]:
    """Format the measurements of one size."""
    lines = [
        "",
        f"{result.requested} accounts requested: {result.accounts} generated, "
        f"{result.regions} regions",
    ]
    for measurement in result.measured:
        lines.extend(describe(measurement))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; exit 1 when a check fails."""
    settings = parse_args(argv)
    print("\n".join(header(settings)), flush=True)
    results = []
    for size in settings.sizes:
        result = bench_size(size, settings)
        results.append(result)
        print("\n".join(report(result)), flush=True)
    found = verdicts(results)
    print("\nTargets")
    print("\n".join(verdict.line() for verdict in found))
    for verdict in found:
        if not verdict.met:
            print(
                f"MISSED: {verdict.figure} is {verdict.value}, the target is "
                f"{verdict.target}" + (f"; {verdict.reason}" if verdict.reason else "")
            )
    disagree = [m for r in results for m in r.measured if m.count_mismatches()]
    if disagree:
        print(
            "Client and server request counts DISAGREE, so the figures are not valid."
        )
    missed = [verdict for verdict in found if not verdict.met]
    return 1 if missed or disagree else 0


def parse_args(argv: Sequence[str] | None) -> Settings:
    """Read the command line into :class:`Settings`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--accounts",
        type=int,
        nargs="+",
        default=[200, 1000],
        help="organization sizes to measure (default: 200 1000)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=50.0,
        help="latency the server adds to every request, in milliseconds (default: 50)",
    )
    parser.add_argument(
        "--baseline-at",
        type=int,
        default=200,
        help="size at which the sequential boto3 loop also runs; 0 skips it "
        "(default: 200)",
    )
    parser.add_argument(
        "--profile-dir",
        type=Path,
        help="write cProfile statistics of each first refresh to this directory",
    )
    args = parser.parse_args(argv)
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    return Settings(args.accounts, args.latency_ms, args.baseline_at, args.profile_dir)


if __name__ == "__main__":
    sys.exit(main())
