"""Support for the access tests: intended grants, and one collection per module.

The intent functions never call the evaluator or read IAM: the expectations
come from the scenario's ``[identity]``, ``[[role]]`` and ``[access]``
sections with plain set logic, so the access tests compare two independent
results.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from collectors.demo.plugins.access import plan_of
from collectors.demo.scenario import DemoAccount, Scenario
from collectors.demo.server import DemoWorld
from collectors.refresh import Refresher
from collectors.snapshot import Snapshot
from collectors.sources.iam import IamSettings
from tests.conftest import demo_config, make_refresher

LEVEL_OF_POLICY = {
    "AdministratorAccess": "admin",
    "PowerUserAccess": "power-user",
    "ReadOnlyAccess": "read-only",
    "SecurityAudit": "read-only",
    "AmazonS3FullAccess": "custom",
}
"""Level of each AWS managed policy the test scenarios attach."""

COLLECTOR_ROLE_LEVEL = "read-only"
"""Level of the demo's collector role, which has ReadOnlyAccess attached."""


@dataclass(frozen=True)
class RoleIntent:
    """Where a role exists, whom its trust admits and what it allows."""

    name: str
    accounts: frozenset[str]
    users: frozenset[str] | None
    """Identity users the trust admits; None for every one of them."""
    mfa: bool
    level: str


@dataclass(frozen=True, order=True)
class Grant:
    """One intended grant, in the terms the test compares."""

    user: str
    account: str
    role: str
    level: str
    mfa: bool


def _select(scenario: Scenario, selectors: list[str]) -> list[DemoAccount]:
    chosen = []
    for account in scenario.members:
        keys = {
            "*",
            account.name,
            account.id,
            f"env:{account.env}",
            f"team:{account.team}",
        }
        if keys & set(selectors):
            chosen.append(account)
    return chosen


def _level(policies: list[str]) -> str:
    ranks = ["read-only", "custom", "power-user", "admin"]
    levels = [LEVEL_OF_POLICY[arn.rsplit("/", 1)[-1]] for arn in policies]
    return max(levels, key=ranks.index)


def roles(scenario: Scenario) -> dict[str, RoleIntent]:
    """Return every declared role by name."""
    found = {}
    for role in scenario.roles:
        where = _select(scenario, role.accounts) if role.accounts else scenario.members
        found[role.name] = RoleIntent(
            role.name,
            frozenset(a.id for a in where),
            None if role.trust == "identity" else frozenset(),
            role.require_mfa,
            _level(role.managed_policies),
        )
    for role in plan_of(scenario).roles:
        if role.trust_anyone or not (role.trust_users or role.trust_accounts):
            users = None
        else:
            users = frozenset(role.trust_users)
        found[role.name] = RoleIntent(
            role.name,
            frozenset(a.id for a in _select(scenario, role.accounts)),
            users,
            role.require_mfa,
            _level(role.managed_policies),
        )
    return found


def grants(scenario: Scenario) -> set[Grant]:
    """Return the grants the scenario intends, for its active accounts."""
    plan = plan_of(scenario)
    declared = roles(scenario)
    boundaries = {b.user: set(b.roles) for b in plan.boundaries}
    active = {a.id for a in scenario.accounts if a.status == "ACTIVE"}
    names = {a.id: a.name for a in scenario.accounts}
    found = set()
    for user in scenario.users:
        for account, role_name, mfa in _candidates(scenario, user.name, user.groups):
            role = declared[role_name]
            if account.id not in role.accounts or account.id not in active:
                continue
            if role.users is not None and user.name not in role.users:
                continue
            if user.name in boundaries and role_name not in boundaries[user.name]:
                continue
            found.add(
                Grant(
                    user.name, names[account.id], role_name, role.level, mfa or role.mfa
                )
            )
    return found


def _candidates(
    scenario: Scenario, user: str, groups: list[str]
) -> list[tuple[DemoAccount, str, bool]]:
    plan = plan_of(scenario)
    found = []
    for team in scenario.teams:
        for team_group in plan.team_groups:
            if f"{team}-{team_group.suffix}" not in groups:
                continue
            for grant in team_group.grants:
                for account in scenario.members:
                    if account.team == team and (
                        "*" in grant.envs or account.env in grant.envs
                    ):
                        found.append((account, grant.role, grant.mfa))
    for direct in plan.grants:
        if direct.user == user or (direct.group and direct.group in groups):
            for account in _select(scenario, direct.accounts):
                found.append((account, direct.role, direct.mfa))
    return found


