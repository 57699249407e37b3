"""One refresh: inventory, then every collector's tasks through the fan-out.

A :class:`Refresher` lives as long as the process, so role sessions and
clients are reused from one refresh to the next. Each refresh gets a new
generation number; a caller that started a newer refresh drops the results
of an older one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from collectors import inventory as inventory_module
from collectors import registry
from collectors.caller import DEFAULT_RATE_LIMITS, TaskCaller
from collectors.clients import ClientFactory
from collectors.config import Config
from collectors.credentials import RoleSessions, SourceIdentity
from collectors.errors import CredentialError, RefreshError, classify
from collectors.fanout import Job, Progress, RateLimiter, run_jobs
from collectors.merge import Plan, SectionTracker, carry_over
from collectors.model import Account, State, StateRecord, utcnow
from collectors.registry import Collector, Scope, TaskContext
from collectors.snapshot import Snapshot

log = logging.getLogger(__name__)

class Refresher:
    """Runs refreshes with shared credentials, clients and limits."""

    def __init__(
        self,
        config: Config,
        factory: ClientFactory,
        source: SourceIdentity,
        roles: RoleSessions,
        *,
        clock: Callable[[], datetime] = utcnow,
        server_counts: Callable[[], dict[str, int]] | None = None,
        demo: bool = False,
    ) -> None:
        """Keep the shared pieces; nothing is called until :meth:`run`."""
        self.config = config
        self.factory = factory
        self.source = source
        self.roles = roles
        self.clock = clock
        self.server_counts = server_counts
        self.demo = demo
        self.limiter = RateLimiter()
        self.generation = 0
        self.collectors = registry.collectors()
        self.rate_limits = {**DEFAULT_RATE_LIMITS, **config.rate_limits}

    def rate_for(self, service: str, operation: str) -> float:
        """Return the per-second limit of an operation (0 means none)."""
        exact = self.rate_limits.get(f"{service}.{operation}")
        if exact is not None:
            return exact
        return self.rate_limits.get(f"{service}.*", 0.0)

    def role_arn(self, account_id: str) -> str:
        """Return the collector role's ARN in an account."""
        return f"arn:aws:iam::{account_id}:role/{self.config.collector_role}"

    async def run(
        self,
        previous: Snapshot | None = None,
        *,
        force: bool = False,
        only: Sequence[str] = (),
        progress: Progress | None = None,
        on_inventory: Callable[[Snapshot], None] | None = None,
        on_sections: Callable[[Snapshot], None] | None = None,
        accounts: Collection[str] = (),
    ) -> Snapshot:
        """Run one refresh and return its snapshot; never raises for one account.

        ``on_inventory`` receives a copy of the snapshot with accounts, states
        and inventory errors but no collector sections, as soon as the
        inventory is known, so a screen can show the accounts while the
        collectors run. ``on_sections`` receives the snapshot so far each time
        a collector's last task ends (see :class:`~collectors.merge.SectionTracker`);
        a refresh of some accounts does not call it.

        ``accounts`` (ids) limits the refresh to those accounts: the previous
        inventory is reused, only :attr:`Collector.partial` collectors run,
        and everything else is carried over from ``previous``. Without a
        previous snapshot the whole organization is refreshed.
        """
        self.generation += 1
        generation = self.generation
        started = time.perf_counter()
        before_attempts = Counter(self.factory.counter.attempts)
        before_calls = Counter(self.factory.counter.calls)
        before_server = self.server_counts() if self.server_counts else None
        log.info("refresh %d started", generation)

        self.roles.forget_failures()
        refreshed = frozenset(accounts) if accounts and previous else None
        chosen = [
            c
            for c in self.collectors
            if (not only or c.name in only) and (refreshed is None or c.partial)
        ]
        if refreshed is not None:
            assert previous is not None
            log.info("refresh %d covers %d accounts", generation, len(refreshed))
            source_arn = await self._source_arn()
            # Taken after the source identity, which may wait for an MFA code.
            now = self.clock()
            snapshot = carry_over(
                previous, refreshed, {c.name for c in chosen}, source_arn, now
            )
            snapshot.generation = generation
            targets = [a for a in snapshot.accounts if a.id in refreshed]
            plans = await self._plan(
                chosen, snapshot, targets, previous, "", now, force
            )
        else:
            snapshot, management = await self._inventory_snapshot(
                previous, force, generation, on_inventory
            )
            now = snapshot.generated_at
            plans = await self._plan(
                chosen, snapshot, snapshot.accounts, previous, management, now, force
            )
        jobs = [job for plan in plans for job in plan.jobs]
        tracker = SectionTracker(
            plans,
            snapshot,
            previous,
            refreshed,
            self.config,
            on_sections if refreshed is None else None,
        )
        await run_jobs(
            jobs,
            concurrency=self.config.concurrency,
            timeout=self.config.task_timeout,
            progress=progress,
            on_outcome=tracker.add,
        )
        tracker.finish()
        await self.factory.close_retired()

        attempts = self.factory.counter.attempts - before_attempts
        calls = self.factory.counter.calls - before_calls
        snapshot.stats.update(
            _stats(attempts, calls, snapshot, time.perf_counter() - started, len(jobs))
        )
        if refreshed is not None:
            order = [c.name for c in self.collectors if c.name in snapshot.sections]
            snapshot.sections = {name: snapshot.sections[name] for name in order}
            snapshot.stats["accounts_refreshed"] = len(refreshed)
            snapshot.stats["requests_per_account"] = round(
                snapshot.stats["requests_total"] / len(refreshed), 2
            )
        if before_server is not None and self.server_counts is not None:
            after = self.server_counts()
            snapshot.stats["server_requests"] = {
                key: after[key] - before_server.get(key, 0)
                for key in sorted(after)
                if after[key] - before_server.get(key, 0)
            }
        log.info(
            "refresh %d finished: %d accounts, %d errors, %.1f s",
            generation,
            len(snapshot.accounts),
            len(snapshot.errors),
            snapshot.stats["wall_seconds"],
        )
        return snapshot

    async def _inventory_snapshot(
        self,
        previous: Snapshot | None,
        force: bool,
        generation: int,
        on_inventory: Callable[[Snapshot], None] | None,
    ) -> tuple[Snapshot, str]:
        """Build the snapshot from a new inventory; return it and the management id.

        Its time is taken once the source identity is known, not when the
        refresh started, since an MFA prompt may have waited minutes.
        """
        source_arn, management, inventory = await self._start(previous, force)
        snapshot = Snapshot(
            generated_at=self.clock(),
            organization_id=inventory.organization_id,
            source=source_arn,
            accounts=inventory.accounts,
            errors=list(inventory.errors),
            generation=generation,
            demo=self.demo,
        )
        snapshot.stats["inventory_details_fetched_at"] = inventory.details_fetched_at
        for account in snapshot.accounts:
            if not account.active:
                snapshot.states.append(
                    StateRecord(State.SUSPENDED, account.id, "", "inventory", account.status)
                )
            for region in account.disabled_regions:
                snapshot.states.append(
                    StateRecord(State.REGION_DISABLED, account.id, region, "inventory")
                )

        if on_inventory is not None:
            on_inventory(
                replace(
                    snapshot,
                    accounts=list(snapshot.accounts),
                    errors=list(snapshot.errors),
                    states=list(snapshot.states),
                    stats=dict(snapshot.stats),
                    sections={},
                )
            )
        return snapshot, management

    async def _source_arn(self) -> str:
        try:
            return await self.source.whoami()
        except CredentialError:
            raise
        except Exception as error:  # noqa: BLE001 - reported as one clear message
            step = "reading the source identity (GetCallerIdentity)"
            raise _step_failed(step, error) from None

    async def _start(
        self, previous: Snapshot | None, force: bool
    ) -> tuple[str, str, inventory_module.Inventory]:
        source_arn = await self._source_arn()
        step = "finding the management account (DescribeOrganization)"
        try:
            management = self.config.management_account or await self._management_id()
            step = f"listing the organization's accounts from {management}"
            inventory = await self._inventory(management, previous, force)
        except CredentialError:
            raise
        except Exception as error:  # noqa: BLE001 - reported as one clear message
            raise _step_failed(step, error) from None
        return source_arn, management, inventory

    async def _management_id(self) -> str:
        credentials = await self.source.credentials()
        client = await self.factory.client(
            "organizations", self.config.home_region, credentials, "source"
        )
        answer = await client.describe_organization()
        return str(answer["Organization"]["MasterAccountId"])

    async def _inventory(
        self, management: str, previous: Snapshot | None, force: bool
    ) -> inventory_module.Inventory:
        caller = TaskCaller(self, self.role_arn(management), management, self.config.home_region)
        organizations = await caller.client("organizations")
        account_api = await caller.client("account")
        known = previous.accounts if previous else []
        fetched_at = float(previous.stats.get("inventory_details_fetched_at", 0)) if previous else 0.0
        stale = time.time() - fetched_at > inventory_module.DETAIL_TTL_SECONDS
        refresh_details = force or stale or not known
        result = await inventory_module.discover(
            organizations,
            account_api,
            self.config,
            known,
            refresh_details=refresh_details,
            call=caller.call,
        )
        result.details_fetched_at = time.time() if refresh_details else fetched_at
        return result

    async def _plan(
        self,
        chosen: Sequence[Collector],
        snapshot: Snapshot,
        targets: Sequence[Account],
        previous: Snapshot | None,
        management: str,
        now: datetime,
        force: bool,
    ) -> list[Plan]:
        plans: list[Plan] = []
        for collector in chosen:
            settings = self.config.settings_for(collector.name)
            reason = collector.disabled_reason(settings)
            if reason:
                snapshot.states.append(
                    StateRecord(State.NOT_CONFIGURED, "", "", collector.name, reason)
                )
                continue
            prior = previous.sections.get(collector.name) if previous else None
            fresh = _fresh(prior, collector.ttl_for(settings), now)
            if fresh and prior and not force and collector.reusable(prior, settings):
                plans.append(Plan(collector, [], prior))
                continue
            shared: dict[str, Any] = {}
            org_context = self._context(
                collector, None, management, self.config.home_region, settings,
                prior, now, force, shared,
            )
            org_context.accounts = tuple(targets)
            try:
                await collector.prepare(org_context)
            except Exception as error:  # noqa: BLE001 - shown as the collector's error
                log.warning("%s: prepare failed: %s", collector.name, error)
            jobs = self._jobs(collector, targets, management, settings, prior, now, force, shared)
            plans.append(Plan(collector, jobs))
        return plans

    def _jobs(
        self,
        collector: Collector,
        accounts: Sequence[Account],
        management: str,
        settings: Any,
        prior: dict[str, Any] | None,
        now: datetime,
        force: bool,
        shared: dict[str, Any],
    ) -> list[Job]:
        targets: list[tuple[Account | None, str, str]] = []
        if collector.scope is Scope.ORG:
            targets.append((None, management, self.config.home_region))
        else:
            for account in accounts:
                if not account.active:
                    continue
                if collector.scope is Scope.ACCOUNT:
                    targets.append((account, account.id, self.config.home_region))
                else:
                    for region in collector.regions(account, settings):
                        targets.append((account, account.id, region))
        jobs = []
        for account, account_id, region in targets:
            context = self._context(
                collector, account, account_id, region, settings, prior, now, force, shared
            )
            caller = context.caller
            assert isinstance(caller, TaskCaller)
            jobs.append(
                Job(
                    collector.name,
                    account_id,
                    region if collector.scope is Scope.REGION else "",
                    _bind(collector, context),
                    operation=lambda c=caller: c.operation,
                    on_expired=caller.renew,
                )
            )
        return jobs

    def _context(
        self,
        collector: Collector,
        account: Account | None,
        account_id: str,
        region: str,
        settings: Any,
        prior: dict[str, Any] | None,
        now: datetime,
        force: bool,
        shared: dict[str, Any],
    ) -> TaskContext:
        caller = TaskCaller(self, self.role_arn(account_id), account_id, region)
        return TaskContext(
            collector.name, account, region, settings, prior, now, force, caller, shared
        )


