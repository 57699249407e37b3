"""Turning task outcomes into snapshot sections, one collector at a time.

A collector's section is merged as soon as its last task ends, so the
dashboard can show cost and quotas while a slow IAM read in one account is
still running. The final snapshot is assembled in plan order, so its errors
and states do not depend on which collector finished first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from collectors.config import Config
from collectors.fanout import Job, Outcome
from collectors.model import ErrorRecord, StateRecord
from collectors.registry import Collector, TaskResult
from collectors.snapshot import Snapshot

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """One collector's part of a refresh: its jobs, or a section reused as is."""

    collector: Collector
    jobs: list[Job]
    reused: dict[str, Any] | None = None


@dataclass
class Merged:
    """A collector's merged section (None when merging failed) and its records."""

    section: dict[str, Any] | None
    errors: list[ErrorRecord] = field(default_factory=list)
    states: list[StateRecord] = field(default_factory=list)


def merge_plan(
    plan: Plan,
    outcomes: dict[int, Outcome],
    snapshot: Snapshot,
    previous: Snapshot | None,
    refreshed: frozenset[str] | None,
    config: Config,
) -> Merged:
    """Merge one collector's outcomes (keyed by ``id(job)``) into its section."""
    collector = plan.collector
    if plan.reused is not None:
        return Merged(plan.reused)
    merged = Merged(None)
    results = []
    for job in plan.jobs:
        outcome = outcomes[id(job)]
        if outcome.error:
            merged.errors.append(outcome.error)
        elif outcome.state:
            merged.states.append(outcome.state)
        else:
            results.append(TaskResult(job.account_id, job.region, outcome.data))
    prior = previous.sections.get(collector.name) if previous else None
    settings = config.settings_for(collector.name)
    try:
        section = collector.merge(results, prior, snapshot.accounts, settings)
        if refreshed is not None and prior:
            section = collector.keep_outside(section, prior, refreshed)
    except Exception:  # noqa: BLE001 - a bad merge must not lose the rest
        log.exception("%s: merging results failed", collector.name)
        return merged
    section.setdefault("fetched_at", snapshot.generated_at.isoformat())
    merged.section = section
    return merged


def add_merged(snapshot: Snapshot, name: str, result: Merged) -> None:
    """Add one collector's section and records to ``snapshot``."""
    snapshot.errors.extend(result.errors)
    snapshot.states.extend(result.states)
    if result.section is not None:
        snapshot.sections[name] = result.section


class SectionTracker:
    """Merges each collector when its last task ends and reports the progress.

    ``on_sections`` receives a copy of the snapshot in which finished
    collectors have their new sections and records, and collectors still
    running keep the previous snapshot's, so nothing on screen goes blank.
    It is meant for a refresh of every account: in a refresh of some, the
    carried-over records of a running collector would be counted twice.
    """

    def __init__(
        self,
        plans: Sequence[Plan],
        snapshot: Snapshot,
        previous: Snapshot | None,
        refreshed: frozenset[str] | None,
        config: Config,
        on_sections: Callable[[Snapshot], None] | None,
    ) -> None:
        """Start with every collector that has jobs pending."""
        self.plans = plans
        self.snapshot = snapshot
        self.previous = previous
        self.refreshed = refreshed
        self.config = config
        self.on_sections = on_sections
        self.outcomes: dict[int, Outcome] = {}
        self.merged: dict[str, Merged] = {}
        self.by_name = {plan.collector.name: plan for plan in plans}
        self.pending = {name: len(plan.jobs) for name, plan in self.by_name.items()}

    def add(self, outcome: Outcome) -> None:
        """Record one outcome; merge its collector when it was the last."""
        self.outcomes[id(outcome.job)] = outcome
        name = outcome.job.collector
        self.pending[name] -= 1
        if self.pending[name] == 0:
            self._merge(self.by_name[name])
            if self.on_sections is not None:
                self.on_sections(self.interim())

    def finish(self) -> None:
        """Merge the collectors without jobs and fill the snapshot in plan order."""
        for plan in self.plans:
            name = plan.collector.name
            if name not in self.merged:
                self._merge(plan)
            add_merged(self.snapshot, name, self.merged[name])

    def _merge(self, plan: Plan) -> None:
        self.merged[plan.collector.name] = merge_plan(
            plan,
            self.outcomes,
            self.snapshot,
            self.previous,
            self.refreshed,
            self.config,
        )

    def interim(self) -> Snapshot:
        """Return the snapshot so far, with previous data for unfinished collectors."""
        snapshot = replace(
            self.snapshot,
            errors=list(self.snapshot.errors),
            states=list(self.snapshot.states),
            stats=dict(self.snapshot.stats),
            sections={},
        )
        previous = self.previous
        for plan in self.plans:
            name = plan.collector.name
            result = self.merged.get(name)
            if result is None and previous is not None:
                result = Merged(
                    previous.sections.get(name),
                    [e for e in previous.errors if e.collector == name],
                    [s for s in previous.states if s.collector == name],
                )
            if result is not None:
                add_merged(snapshot, name, result)
        return snapshot


def carry_over(
    previous: Snapshot,
    refreshed: frozenset[str],
    running: set[str],
    source_arn: str,
    now: datetime,
) -> Snapshot:
    """Start a refresh of ``refreshed`` accounts from the previous snapshot.

    Errors and states are carried over unless a ``running`` collector will
    report them again: its records for refreshed accounts and its
    organization-wide ones (such as "not configured").
    """

    def kept(record: ErrorRecord | StateRecord) -> bool:
        if record.collector not in running:
            return True
        return bool(record.account_id) and record.account_id not in refreshed

    sections = {
        name: section
        for name, section in previous.sections.items()
        if name not in running
    }
    return Snapshot(
        generated_at=now,
        organization_id=previous.organization_id,
        source=source_arn,
        accounts=list(previous.accounts),
        errors=[error for error in previous.errors if kept(error)],
        states=[state for state in previous.states if kept(state)],
        stats={
            "inventory_details_fetched_at": previous.stats.get(
                "inventory_details_fetched_at", 0
            )
        },
        sections=sections,
        demo=previous.demo,
    )
