"""Access levels of roles: admin, power user, read-only or custom (with a reason).

A role's level is the highest level of its permission policies, cut down to
its permissions boundary's level when it has one. AWS's job-function
policies are known by ARN (``ReadOnlyAccess`` allows a few ``Start*`` and
``Create*`` calls that AWS still classes as read-only, and is 100 kB long),
every other policy is judged from its statements:

- admin: an ``Allow`` of every action (``*``) on every resource, or of IAM
  policy writes on every resource, since those let the role grant itself
  anything;
- power user: an ``Allow`` with ``NotAction`` on every resource, i.e. all
  services but a few (``PowerUserAccess`` leaves out IAM, Organizations and
  Account);
- read-only: every allowed action is a read, by its verb (``Get``, ``List``,
  ``Describe``...);
- custom: anything else, with the write actions that made it so.

Explicit denies and conditions in the role's own policies are not taken
into account, so the level is an upper bound.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from collectors.access.policy import ALLOW, Statement, wildcard_match


class Level(enum.StrEnum):
    """How much a role can do in its account."""

    ADMIN = "admin"
    POWER_USER = "power-user"
    CUSTOM = "custom"
    READ_ONLY = "read-only"


RANK = {Level.READ_ONLY: 0, Level.CUSTOM: 1, Level.POWER_USER: 2, Level.ADMIN: 3}
"""Order of levels; custom ranks above read-only because it includes writes."""

KNOWN_POLICIES = {
    "AdministratorAccess": Level.ADMIN,
    "PowerUserAccess": Level.POWER_USER,
    "ReadOnlyAccess": Level.READ_ONLY,
    "job-function/ViewOnlyAccess": Level.READ_ONLY,
    "SecurityAudit": Level.READ_ONLY,
}
"""AWS managed policies classified by name (the part after ``:policy/``)."""

READ_VERBS = (
    "Get",
    "List",
    "Describe",
    "Search",
    "BatchGet",
    "BatchDescribe",
    "Query",
    "Scan",
    "Select",
    "Lookup",
    "View",
    "Read",
)
IAM_POLICY_WRITES = (
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:AttachUserPolicy",
    "iam:PutGroupPolicy",
    "iam:AttachGroupPolicy",
    "iam:CreatePolicyVersion",
    "iam:UpdateAssumeRolePolicy",
)
"""Actions that let a principal change its own permissions."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """A level and the reason for it."""

    level: Level
    reason: str


@dataclass(frozen=True, slots=True)
class PolicyText:
    """A permission policy: its name for messages, ARN (if managed) and statements."""

    name: str
    statements: tuple[Statement, ...]
    arn: str = ""


def known_level(policy_arn: str) -> Level | None:
    """Return the level of an AWS managed job-function policy, if it is one."""
    if ":iam::aws:policy/" not in policy_arn:
        return None
    return KNOWN_POLICIES.get(policy_arn.split(":policy/", 1)[1])


def assess_policy(policy: PolicyText) -> Assessment:
    """Classify one permission policy."""
    known = known_level(policy.arn) if policy.arn else None
    if known is not None:
        return Assessment(known, f"{policy.name} (AWS managed)")

    allows = [s for s in policy.statements if s.effect == ALLOW]
    if not allows:
        return Assessment(Level.CUSTOM, f"{policy.name} allows nothing")
    broad = _assess_broad(policy.name, [s for s in allows if _everywhere(s)])
    if broad is not None:
        return broad

    writes = sorted({a for s in allows for a in _actions(s) if not is_read_action(a)})
    if not writes:
        return Assessment(Level.READ_ONLY, f"{policy.name} allows only reads")
    listed = ", ".join(writes[:3])
    suffix = f" and {len(writes) - 3} more" if len(writes) > 3 else ""
    return Assessment(Level.CUSTOM, f"{policy.name} allows {listed}{suffix}")


def _assess_broad(name: str, everywhere: list[Statement]) -> Assessment | None:
    """Classify statements on every resource as admin or power user, if they are."""
    for statement in everywhere:
        if statement.actions is not None and (
            "*" in statement.actions or "*:*" in statement.actions
        ):
            return Assessment(Level.ADMIN, f"{name} allows * on *")
    for statement in everywhere:
        if _writes_iam_policies(statement):
            return Assessment(
                Level.ADMIN, f"{name} allows IAM policy changes on every resource"
            )
    for statement in everywhere:
        if statement.not_actions is not None:
            left_out = ", ".join(statement.not_actions)
            return Assessment(
                Level.POWER_USER, f"{name} allows every action except {left_out}"
            )
    return None


def assess_role(
    policies: Sequence[PolicyText], boundary: PolicyText | None = None
) -> Assessment:
    """Classify a role from its permission policies and permissions boundary."""
    if not policies:
        return Assessment(Level.CUSTOM, "no permission policies")
    assessed = [assess_policy(p) for p in policies]
    best = max(assessed, key=lambda a: RANK[a.level])
    if boundary is None:
        return best
    limit = assess_policy(boundary)
    if RANK[limit.level] < RANK[best.level]:
        return Assessment(
            limit.level, f"{best.reason}, limited by boundary {limit.reason}"
        )
    return best


def is_read_action(action: str) -> bool:
    """Return whether an action (possibly with wildcards) names only read calls.

    The verb must be followed by a capital letter, ``*`` or nothing, so that
    ``s3:Get*`` is a read and ``s3:G*`` or a ``Listen...`` action is not.
    """
    service, _, name = action.partition(":")
    if not name or "*" in service:
        return False
    for verb in READ_VERBS:
        if name.startswith(verb):
            rest = name[len(verb) :]
            if not rest or rest[0] == "*" or rest[0].isupper():
                return True
    return False


def _everywhere(statement: Statement) -> bool:
    return statement.resources is not None and "*" in statement.resources


def _actions(statement: Statement) -> tuple[str, ...]:
    if statement.actions is not None:
        return statement.actions
    return tuple(f"not {a}" for a in statement.not_actions or ())


def _writes_iam_policies(statement: Statement) -> bool:
    return statement.actions is not None and any(
        wildcard_match(pattern, action, ignore_case=True)
        for pattern in statement.actions
        for action in IAM_POLICY_WRITES
    )