def _step_failed(step: str, error: Exception) -> RefreshError:
    """Log a failed step of the refresh's start and build its one-line error."""
    result = classify(error)
    log.warning("refresh failed while %s: %s %s", step, result.code, result.message)
    return RefreshError(
        f"refresh failed while {step}: {result.kind or result.state} "
        f"{result.code}: {result.message}"
    )


def _bind(collector: Collector, context: TaskContext) -> Callable[[], Any]:
    async def run() -> Any:
        return await collector.collect(context)

    return run


def _fresh(section: dict[str, Any] | None, ttl: float, now: datetime) -> bool:
    if not section or ttl <= 0 or "fetched_at" not in section:
        return False
    fetched = datetime.fromisoformat(section["fetched_at"])
    return (now - fetched).total_seconds() < ttl


def _stats(
    attempts: Counter[str],
    calls: Counter[str],
    snapshot: Snapshot,
    wall: float,
    tasks: int,
) -> dict[str, Any]:
    by_kind = Counter(str(error.kind) for error in snapshot.errors)
    active = sum(1 for account in snapshot.accounts if account.active)
    total_attempts = sum(attempts.values())
    return {
        "requests": dict(sorted(attempts.items())),
        "requests_total": total_attempts,
        "calls_total": sum(calls.values()),
        "retries": total_attempts - sum(calls.values()),
        "errors_by_kind": dict(sorted(by_kind.items())),
        "tasks": tasks,
        "accounts": len(snapshot.accounts),
        "accounts_active": active,
        "requests_per_account": round(total_attempts / active, 2) if active else 0.0,
        "wall_seconds": round(wall, 3),
    }


async def close_quietly(factory: ClientFactory) -> None:
    """Close every client, ignoring errors from connections already gone."""
    try:
        await factory.close()
    except (OSError, asyncio.CancelledError, RuntimeError):
        log.debug("closing clients failed", exc_info=True)
