"""IAM grants: who can assume which role in which account, and with what.

One task per account, under the collector role:

- ``GetAccountAuthorizationDetails`` (paged with ``Marker``, ``MaxItems``
  from ``[iam] page_size``) with the filter ``User``, ``Group``, ``Role`` and
  ``LocalManagedPolicy``: users with their groups, inline and attached
  policies and permissions boundaries, groups and their policies, roles with
  trust policies, policies, boundaries and last use, and the customer
  managed policies' versions. AWS managed policies are left out of the
  filter: they are the same in every account, and some are large
  (``ReadOnlyAccess`` is about 100 kB, and would come back from every
  account). The few not classified by name are read once per refresh with
  ``GetPolicy`` and ``GetPolicyVersion``, from whichever account needs one
  first.
- Only where the account has users: ``ListVirtualMFADevices`` for assigned
  virtual devices, then ``ListMFADevices`` for each user without one, which
  finds hardware and FIDO devices too (the details carry no MFA data).
- ``DescribeOrganization`` once per refresh under the management account's
  role, before the tasks, for ``aws:PrincipalOrgID``.

Users of every account are principals, so IAM users left in a member account
are seen as well as those of the identity account. IAM changes rarely, so
the section is reused for ``[iam] ttl_hours`` (default 1; ``--force`` reads
it again). The merge evaluates every grant (see :mod:`collectors.access`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collectors.access.levels import PolicyText, assess_role, known_level
from collectors.access.policy import is_aws_managed, parse_policy
from collectors.access.section import build_section
from collectors.model import Account
from collectors.registry import Collector, Scope, TaskContext, TaskResult, register
from collectors.tomlcheck import Table

log = logging.getLogger(__name__)

DETAIL_FILTER = ["User", "Group", "Role", "LocalManagedPolicy"]
ORGANIZATION_ID = "organization_id"
"""Key in the refresh's shared scratch; missing when ``prepare`` failed."""


@dataclass(frozen=True)
class IamSettings:
    """The ``[iam]`` config section."""

    page_size: int = 100
    """``MaxItems`` per ``GetAccountAuthorizationDetails`` page (AWS allows 1-1000)."""
    ttl_hours: float = 1.0
    """Age under which the stored section is reused without any request."""


@register
class IamCollector(Collector):
    """Reads users, groups and roles of every account and evaluates grants."""

    name = "iam"
    title = "IAM access"
    scope = Scope.ACCOUNT
    ttl_seconds = 3600.0
    order = 60

    def parse_config(self, table: Table) -> IamSettings:
        """Read ``page_size`` and ``ttl_hours``."""
        page_size = table.get("page_size", int, IamSettings.page_size)
        if not 1 <= page_size <= 1000:
            raise table.error("page_size", "must be between 1 and 1000")
        ttl_hours = table.get("ttl_hours", float, IamSettings.ttl_hours)
        if ttl_hours < 0:
            raise table.error(
                "ttl_hours", "must be zero or more; 0 reads IAM every refresh"
            )
        table.done()
        return IamSettings(page_size, ttl_hours)

    def ttl_for(self, settings: Any) -> float:
        """Return ``[iam] ttl_hours`` in seconds."""
        if isinstance(settings, IamSettings):
            return settings.ttl_hours * 3600
        return self.ttl_seconds

    async def prepare(self, context: TaskContext) -> None:
        """Read the organization's id under the management account's role."""
        organizations = await context.client("organizations")
        answer = await context.call(organizations, "describe_organization")
        context.scratch[ORGANIZATION_ID] = str(answer["Organization"]["Id"])

    async def collect(self, context: TaskContext) -> Any:
        """Read one account's IAM details and rate its roles."""
        assert context.account is not None
        settings = context.settings or IamSettings()
        iam = await context.client("iam")
        details = await _details(context, iam, settings.page_size)
        local = {p["Arn"]: _default_document(p) for p in details["Policies"]}
        documents = _Documents(context, iam, local)

        users = [_user(entry) for entry in details["UserDetailList"]]
        if users:
            await _add_mfa_devices(context, iam, users)
        groups = [_group(entry) for entry in details["GroupDetailList"]]
        wanted = {arn for holder in users + groups for arn in holder["attached"]}
        wanted |= {user["boundary"] for user in users if user["boundary"]}
        managed = {arn: await documents.get(arn) for arn in sorted(wanted)}
        roles = [await _role(entry, documents) for entry in details["RoleDetailList"]]
        return {
            "account_id": context.account.id,
            "organization_id": context.scratch.get(ORGANIZATION_ID, ""),
            "users": users,
            "groups": groups,
            "roles": roles,
            "managed": {arn: doc for arn, doc in managed.items() if doc is not None},
        }

    def merge(
        self,
        results: Sequence[TaskResult],
        previous: dict[str, Any] | None,
        accounts: Sequence[Account],
        settings: Any,
    ) -> dict[str, Any]:
        """Evaluate grants and findings across every account's record."""
        return build_section([r.data for r in results], previous, accounts)


