"""Grants: which IAM user can assume which role, through which policy, needing what.

The inputs are the per-account records the IAM collector returns: users,
groups, roles and the documents of the managed policies attached to users
and groups. Every user of every collected account is a principal, and every
role of every collected account a target. Each pair goes through
:func:`~collectors.access.evaluator.evaluate_assume_role`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collectors.access.conditions import Facts
from collectors.access.evaluator import Decision, evaluate_assume_role
from collectors.access.policy import Statement, parse_policy


@dataclass(frozen=True)
class Principal:
    """An IAM user with every statement that applies to it."""

    facts: Facts
    statements: tuple[Statement, ...]
    boundary: tuple[Statement, ...] | None
    groups: tuple[str, ...]
    mfa_devices: int


@dataclass(frozen=True)
class Target:
    """A role that can be assumed, with its parsed trust policy."""

    account_id: str
    name: str
    arn: str
    level: str
    level_reason: str
    trust: tuple[Statement, ...]


def principals_of(
    record: Mapping[str, Any], organization_id: str, members: frozenset[str]
) -> list[Principal]:
    """Build the principals of one account's record.

    ``organization_id`` is set on the facts only when the account is one of
    ``members``, so ``aws:PrincipalOrgID`` holds for the organization's own
    users and for no one else. When it is ``""`` (``DescribeOrganization``
    failed) the organization's users get an unknown one instead.
    """
    account_id = str(record["account_id"])
    managed = record.get("managed", {})
    groups = {group["name"]: group for group in record.get("groups", [])}
    in_org = account_id in members
    found = []
    for user in record.get("users", []):
        statements = list(
            _holder_statements(user, "user", f"user {user['name']}", managed)
        )
        for group_name in user.get("groups", []):
            group = groups.get(group_name)
            if group is not None:
                statements.extend(
                    _holder_statements(
                        group, f"group:{group_name}", f"group {group_name}", managed
                    )
                )
        boundary = None
        if user.get("boundary"):
            document = managed.get(user["boundary"])
            # A boundary whose document could not be read allows nothing.
            boundary = tuple(
                parse_policy(document, f"boundary {user['boundary']}", "boundary")
                if document is not None
                else ()
            )
        facts = Facts(
            arn=user["arn"],
            account_id=account_id,
            name=user["name"],
            user_id=user.get("id", ""),
            organization_id=(organization_id or None) if in_org else "",
            variables={
                "aws:username": user["name"],
                "aws:userid": user.get("id", ""),
                "aws:PrincipalAccount": account_id,
            },
        )
        found.append(
            Principal(
                facts,
                tuple(statements),
                boundary,
                tuple(user.get("groups", [])),
                len(user.get("mfa_devices", [])),
            )
        )
    return found


def _holder_statements(
    holder: Mapping[str, Any], origin: str, label: str, managed: Mapping[str, Any]
) -> Iterable[Statement]:
    for policy in holder.get("policies", []):
        yield from parse_policy(
            policy["document"], f"{label}, inline policy {policy['name']}", origin
        )
    for arn in holder.get("attached", []):
        document = managed.get(arn)
        if document is not None:
            yield from parse_policy(document, f"{label}, managed policy {arn}", origin)


def targets_of(record: Mapping[str, Any]) -> list[Target]:
    """Build the assumable roles of one account's record."""
    account_id = str(record["account_id"])
    return [
        Target(
            account_id,
            role["name"],
            role["arn"],
            role["level"],
            role["level_reason"],
            tuple(
                parse_policy(role["trust"], f"trust policy of {role['name']}", "trust")
            ),
        )
        for role in record.get("roles", [])
    ]


def evaluate_grants(
    principals: Sequence[Principal], targets: Sequence[Target]
) -> list[dict[str, Any]]:
    """Evaluate every principal against every role; return the grants found."""
    grants = []
    for target in targets:
        for principal in principals:
            decision = evaluate_assume_role(
                principal.facts,
                principal.statements,
                target.trust,
                target.arn,
                principal.boundary,
            )
            if decision.allowed:
                grants.append(grant_record(principal, target, decision))
    grants.sort(key=grant_key)
    return grants


def grant_record(
    principal: Principal, target: Target, decision: Decision
) -> dict[str, Any]:
    """Build the JSON record of one grant."""
    origins = sorted({s.origin for s in decision.statements if s.origin})
    return {
        "principal": principal.facts.arn,
        "principal_name": principal.facts.name,
        "principal_account": principal.facts.account_id,
        "account_id": target.account_id,
        "role": target.name,
        "role_arn": target.arn,
        "level": target.level,
        "level_reason": target.level_reason,
        "mfa_required": decision.needs_mfa,
        "options": [
            [r.to_dict() for r in sorted(option, key=lambda r: r.text)]
            for option in decision.options
        ],
        "via": origins,
        "groups": [o.split(":", 1)[1] for o in origins if o.startswith("group:")],
        "sources": sorted({s.source for s in decision.statements}),
    }


def grant_key(grant: Mapping[str, Any]) -> tuple[str, str, str]:
    """Identify a grant across snapshots: principal, account and role."""
    return (str(grant["principal"]), str(grant["account_id"]), str(grant["role"]))
