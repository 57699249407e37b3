"""Summaries of the principals a role's trust policy admits, one row per entry.

Grants cover the IAM users orgtop can see. A trust policy can also admit
principals it cannot see: every principal of another account, AWS services,
federated identities, or anyone (``*``). Each ``Allow`` entry becomes one
row with a scope:

- ``organization``: an account of the organization, or ``*`` held to the
  organization by ``aws:PrincipalOrgID``, ``aws:PrincipalAccount`` or
  ``aws:PrincipalArn``;
- ``outside``: an account that is not in the organization;
- ``anyone``: ``*`` (or ``NotPrincipal``) with no such condition;
- ``service`` and ``federated``: AWS services and SAML/OIDC providers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from collectors.access.conditions import requirement_of
from collectors.access.policy import ALLOW, Condition, Statement, arn_account

ASSUME_ACTIONS = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
)


def summarise_trust(
    statements: Sequence[Statement], members: frozenset[str], organization_id: str
) -> list[dict[str, Any]]:
    """Return one row per principal an ``Allow`` trust statement names."""
    rows = []
    for statement in statements:
        if statement.effect != ALLOW:
            continue
        if not any(statement.matches_action(a) for a in ASSUME_ACTIONS):
            continue
        requirements = [requirement_of(c).text for c in statement.conditions]
        held = held_to_organization(statement.conditions, members, organization_id)
        for kind, principal in _entries(statement):
            rows.append(
                {
                    "principal": principal,
                    "type": kind,
                    "account": arn_account(principal) if kind == "AWS" else "",
                    "scope": _scope(kind, principal, members, held),
                    "requirements": requirements,
                }
            )
    return rows


def _entries(statement: Statement) -> list[tuple[str, str]]:
    if statement.principals is not None:
        return [
            (kind, entry)
            for kind, entries in statement.principals.items()
            for entry in entries
        ]
    if statement.not_principals is not None:
        return [("AWS", "*")]
    return []


def _scope(kind: str, principal: str, members: frozenset[str], held: bool) -> str:
    if kind == "Service":
        return "service"
    if kind == "Federated":
        return "federated"
    if principal == "*":
        return "organization" if held else "anyone"
    account = arn_account(principal)
    if account in members:
        return "organization"
    # A unique id (AROA..., AIDA...) left by a deleted principal names no account.
    return "outside" if account else "unknown"


def held_to_organization(
    conditions: Sequence[Condition], members: frozenset[str], organization_id: str
) -> bool:
    """Return whether the conditions admit only principals of the organization."""
    for condition in conditions:
        key = condition.key.lower()
        operator = condition.base_operator
        if condition.if_exists or "Not" in operator or not condition.values:
            continue
        if key == "aws:principalorgid" and operator in ("StringEquals", "StringLike"):
            # NOTE: with the organization's id unknown (DescribeOrganization
            # failed) no such condition counts, so the trust is reported open.
            if organization_id and set(condition.values) == {organization_id}:
                return True
        if key == "aws:principalaccount" and operator == "StringEquals":
            if set(condition.values) <= members:
                return True
        if key == "aws:principalarn" and operator in (
            "ArnEquals",
            "ArnLike",
            "StringEquals",
            "StringLike",
        ):
            if all(arn_account(v) in members for v in condition.values):
                return True
    return False
