"""Assemble the ``iam`` section of a snapshot from the per-account records.

An account whose collection failed this time keeps its users, roles and
grants from the previous section, listed in ``stale_accounts``, so one
throttled account does not show up as every grant into it removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from collectors.access.findings import change_findings, grant_findings, trust_findings
from collectors.access.grants import (
    Principal,
    Target,
    evaluate_grants,
    grant_key,
    principals_of,
    targets_of,
)
from collectors.access.trusts import summarise_trust
from collectors.model import Account


def build_section(
    records: Sequence[Mapping[str, Any]],
    previous: Mapping[str, Any] | None,
    accounts: Sequence[Account],
) -> dict[str, Any]:
    """Evaluate grants and findings over every account's record."""
    members = frozenset(account.id for account in accounts)
    names = {account.id: account.name for account in accounts}
    organization_id = next(
        (str(r["organization_id"]) for r in records if r.get("organization_id")), ""
    )
    fresh = {str(record["account_id"]) for record in records}
    stale = sorted(
        account.id for account in accounts if account.active and account.id not in fresh
    )
    principals: list[Principal] = []
    for record in records:
        principals.extend(principals_of(record, organization_id, members))
    pairs = _paired(records)
    targets = [target for _, _, target in pairs]

    users = [_user(r, u) for r in records for u in r.get("users", [])]
    groups = [_group(r, g) for r in records for g in r.get("groups", [])]
    roles = [_role(r, role, t, members, organization_id) for r, role, t in pairs]
    grants = evaluate_grants(principals, targets)
    if previous and stale:
        kept = set(stale)
        users += [u for u in previous.get("users", []) if u["account_id"] in kept]
        groups += [g for g in previous.get("groups", []) if g["account_id"] in kept]
        roles += [r for r in previous.get("roles", []) if r["account_id"] in kept]
        grants += [
            g
            for g in previous.get("grants", [])
            if g["account_id"] in kept or g["principal_account"] in kept
        ]
        grants.sort(key=grant_key)

    previous_grants = previous.get("grants") if previous else None
    findings = (
        trust_findings(roles, names)
        + grant_findings(grants, users, names)
        + change_findings(grants, previous_grants, names)
    )
    return {
        "organization_id": organization_id,
        "users": users,
        "groups": groups,
        "roles": roles,
        "grants": grants,
        "findings": findings,
        "stale_accounts": stale,
        "counts": {
            "users": len(users),
            "roles": len(roles),
            "grants": len(grants),
            "findings": len(findings),
        },
    }


def _paired(
    records: Sequence[Mapping[str, Any]],
) -> list[tuple[Mapping[str, Any], Mapping[str, Any], Target]]:
    pairs = []
    for record in records:
        for role, target in zip(
            record.get("roles", []), targets_of(record), strict=True
        ):
            pairs.append((record, role, target))
    return pairs


def _user(record: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": user["name"],
        "arn": user["arn"],
        "account_id": record["account_id"],
        "groups": list(user.get("groups", [])),
        "mfa_devices": len(user.get("mfa_devices", [])),
        "boundary": user.get("boundary", ""),
    }


def _group(record: Mapping[str, Any], group: Mapping[str, Any]) -> dict[str, Any]:
    members = [
        u["name"] for u in record.get("users", []) if group["name"] in u["groups"]
    ]
    return {
        "name": group["name"],
        "arn": group["arn"],
        "account_id": record["account_id"],
        "members": members,
    }


def _role(
    record: Mapping[str, Any],
    role: Mapping[str, Any],
    target: Target,
    members: frozenset[str],
    organization_id: str,
) -> dict[str, Any]:
    return {
        "account_id": record["account_id"],
        "name": role["name"],
        "arn": role["arn"],
        "level": role["level"],
        "level_reason": role["level_reason"],
        "boundary": role.get("boundary", ""),
        "last_used": role.get("last_used"),
        "trusted": summarise_trust(target.trust, members, organization_id),
    }
