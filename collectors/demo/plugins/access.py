"""The scenario's ``[access]`` section: who may assume which role, seeded into IAM.

``organization.py`` creates the users, groups, MFA devices and the
``[[role]]`` roles. This plugin adds, after it:

- ``[[access.team_group]]``: for every team a group ``<team>-<suffix>`` whose
  inline policies allow ``sts:AssumeRole`` on the named roles in the team's
  accounts of the listed environments (``"*"`` for all), optionally only
  with MFA;
- ``[[access.role]]``: more roles (break-glass, vendor access...), trusted by
  the identity account (default), by named users of it, by other accounts
  (with an external id), or by anyone (optionally held to the organization);
- ``[[access.grant]]``: a user's or group's own grant of a role in the
  selected accounts (names, ids, ``env:NAME``, ``team:NAME`` or ``"*"``,
  which becomes a wildcard account in the policy's ARN);
- ``[[access.boundary]]``: a permissions boundary for a user that allows
  assuming only the listed roles.

The section is the declared intent the access tests compare the collected
grants with. moto has no user permissions boundaries, so they are kept in
``world.extra`` and served by :mod:`collectors.demo.plugins.iamdetails`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.iam import iam_backends

from collectors.demo.plugins import seeder
from collectors.demo.plugins.organization import PARTITION, attach_aws_policy
from collectors.demo.scenario import section_parser
from collectors.tomlcheck import Table

if TYPE_CHECKING:
    from collectors.demo.scenario import DemoAccount, Scenario
    from collectors.demo.server import DemoWorld

BOUNDARIES = "user_boundaries"
"""Key in ``world.extra``: ``{(account id, user name): policy ARN}``."""


@dataclass
class TeamGrant:
    """A role a team group may assume in some environments of its team."""

    role: str
    envs: list[str]
    mfa: bool = False


@dataclass
class TeamGroup:
    """A group created for every team, named ``<team>-<suffix>``."""

    suffix: str
    grants: list[TeamGrant] = field(default_factory=list)


@dataclass
class AccessRole:
    """A role this plugin creates, with the trust it declares."""

    name: str
    managed_policies: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=lambda: ["*"])
    trust_users: list[str] = field(default_factory=list)
    trust_accounts: list[str] = field(default_factory=list)
    trust_anyone: bool = False
    organization_only: bool = False
    external_id: str = ""
    require_mfa: bool = False


@dataclass
class DirectGrant:
    """A grant of one role to one user or group, in selected accounts."""

    role: str
    accounts: list[str]
    user: str = ""
    group: str = ""
    mfa: bool = False


@dataclass
class Boundary:
    """A user's permissions boundary: it allows assuming only these roles."""

    user: str
    roles: list[str]


@dataclass
class AccessPlan:
    """The parsed ``[access]`` section."""

    team_groups: list[TeamGroup] = field(default_factory=list)
    roles: list[AccessRole] = field(default_factory=list)
    grants: list[DirectGrant] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)


def plan_of(scenario: Scenario) -> AccessPlan:
    """Return the scenario's access plan (empty when it has no ``[access]``)."""
    plan = scenario.sections.get("access")
    return plan if isinstance(plan, AccessPlan) else AccessPlan()


@section_parser("access")
def parse_access(table: Table, scenario: Scenario) -> AccessPlan:
    """Read and check ``[access]``: roles, users and accounts must exist."""
    plan = AccessPlan()
    for entry in table.tables("role"):
        plan.roles.append(_parse_role(entry))
    role_names = {r.name for r in scenario.roles} | {r.name for r in plan.roles}
    users = {u.name for u in scenario.users}
    for entry in table.tables("team_group"):
        plan.team_groups.append(_parse_team_group(entry, role_names))
    for entry in table.tables("grant"):
        plan.grants.append(_parse_grant(entry, role_names, users, scenario))
    for entry in table.tables("boundary"):
        boundary = Boundary(entry.get("user", str, ""), entry.strings("roles"))
        if boundary.user not in users:
            raise entry.error("user", f"no user {boundary.user!r} in [identity]")
        entry.done()
        plan.boundaries.append(boundary)
    for role in plan.roles:
        for user in role.trust_users:
            if user not in users:
                raise table.error(
                    "role", f"role {role.name}: no user {user!r} in [identity]"
                )
    table.done()
    return plan