async def _details(
    context: TaskContext, iam: Any, page_size: int
) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    arguments: dict[str, Any] = {"Filter": DETAIL_FILTER, "MaxItems": page_size}
    while True:
        page = await context.call(iam, "get_account_authorization_details", **arguments)
        for key, items in merged.items():
            items.extend(page.get(key, []))
        if not page.get("IsTruncated"):
            return merged
        arguments["Marker"] = page["Marker"]


def _default_document(policy: Mapping[str, Any]) -> Any:
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            return version.get("Document")
    return None


def _user(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["UserName"],
        "arn": entry["Arn"],
        "id": entry.get("UserId", ""),
        "groups": list(entry.get("GroupList", [])),
        "policies": _inline(entry.get("UserPolicyList", [])),
        "attached": [p["PolicyArn"] for p in entry.get("AttachedManagedPolicies", [])],
        "boundary": entry.get("PermissionsBoundary", {}).get(
            "PermissionsBoundaryArn", ""
        ),
        "tags": {t["Key"]: t["Value"] for t in entry.get("Tags", [])},
        "mfa_devices": [],
    }


def _group(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["GroupName"],
        "arn": entry["Arn"],
        "policies": _inline(entry.get("GroupPolicyList", [])),
        "attached": [p["PolicyArn"] for p in entry.get("AttachedManagedPolicies", [])],
    }


def _inline(policies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"name": p["PolicyName"], "document": p["PolicyDocument"]} for p in policies
    ]


async def _role(entry: Mapping[str, Any], documents: _Documents) -> dict[str, Any]:
    attached = [p["PolicyArn"] for p in entry.get("AttachedManagedPolicies", [])]
    inline = _inline(entry.get("RolePolicyList", []))
    boundary = entry.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn", "")
    texts = [await documents.text(arn) for arn in attached]
    texts += [
        PolicyText(
            f"inline policy {p['name']}", tuple(parse_policy(p["document"], p["name"]))
        )
        for p in inline
    ]
    assessment = assess_role(
        texts, await documents.text(boundary) if boundary else None
    )
    last_used = entry.get("RoleLastUsed", {}).get("LastUsedDate")
    return {
        "name": entry["RoleName"],
        "arn": entry["Arn"],
        "trust": entry.get("AssumeRolePolicyDocument", {}),
        "attached": attached,
        "boundary": boundary,
        "level": str(assessment.level),
        "level_reason": assessment.reason,
        "last_used": last_used.isoformat() if isinstance(last_used, datetime) else None,
    }


class _Documents:
    """Managed policy documents: the account's own, and AWS's shared per refresh."""

    def __init__(
        self, context: TaskContext, iam: Any, local: Mapping[str, Any]
    ) -> None:
        self.context = context
        self.iam = iam
        self.local = local

    async def get(self, arn: str) -> Any:
        """Return a policy's default version document, or None if unknown."""
        if not is_aws_managed(arn):
            return self.local.get(arn)
        return await _shared(self.context, f"policy {arn}", lambda: self._fetch(arn))

    async def text(self, arn: str) -> PolicyText:
        """Return a policy for rating; AWS job-function policies need no document."""
        name = arn.split(":policy/", 1)[-1]
        if known_level(arn) is not None:
            return PolicyText(name, (), arn)
        document = await self.get(arn)
        statements = tuple(parse_policy(document, name)) if document is not None else ()
        return PolicyText(name, statements, arn)

    async def _fetch(self, arn: str) -> Any:
        policy = await self.context.call(self.iam, "get_policy", PolicyArn=arn)
        version = await self.context.call(
            self.iam,
            "get_policy_version",
            PolicyArn=arn,
            VersionId=policy["Policy"]["DefaultVersionId"],
        )
        return version["PolicyVersion"]["Document"]


async def _add_mfa_devices(
    context: TaskContext, iam: Any, users: list[dict[str, Any]]
) -> None:
    by_arn = {user["arn"]: user for user in users}
    arguments: dict[str, Any] = {"AssignmentStatus": "Assigned"}
    while True:
        page = await context.call(iam, "list_virtual_mfa_devices", **arguments)
        for device in page.get("VirtualMFADevices", []):
            owner = by_arn.get(device.get("User", {}).get("Arn", ""))
            if owner is not None:
                owner["mfa_devices"].append(device["SerialNumber"])
        if not page.get("IsTruncated"):
            break
        arguments["Marker"] = page["Marker"]
    for user in users:
        if user["mfa_devices"]:
            continue
        page = await context.call(iam, "list_mfa_devices", UserName=user["name"])
        user["mfa_devices"] = [d["SerialNumber"] for d in page.get("MFADevices", [])]


async def _shared(
    context: TaskContext, key: str, fetch: Callable[[], Awaitable[Any]]
) -> Any:
    """Run ``fetch`` once per refresh for all tasks; a failed run is retried."""
    cache = context.scratch.setdefault("shared", {})
    if key not in cache:
        cache[key] = asyncio.ensure_future(fetch())
    task = cache[key]
    try:
        return await asyncio.shield(task)
    except Exception:
        if cache.get(key) is task:
            del cache[key]
        raise
