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
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from collectors import inventory as inventory_module
from collectors import registry
from collectors.clients import ClientFactory
from collectors.config import Config
from collectors.credentials import RoleSessions, SourceIdentity
from collectors.errors import CredentialError, RefreshError, classify
from collectors.fanout import Job, Outcome, Progress, RateLimiter, run_jobs
from collectors.model import Account, State, StateRecord, utcnow
from collectors.registry import Collector, Scope, TaskContext, TaskResult
from collectors.snapshot import Snapshot

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMITS = {
    # Service Quotas allows about 10 requests per second per account and region.
    "service-quotas.*": 10.0,
    # Organizations throttles calls from the management account; 20 a second per
    # operation keeps a 1,000-account inventory near a minute.
    "organizations.*": 20.0,
    # Cost Explorer allows about 5 requests per second.
    "ce.*": 5.0,
}


class TaskCaller:
    """Gives one task clients under its role and rate-limited calls."""

    def __init__(
        self, refresher: Refresher, role_arn: str, account_id: str, region: str
    ) -> None:
        """Bind the caller to a role, an account and a default region."""
        self.refresher = refresher
        self.role_arn = role_arn
        self.account_id = account_id
        self.region = region
        self.operation = ""

    async def client(self, service: str, region: str | None = None) -> Any:
        """Return a reused client under this task's role."""
        return await self.refresher.roles.client(
            self.role_arn, service, region or self.region
        )

    async def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        """Rate-limit and make one API call, remembering its name for errors."""
        service = client.meta.service_model.service_name
        api_name = client.meta.method_to_api_mapping.get(operation, operation)
        self.operation = api_name
        rate = self.refresher.rate_for(service, api_name)
        region = client.meta.region_name
        await self.refresher.limiter.wait(
            f"{service}.{api_name}/{self.account_id}/{region}", rate
        )
        return await getattr(client, operation)(**kwargs)

    async def renew(self) -> None:
        """Drop the cached role session so the next call assumes the role again."""
        await self.refresher.roles.drop(self.role_arn)


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
    ) -> Snapshot:
        """Run one refresh and return its snapshot; never raises for one account.

        ``on_inventory`` receives a copy of the snapshot with accounts, states
        and inventory errors but no collector sections, as soon as the
        inventory is known, so a screen can show the accounts while the
        collectors run.
        """
        self.generation += 1
        generation = self.generation
        started = time.perf_counter()
        before_attempts = Counter(self.factory.counter.attempts)
        before_calls = Counter(self.factory.counter.calls)
        before_server = self.server_counts() if self.server_counts else None
        now = self.clock()
        log.info("refresh %d started", generation)

        self.roles.forget_failures()
        source_arn, management, inventory = await self._start(previous, force)
        snapshot = Snapshot(
            generated_at=now,
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

        chosen = [c for c in self.collectors if not only or c.name in only]
        plans = await self._plan(chosen, snapshot, previous, management, now, force)
        jobs = [job for _, job_list, _ in plans for job in job_list]
        outcomes = await run_jobs(
            jobs,
            concurrency=self.config.concurrency,
            timeout=self.config.task_timeout,
            progress=progress,
        )
        self._merge(plans, outcomes, snapshot, previous)
        await self.factory.close_retired()

        attempts = self.factory.counter.attempts - before_attempts
        calls = self.factory.counter.calls - before_calls
        snapshot.stats.update(
            _stats(attempts, calls, snapshot, time.perf_counter() - started, len(jobs))
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

    async def _start(
        self, previous: Snapshot | None, force: bool
    ) -> tuple[str, str, inventory_module.Inventory]:
        step = "reading the source identity (GetCallerIdentity)"
        try:
            source_arn = await self.source.whoami()
            step = "finding the management account (DescribeOrganization)"
            management = self.config.management_account or await self._management_id()
            step = f"listing the organization's accounts from {management}"
            inventory = await self._inventory(management, previous, force)
        except CredentialError:
            raise
        except Exception as error:  # noqa: BLE001 - reported as one clear message
            result = classify(error)
            log.warning("refresh failed while %s: %s %s", step, result.code, result.message)
            raise RefreshError(
                f"refresh failed while {step}: {result.kind or result.state} "
                f"{result.code}: {result.message}"
            ) from None
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
        previous: Snapshot | None,
        management: str,
        now: datetime,
        force: bool,
    ) -> list[tuple[Collector, list[Job], dict[str, Any] | None]]:
        plans: list[tuple[Collector, list[Job], dict[str, Any] | None]] = []
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
                plans.append((collector, [], prior))
                continue
            shared: dict[str, Any] = {}
            org_context = self._context(
                collector, None, management, self.config.home_region, settings,
                prior, now, force, shared,
            )
            org_context.accounts = tuple(snapshot.accounts)
            try:
                await collector.prepare(org_context)
            except Exception as error:  # noqa: BLE001 - shown as the collector's error
                log.warning("%s: prepare failed: %s", collector.name, error)
            jobs = self._jobs(collector, snapshot.accounts, management, settings, prior, now, force, shared)
            plans.append((collector, jobs, None))
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

    def _merge(
        self,
        plans: Sequence[tuple[Collector, list[Job], dict[str, Any] | None]],
        outcomes: Sequence[Outcome],
        snapshot: Snapshot,
        previous: Snapshot | None,
    ) -> None:
        by_job = {id(outcome.job): outcome for outcome in outcomes}
        for collector, jobs, reused in plans:
            if reused is not None:
                snapshot.sections[collector.name] = reused
                continue
            results = []
            for job in jobs:
                outcome = by_job[id(job)]
                if outcome.error:
                    snapshot.errors.append(outcome.error)
                elif outcome.state:
                    snapshot.states.append(outcome.state)
                else:
                    results.append(TaskResult(job.account_id, job.region, outcome.data))
            prior = previous.sections.get(collector.name) if previous else None
            settings = self.config.settings_for(collector.name)
            try:
                section = collector.merge(results, prior, snapshot.accounts, settings)
            except Exception:  # noqa: BLE001 - a bad merge must not lose the rest
                log.exception("%s: merging results failed", collector.name)
                continue
            section.setdefault("fetched_at", snapshot.generated_at.isoformat())
            snapshot.sections[collector.name] = section


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