def _parse_role(entry: Table) -> AccessRole:
    role = AccessRole(
        name=entry.get("name", str, ""),
        managed_policies=entry.strings("managed_policies"),
        accounts=entry.strings("accounts", ["*"]),
        trust_users=entry.strings("trust_users"),
        trust_accounts=entry.strings("trust_accounts"),
        trust_anyone=entry.get("trust_anyone", bool, False),
        organization_only=entry.get("organization_only", bool, False),
        external_id=entry.get("external_id", str, ""),
        require_mfa=entry.get("require_mfa", bool, False),
    )
    if not role.name:
        raise entry.error("name", "each [[access.role]] needs a name")
    entry.done()
    return role


def _parse_team_group(entry: Table, roles: set[str]) -> TeamGroup:
    group = TeamGroup(entry.get("suffix", str, ""))
    if not group.suffix:
        raise entry.error("suffix", "each [[access.team_group]] needs a suffix")
    for grant in entry.tables("grants"):
        role = grant.get("role", str, "")
        if role not in roles:
            raise grant.error(
                "role", f"no role {role!r} in [[role]] or [[access.role]]"
            )
        group.grants.append(
            TeamGrant(role, grant.strings("envs", ["*"]), grant.get("mfa", bool, False))
        )
        grant.done()
    entry.done()
    return group


def _parse_grant(
    entry: Table, roles: set[str], users: set[str], scenario: Scenario
) -> DirectGrant:
    grant = DirectGrant(
        role=entry.get("role", str, ""),
        accounts=entry.strings("accounts", ["*"]),
        user=entry.get("user", str, ""),
        group=entry.get("group", str, ""),
        mfa=entry.get("mfa", bool, False),
    )
    if grant.role not in roles:
        raise entry.error(
            "role", f"no role {grant.role!r} in [[role]] or [[access.role]]"
        )
    if bool(grant.user) == bool(grant.group):
        raise entry.error(
            "user", "each [[access.grant]] needs either a user or a group"
        )
    if grant.user and grant.user not in users:
        raise entry.error("user", f"no user {grant.user!r} in [identity]")
    for selector in grant.accounts:
        if (
            not selector.startswith(("env:", "team:", "*"))
            and scenario.account(selector) is None
        ):
            raise entry.error(
                "accounts", f"no account named {selector!r} in the scenario"
            )
    entry.done()
    return grant


def selected(scenario: Scenario, selectors: list[str]) -> list[DemoAccount]:
    """Return the member accounts a list of selectors picks, in scenario order."""
    found = []
    for account in scenario.members:
        for selector in selectors:
            if (
                selector == "*"
                or selector in (account.name, account.id)
                or selector == f"env:{account.env}"
                or selector == f"team:{account.team}"
            ):
                found.append(account)
                break
    return found


def role_accounts(scenario: Scenario, role_name: str) -> list[DemoAccount]:
    """Return the member accounts in which a ``[[role]]`` or access role exists."""
    for role in scenario.roles:
        if role.name == role_name:
            if not role.accounts:
                return list(scenario.members)
            return [
                a
                for a in scenario.members
                if a.name in role.accounts
                or a.id in role.accounts
                or f"env:{a.env}" in role.accounts
            ]
    for access_role in plan_of(scenario).roles:
        if access_role.name == role_name:
            return selected(scenario, access_role.accounts)
    return []


def role_arn(account_id: str, role: str) -> str:
    """Return a role's ARN."""
    return f"arn:aws:iam::{account_id}:role/{role}"