def findings(scenario: Scenario) -> set[tuple[str, str, str, str]]:
    """Return ``(kind, account id, role, principal)`` of every intended finding."""
    identity = scenario.identity.id
    members = {a.id for a in scenario.accounts}
    active = {a.id for a in scenario.accounts if a.status == "ACTIVE"}
    found = set()
    for role in plan_of(scenario).roles:
        where = [a.id for a in _select(scenario, role.accounts) if a.id in active]
        for account_id in where:
            for outside in role.trust_accounts:
                if outside not in members:
                    found.add(
                        (
                            "trusts-outside-account",
                            account_id,
                            role.name,
                            f"arn:aws:iam::{outside}:root",
                        )
                    )
            if role.trust_anyone and not role.organization_only:
                found.add(("trusts-anyone", account_id, role.name, "*"))
    intended = grants(scenario)
    ids = {a.name: a.id for a in scenario.accounts}
    for grant in intended:
        if grant.level == "admin" and not grant.mfa:
            arn = f"arn:aws:iam::{identity}:user/{grant.user}"
            found.add(("admin-without-mfa", ids[grant.account], grant.role, arn))
    for user in scenario.users:
        if not user.mfa and any(g.user == user.name for g in intended):
            found.add(
                (
                    "user-without-mfa",
                    identity,
                    "",
                    f"arn:aws:iam::{identity}:user/{user.name}",
                )
            )
    return found


def role_levels(scenario: Scenario) -> dict[tuple[str, str], str]:
    """Return the level of every role in every active account, by (account id, name)."""
    active = {a.id for a in scenario.accounts if a.status == "ACTIVE"}
    levels = {
        (account_id, scenario.collector_role): COLLECTOR_ROLE_LEVEL
        for account_id in active
    }
    for role in roles(scenario).values():
        for account_id in role.accounts & active:
            levels[(account_id, role.name)] = role.level
    return levels


def highest_levels(intended: set[Grant]) -> dict[tuple[str, str], str]:
    """Return the highest intended level by (user, account name)."""
    ranks = ["read-only", "custom", "power-user", "admin"]
    cells: dict[tuple[str, str], str] = {}
    for grant in intended:
        key = (grant.user, grant.account)
        if key not in cells or ranks.index(grant.level) > ranks.index(cells[key]):
            cells[key] = grant.level
    return cells


def collect_isolated(scenario: Scenario, home: Path) -> Snapshot:
    """Serve a scenario, run the IAM collector once and stop the world.

    Module-scoped fixtures cannot use the autouse isolation fixture, so this
    strips ``AWS_*``, ``DD_*`` and ``ORGTOP_*`` itself and points the AWS
    config files at empty ones under ``home``.
    """
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("AWS_", "DD_", "ORGTOP_")):
                patch.delenv(name)
        patch.setenv("AWS_CONFIG_FILE", str(home / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        with DemoWorld(scenario) as world:
            return asyncio.run(collect_iam(world))


@asynccontextmanager
async def iam_refresher(
    world: DemoWorld, page_size: int = 100, ttl_hours: float = 1.0
) -> AsyncIterator[Refresher]:
    """Yield a refresher for a running world with the ``[iam]`` settings given."""
    config = demo_config(world)
    config.collector_settings["iam"] = IamSettings(page_size, ttl_hours)
    refresher = make_refresher(world, config)
    try:
        yield refresher
    finally:
        await refresher.factory.close()


async def refresh_iam(
    refresher: Refresher, previous: Snapshot | None = None, *, force: bool = True
) -> Snapshot:
    """Run the IAM collector only; ``force`` ignores the section's TTL."""
    return await refresher.run(previous, force=force, only=["iam"])


async def collect_iam(world: DemoWorld, *, page_size: int = 100) -> Snapshot:
    """Run the IAM collector once against a running world."""
    async with iam_refresher(world, page_size) as refresher:
        return await refresh_iam(refresher)


def collected_grants(snapshot: Snapshot) -> set[Grant]:
    """Return a snapshot's grants in the terms of :class:`Grant`."""
    names = {a.id: a.name for a in snapshot.accounts}
    return {
        Grant(
            g["principal_name"],
            names[g["account_id"]],
            g["role"],
            g["level"],
            g["mfa_required"],
        )
        for g in snapshot.sections["iam"]["grants"]
    }


def collected_findings(snapshot: Snapshot) -> set[tuple[str, str, str, str]]:
    """Return ``(kind, account id, role, principal)`` of a snapshot's findings."""
    return {
        (f["kind"], f["account_id"], f["role"], f["principal"])
        for f in snapshot.sections["iam"]["findings"]
    }
