"""Findings: what security should look at in the grants and trust policies.

- ``trusts-anyone`` (critical): a trust policy admits ``*`` without holding
  it to the organization;
- ``trusts-outside-account`` (warning): a trust policy admits an account
  that is not in the organization;
- ``admin-without-mfa`` (critical): a user can assume an admin role by a
  way that needs no MFA;
- ``user-without-mfa`` (warning): a user has grants but no MFA device;
- ``grant-added``, ``grant-removed`` and ``grant-changed`` (info): what
  differs from the previous snapshot's grants (a change is a new level or a
  new MFA requirement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from collectors.access.grants import grant_key
from collectors.access.levels import Level

CRITICAL = "critical"
WARNING = "warning"
INFO = "info"


def finding(
    kind: str,
    severity: str,
    summary: str,
    *,
    account_id: str = "",
    role: str = "",
    principal: str = "",
) -> dict[str, Any]:
    """Build the JSON record of one finding."""
    return {
        "kind": kind,
        "severity": severity,
        "summary": summary,
        "account_id": account_id,
        "role": role,
        "principal": principal,
    }


def trust_findings(
    roles: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Report roles that trust anyone or an account outside the organization."""
    found = []
    for role in roles:
        where = f"{role['name']} in {_account(role['account_id'], names)}"
        for row in role.get("trusted", []):
            needs = _needing(row["requirements"])
            if row["scope"] == "anyone":
                found.append(
                    finding(
                        "trusts-anyone",
                        CRITICAL,
                        f"{where} trusts any AWS principal{needs}",
                        account_id=role["account_id"],
                        role=role["name"],
                        principal=row["principal"],
                    )
                )
            elif row["scope"] == "outside":
                found.append(
                    finding(
                        "trusts-outside-account",
                        WARNING,
                        f"{where} trusts account {row['account']} outside the "
                        f"organization{needs}",
                        account_id=role["account_id"],
                        role=role["name"],
                        principal=row["principal"],
                    )
                )
    return found


def grant_findings(
    grants: Sequence[Mapping[str, Any]],
    users: Iterable[Mapping[str, Any]],
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Report admin grants without MFA and users with grants but no MFA device."""
    found = []
    for grant in grants:
        if grant["level"] == Level.ADMIN and not grant["mfa_required"]:
            found.append(
                finding(
                    "admin-without-mfa",
                    CRITICAL,
                    f"{grant['principal_name']} can assume admin role {grant['role']} "
                    f"in {_account(grant['account_id'], names)} without MFA",
                    account_id=grant["account_id"],
                    role=grant["role"],
                    principal=grant["principal"],
                )
            )
    granted = {grant["principal"] for grant in grants}
    for user in users:
        if user["arn"] in granted and not user.get("mfa_devices"):
            count = sum(1 for grant in grants if grant["principal"] == user["arn"])
            found.append(
                finding(
                    "user-without-mfa",
                    WARNING,
                    f"{user['name']} has {count} grants but no MFA device",
                    account_id=user["account_id"],
                    principal=user["arn"],
                )
            )
    return found


def change_findings(
    grants: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] | None,
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Report grants added, removed or changed since the previous snapshot."""
    if previous is None:
        return []
    before = {grant_key(g): g for g in previous}
    after = {grant_key(g): g for g in grants}
    found = []
    for key in sorted(after.keys() - before.keys()):
        found.append(_change("grant-added", "can now assume", after[key], names))
    for key in sorted(before.keys() - after.keys()):
        found.append(
            _change("grant-removed", "can no longer assume", before[key], names)
        )
    for key in sorted(after.keys() & before.keys()):
        old, new = before[key], after[key]
        if (old["level"], old["mfa_required"]) != (new["level"], new["mfa_required"]):
            found.append(
                _change(
                    "grant-changed", f"now has {_describe(new)} through", new, names
                )
            )
    return found


def _change(
    kind: str, verb: str, grant: Mapping[str, Any], names: Mapping[str, str]
) -> dict[str, Any]:
    return finding(
        kind,
        INFO,
        f"{grant['principal_name']} {verb} {grant['role']} "
        f"in {_account(grant['account_id'], names)}",
        account_id=grant["account_id"],
        role=grant["role"],
        principal=grant["principal"],
    )


def _describe(grant: Mapping[str, Any]) -> str:
    mfa = "with MFA" if grant["mfa_required"] else "without MFA"
    return f"{grant['level']} {mfa}"


def _needing(requirements: Sequence[str]) -> str:
    return f" (requires {'; '.join(requirements)})" if requirements else ""


def _account(account_id: str, names: Mapping[str, str]) -> str:
    name = names.get(account_id)
    return f"{name} ({account_id})" if name else account_id