def assume_policy(resources: list[str], mfa: bool) -> str:
    """Return an identity policy allowing ``sts:AssumeRole`` on the resources."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": resources,
    }
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def access_trust(scenario: Scenario, role: AccessRole) -> dict[str, Any]:
    """Build the trust policy an access role declares."""
    identity = scenario.identity.id
    principals: list[str] = []
    if role.trust_anyone:
        principals.append("*")
    principals += [f"arn:aws:iam::{identity}:user/{user}" for user in role.trust_users]
    principals += [f"arn:aws:iam::{account}:root" for account in role.trust_accounts]
    if not principals:
        principals.append(f"arn:aws:iam::{identity}:root")
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principals if len(principals) > 1 else principals[0]},
        "Action": "sts:AssumeRole",
    }
    conditions: dict[str, dict[str, str]] = {}
    if role.require_mfa:
        conditions["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    if role.external_id:
        conditions.setdefault("StringEquals", {})["sts:ExternalId"] = role.external_id
    if role.organization_only:
        conditions.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = (
            scenario.organization_id
        )
    if conditions:
        statement["Condition"] = conditions
    return {"Version": "2012-10-17", "Statement": [statement]}


@seeder(order=40)
def seed_access(world: DemoWorld) -> None:
    """Create access roles, team group grants, direct grants and boundaries."""
    scenario = world.scenario
    plan = plan_of(scenario)
    for role in plan.roles:
        trust = json.dumps(access_trust(scenario, role))
        for account in selected(scenario, role.accounts):
            iam = iam_backends[account.id][PARTITION]
            iam.create_role(
                role_name=role.name,
                assume_role_policy_document=trust,
                path="/",
                permissions_boundary=None,
                description="",
                tags=[],
                max_session_duration="3600",
            )
            for arn in role.managed_policies:
                attach_aws_policy(iam, role.name, arn)
    identity = iam_backends[scenario.identity.id][PARTITION]
    for team in scenario.teams:
        for group in plan.team_groups:
            _seed_team_group(scenario, identity, team, group)
    for grant in plan.grants:
        _seed_grant(scenario, identity, grant)
    boundaries = world.extra.setdefault(BOUNDARIES, {})
    for boundary in plan.boundaries:
        boundaries[(scenario.identity.id, boundary.user)] = _seed_boundary(
            identity, boundary
        )


def _seed_team_group(scenario: Scenario, iam: Any, team: str, group: TeamGroup) -> None:
    name = f"{team}-{group.suffix}"
    if name not in iam.groups:
        iam.create_group(name)
    for grant in group.grants:
        where = {a.id for a in role_accounts(scenario, grant.role)}
        resources = [
            role_arn(a.id, grant.role)
            for a in scenario.members
            if a.team == team
            and a.id in where
            and ("*" in grant.envs or a.env in grant.envs)
        ]
        if resources:
            iam.put_group_policy(
                name, f"assume-{grant.role}", assume_policy(resources, grant.mfa)
            )


def _seed_grant(scenario: Scenario, iam: Any, grant: DirectGrant) -> None:
    if "*" in grant.accounts:
        resources = [role_arn("*", grant.role)]
    else:
        where = {a.id for a in role_accounts(scenario, grant.role)}
        resources = [
            role_arn(a.id, grant.role)
            for a in selected(scenario, grant.accounts)
            if a.id in where
        ]
    document = assume_policy(resources, grant.mfa)
    policy_name = f"assume-{grant.role}"
    if grant.user:
        iam.put_user_policy(grant.user, policy_name, document)
    else:
        if grant.group not in iam.groups:
            iam.create_group(grant.group)
        iam.put_group_policy(grant.group, policy_name, document)


def _seed_boundary(iam: Any, boundary: Boundary) -> str:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": "sts:AssumeRole", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": [role_arn("*", role) for role in boundary.roles],
            },
        ],
    }
    policy = iam.create_policy(
        description="",
        path="/",
        policy_document=json.dumps(document),
        policy_name=f"boundary-{boundary.user}",
        tags=[],
    )
    return str(policy.arn)
