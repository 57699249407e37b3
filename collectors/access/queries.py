"""Read the ``iam`` section: one user's grants, one account's grants, the matrix.

These are the functions the TUI's access views and the role switch use, so
every screen shows the same grants as ``orgtop collect --json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from collectors.access.levels import RANK, Level
from collectors.model import Account


def grants_for(section: Mapping[str, Any], principal: str) -> list[dict[str, Any]]:
    """Return the grants of one user, by user name or ARN ("where can I go").

    A user name matches users of every account; pass the ARN to pick one.
    The grants are sorted by account id and role name.
    """
    return [
        dict(grant)
        for grant in section.get("grants", [])
        if principal in (grant["principal"], grant["principal_name"])
    ]


def grants_into(section: Mapping[str, Any], account_id: str) -> list[dict[str, Any]]:
    """Return the grants into one account ("who can get in"), by role then user."""
    found = [g for g in section.get("grants", []) if g["account_id"] == account_id]
    return sorted(found, key=lambda g: (g["role"], g["principal_name"]))


def roles_in(section: Mapping[str, Any], account_id: str) -> list[dict[str, Any]]:
    """Return the roles of one account with their levels and trust rows."""
    return [r for r in section.get("roles", []) if r["account_id"] == account_id]


def findings_for(
    section: Mapping[str, Any], account_id: str = "", principal: str = ""
) -> list[dict[str, Any]]:
    """Return the findings, optionally only those of one account or principal."""
    return [
        f
        for f in section.get("findings", [])
        if (not account_id or f["account_id"] == account_id)
        and (not principal or principal in (f["principal"], _name(f["principal"])))
    ]


def user_arn(source_arn: str) -> str:
    """Return the IAM user ARN a caller ARN stands for, or ``""`` for a role."""
    parts = source_arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("user/"):
        return source_arn
    return ""


@dataclass(frozen=True)
class Cell:
    """The highest level one principal has in one account, and its roles."""

    level: str
    mfa_required: bool
    """Whether every grant at that level needs MFA."""
    roles: tuple[str, ...]


@dataclass
class AccessMatrix:
    """Principals by accounts; a cell where the principal has any grant."""

    principals: list[tuple[str, str]] = field(default_factory=list)
    """``(arn, name)`` of each row."""
    accounts: list[Account] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    """By ``(principal ARN, account id)``."""


def matrix(
    section: Mapping[str, Any],
    accounts: Sequence[Account],
    *,
    user: str = "",
    group: str = "",
    team: str = "",
    env: str = "",
) -> AccessMatrix:
    """Build the principal by account matrix with the highest level per cell.

    ``group`` keeps the grants given through that group; ``team`` and ``env``
    keep the accounts of that team or environment. Rows and columns without
    any grant left are dropped.
    """
    by_id = {account.id: account for account in accounts}
    kept = []
    for grant in section.get("grants", []):
        account = by_id.get(grant["account_id"])
        if user and user not in (grant["principal"], grant["principal_name"]):
            continue
        if group and group not in grant.get("groups", []):
            continue
        if team and (account is None or account.team != team):
            continue
        if env and (account is None or account.env != env):
            continue
        kept.append(grant)
    result = AccessMatrix()
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for grant in kept:
        grouped.setdefault((grant["principal"], grant["account_id"]), []).append(grant)
    for key, grants in grouped.items():
        result.cells[key] = _cell(grants)
    result.principals = sorted(
        {(g["principal"], g["principal_name"]) for g in kept},
        key=lambda p: (p[1], p[0]),
    )
    used = {g["account_id"] for g in kept}
    result.accounts = sorted(
        (by_id[a] if a in by_id else Account(a, a) for a in used),
        key=lambda a: (a.team, a.env, a.name),
    )
    return result


def _cell(grants: Sequence[Mapping[str, Any]]) -> Cell:
    top = max(RANK[Level(g["level"])] for g in grants)
    at_top = [g for g in grants if RANK[Level(g["level"])] == top]
    return Cell(
        level=str(at_top[0]["level"]),
        mfa_required=all(g["mfa_required"] for g in at_top),
        roles=tuple(sorted({g["role"] for g in grants})),
    )


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]
