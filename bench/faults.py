"""Run one refresh of a demo world full of faults: ``python -m bench.faults``.

The world is a generated organization (300 accounts by default) in which
30 % of all requests are throttled, ``AssumeRole`` is denied in a few
accounts, two accounts are suspended and one region is not enabled in a few
accounts. The refresh runs through the command line's refresher
(:class:`~tui.runtime.Runtime`, default config) with the demo world in this
process, and the report lists what it collected, its errors by kind, the
expected states, the retries and the wall time.

The exit status is 1 when the refresh raised, or when an account other
than the denied ones reported an access-denied error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.harness import MFA_CODE
from collectors.config import Config, parse_config
from collectors.demo.faults import FaultRule
from collectors.demo.scenario import Scenario, generated_scenario
from collectors.model import ErrorKind, State
from collectors.snapshot import Snapshot
from collectors.tomlcheck import Table
from tui.runtime import Options, Runtime

THROTTLE_RATE = 0.3
DENIED_ACCOUNTS = 3
SUSPENDED_ACCOUNTS = 2
REGION_DISABLED_ACCOUNTS = 4


@dataclass
class FaultPlan:
    """Faults added to a generated scenario, with the accounts they hit."""

    throttle_rate: float
    denied: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    region_disabled: list[str] = field(default_factory=list)
    disabled_region: str = ""


def faulty_scenario(
    accounts: int,
    throttle_rate: float,
    denied: int = DENIED_ACCOUNTS,
    suspended: int = SUSPENDED_ACCOUNTS,
    region_disabled: int = REGION_DISABLED_ACCOUNTS,
) -> tuple[Scenario, FaultPlan]:
    """Generate a scenario and add the faults, each to different member accounts.

    The generated scenario keeps the default scenario's own disabled regions
    and suspended account. The plan lists them too, so the report can tell
    expected states from surprises.
    """
    scenario = generated_scenario(accounts)
    core = {scenario.management.id, scenario.identity.id, scenario.log_archive.id}
    members = [
        account
        for account in scenario.accounts
        if account.id not in core and account.status == "ACTIVE"
    ]
    needed = denied + suspended + region_disabled
    if len(members) < needed:
        raise SystemExit(f"--accounts is too small: {needed} member accounts needed")
    # Spread the chosen accounts over the organization instead of one team.
    step = len(members) // needed
    chosen = [members[i * step] for i in range(needed)]
    plan = FaultPlan(throttle_rate, disabled_region=scenario.regions[-1])

    for account in chosen[:denied]:
        scenario.faults.append(
            FaultRule(
                index=len(scenario.faults),
                service="sts",
                operation="AssumeRole",
                account=account.id,
                error="AccessDenied",
                seed=scenario.seed,
            )
        )
        plan.denied.append(account.id)
    for account in chosen[denied : denied + suspended]:
        account.status = "SUSPENDED"
    for account in chosen[denied + suspended :]:
        if plan.disabled_region not in account.disabled_regions:
            account.disabled_regions.append(plan.disabled_region)
    if throttle_rate:
        # Added last: the first matching rule that fires decides a request,
        # so AssumeRole into a denied account is always denied.
        scenario.faults.append(
            FaultRule(
                index=len(scenario.faults),
                error="ThrottlingException",
                rate=throttle_rate,
                seed=scenario.seed,
            )
        )
    plan.suspended = [a.id for a in scenario.accounts if a.status != "ACTIVE"]
    plan.region_disabled = [a.id for a in scenario.accounts if a.disabled_regions]
    return scenario, plan


class ScenarioRuntime(Runtime):
    """The command line's runtime with a demo world built from ``scenario``.

    The config is the default one (no config file is read), pointed at the
    world, so the user's own config cannot change the figures.
    """

    def __init__(self, scenario: Scenario) -> None:
        """Start a demo world of ``scenario`` in this process."""
        self.scenario = scenario
        super().__init__(Options(demo=True, mfa_code=MFA_CODE))

    def _load_config(self) -> Config:
        from collectors.demo.server import DemoWorld

        config = parse_config(Table({}, "<benchmark defaults>", ""), None)
        self.world = DemoWorld(self.scenario).start()
        self.world.configure(config)
        return config


def machine_line() -> str:
    """Describe the CPUs, kernel and Python the figures come from."""
    return (
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _refresh(
    scenario: Scenario, only: Sequence[str]
) -> tuple[Snapshot | None, str, float]:
    async def run() -> tuple[Snapshot | None, str, float]:
        runtime = ScenarioRuntime(scenario)
        started = time.perf_counter()
        try:
            refresher = runtime.build()
            snapshot = await refresher.run(only=only)
            return snapshot, "", time.perf_counter() - started
        except Exception:  # noqa: BLE001 - the report shows the traceback
            return None, traceback.format_exc(), time.perf_counter() - started
        finally:
            await runtime.close()

    return asyncio.run(run())


def report(snapshot: Snapshot, plan: FaultPlan, wall: float) -> tuple[list[str], bool]:
    """Describe a finished refresh and check that only denied accounts were denied."""
    stats = snapshot.stats
    failed = {error.account_id for error in snapshot.errors}
    active = [account for account in snapshot.accounts if account.active]
    clean = [account for account in active if account.id not in failed]
    states = Counter(str(state.state) for state in snapshot.states)
    denied_seen = sorted(
        {
            error.account_id
            for error in snapshot.errors
            if error.kind == ErrorKind.ACCESS_DENIED
        }
    )
    suspended_seen = sorted(
        {s.account_id for s in snapshot.states if s.state == State.SUSPENDED}
    )

    lines = [
        f"  accounts                  {len(snapshot.accounts)} ({len(active)} active)",
        f"  collected accounts        {len(clean)} active accounts with no error, "
        f"{len(active) - len(clean)} with at least one",
        "  errors by kind            "
        + (", ".join(f"{k} {v}" for k, v in stats["errors_by_kind"].items()) or "none"),
        "  states                    "
        + (", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "none"),
        f"  suspended accounts        {', '.join(suspended_seen) or 'none'} "
        f"(expected {', '.join(sorted(plan.suspended))})",
        f"  region-disabled accounts  {len(plan.region_disabled)} expected, "
        f"{states.get(str(State.REGION_DISABLED), 0)} region-disabled states",
        f"  requests                  {stats['requests_total']} attempts for "
        f"{stats['calls_total']} calls",
        f"  retries                   {stats['retries']}",
        f"  tasks                     {stats['tasks']}",
        f"  wall time                 {wall:.1f} s "
        f"(refresh's own: {stats['wall_seconds']:.1f} s)",
    ]

    expected = sorted(plan.denied)
    passed = denied_seen == expected
    verdict = "yes" if passed else "NO"
    lines.append(
        f"  access denied only in the denied accounts: {verdict} "
        f"(denied: {', '.join(expected)}; "
        f"access-denied errors in: {', '.join(denied_seen) or 'none'})"
    )
    return lines, passed


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the refresh and print the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument(
        "--accounts", type=int, default=300, help="accounts to generate (default 300)"
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=THROTTLE_RATE,
        help="share of all requests failed with ThrottlingException (default 0.3)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="COLLECTOR",
        help="run only this collector (repeatable; default: every collector)",
    )
    options = parser.parse_args(argv)

    scenario, plan = faulty_scenario(options.accounts, options.throttle_rate)
    print("orgtop fault benchmark")
    print(f"  machine:  {machine_line()}")
    print(
        f"  world:    {len(scenario.accounts)} accounts, "
        f"{len(scenario.regions)} regions, demo world in this process"
    )
    print(
        f"  faults:   {options.throttle_rate:.0%} of all requests throttled; "
        f"AssumeRole denied in {len(plan.denied)} accounts; "
        f"{len(plan.suspended)} suspended; {plan.disabled_region} not enabled in "
        f"{len(plan.region_disabled)} accounts"
    )
    print(
        "  collectors: "
        + (", ".join(options.only) + " only (--only)" if options.only else "all")
    )
    print(f"  command:  python -m bench.faults {' '.join(sys.argv[1:])}".rstrip())
    sys.stdout.flush()

    snapshot, failure, wall = _refresh(scenario, options.only)
    if snapshot is None:
        print(f"  the refresh raised after {wall:.1f} s; run ended: no")
        print(failure)
        return 1
    lines, passed = report(snapshot, plan, wall)
    print("\n".join(lines))
    print("  run ended:                yes")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
