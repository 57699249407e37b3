"""Discover the organization's accounts and map each to a team and environment.

``ListAccounts`` runs on every refresh so new and removed accounts show up at
once. The per-account details (``ListParents``, ``ListTagsForResource`` and the
enabled regions from the Account Management API's ``ListRegions``) change
rarely and are reused from the previous snapshot for ``ttl_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from collectors.config import ORG_TEAM, Config, MappingRules
from collectors.errors import classify
from collectors.model import Account, ErrorKind, ErrorRecord

log = logging.getLogger(__name__)

DETAIL_TTL_SECONDS = 3600.0
UNASSIGNED = "unassigned"


@dataclass
class Inventory:
    """Accounts found, plus errors for details that could not be read."""

    accounts: list[Account]
    organization_id: str = ""
    errors: list[ErrorRecord] = field(default_factory=list)
    details_fetched_at: float = 0.0


def map_account(account: Account, rules: MappingRules) -> tuple[str, str, str]:
    """Return ``(team, env, rule)`` for an account, first matching rule wins.

    Order: the explicit table, the team and env tags, the OU path rules, the
    name pattern. An account no rule places is ``unassigned``, never dropped.
    """
    team = env = ""
    rule = "none"
    explicit = rules.explicit.get(account.id)
    if explicit:
        team, env = explicit
        rule = "explicit"
    if not (team and env):
        tag_team = account.tags.get(rules.team_tag, "")
        tag_env = account.tags.get(rules.env_tag, "")
        if tag_team or tag_env:
            team, env = team or tag_team, env or tag_env
            rule = rule if rule != "none" else "tags"
    if not (team and env):
        for ou_rule in rules.ou_rules:
            path = account.ou_path.strip("/")
            if path == ou_rule.prefix or path.startswith(ou_rule.prefix + "/"):
                team, env = team or ou_rule.team, env or ou_rule.env
                rule = rule if rule != "none" else "ou"
                if team and env:
                    break
    if not (team and env) and rules.name_pattern is not None:
        match = rules.name_pattern.match(account.name)
        if match:
            team = team or match.group("team")
            env = env or match.group("env")
            rule = rule if rule != "none" else "name"
    env = rules.env_aliases.get(env, env)
    return team or UNASSIGNED, env or UNASSIGNED, rule


async def discover(
    organizations: Any,
    account_api: Any,
    config: Config,
    previous: Sequence[Account] = (),
    *,
    refresh_details: bool = True,
    call: Any = None,
) -> Inventory:
    """List the accounts and fill in OU path, tags, regions and mapping."""
    call = call or _plain_call
    organization = await call(organizations, "describe_organization")
    org_id = organization["Organization"]["Id"]
    listed: list[dict[str, Any]] = []
    arguments: dict[str, str] = {}
    while True:
        page = await call(organizations, "list_accounts", **arguments)
        listed.extend(page["Accounts"])
        if not page.get("NextToken"):
            break
        arguments = {"NextToken": page["NextToken"]}
    known = {account.id: account for account in previous}
    ou_paths: dict[str, Any] = {}
    errors: list[ErrorRecord] = []

    async def detail(entry: dict[str, Any]) -> Account:
        base = Account(
            id=entry["Id"],
            name=entry.get("Name", entry["Id"]),
            email=entry.get("Email", ""),
            status=entry.get("Status", "ACTIVE"),
            role=config.collector_role,
        )
        old = known.get(base.id)
        if old is not None and not refresh_details:
            return _remap(replace(old, name=base.name, status=base.status), config)
        try:
            tags = await _tags(organizations, base.id, call)
            path = await _ou_path(organizations, base.id, ou_paths, call)
            regions, disabled = await _regions(account_api, base, config, call)
        except Exception as error:  # noqa: BLE001 - one account never stops the rest
            errors.append(_error(error, base.id, "inventory"))
            return _remap(old or base, config)
        account = replace(
            base,
            tags=tags,
            ou_path=path,
            regions=tuple(regions),
            disabled_regions=tuple(disabled),
        )
        return _remap(account, config)

    accounts = await asyncio.gather(*(detail(entry) for entry in listed))
    return Inventory(
        sorted(accounts, key=lambda a: (a.team, a.env, a.name)), org_id, errors
    )


def _remap(account: Account, config: Config) -> Account:
    team, env, rule = map_account(account, config.mapping)
    org_roles = {
        config.management_account: "management",
        config.identity_account: "identity",
    }
    if rule == "none" and account.id in org_roles:
        team, env, rule = ORG_TEAM, org_roles[account.id], "org"
    return replace(account, team=team, env=env, mapped_by=rule)


async def _plain_call(client: Any, operation: str, **kwargs: Any) -> Any:
    return await getattr(client, operation)(**kwargs)


async def _tags(organizations: Any, account_id: str, call: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    token = None
    while True:
        arguments: dict[str, Any] = {"ResourceId": account_id}
        if token:
            arguments["NextToken"] = token
        page = await call(organizations, "list_tags_for_resource", **arguments)
        tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
        token = page.get("NextToken")
        if not token:
            return tags


async def _ou_path(
    organizations: Any, child_id: str, cache: dict[str, Any], call: Any
) -> str:
    parents = await call(organizations, "list_parents", ChildId=child_id)
    return await _path_of(organizations, parents["Parents"][0], cache, call, 0)


async def _path_of(
    organizations: Any,
    parent: dict[str, Any],
    cache: dict[str, Any],
    call: Any,
    depth: int,
) -> str:
    # Organizations allows at most five levels of OUs below the root.
    if parent["Type"] == "ROOT" or depth > 5:
        return ""
    ou_id = parent["Id"]
    if ou_id not in cache:
        cache[ou_id] = asyncio.ensure_future(
            _describe_path(organizations, ou_id, cache, call, depth)
        )
    return str(await asyncio.shield(cache[ou_id]))


async def _describe_path(
    organizations: Any, ou_id: str, cache: dict[str, Any], call: Any, depth: int
) -> str:
    described = await call(
        organizations, "describe_organizational_unit", OrganizationalUnitId=ou_id
    )
    name = described["OrganizationalUnit"]["Name"]
    parents = await call(organizations, "list_parents", ChildId=ou_id)
    above = await _path_of(organizations, parents["Parents"][0], cache, call, depth + 1)
    return f"{above}/{name}" if above else name


async def _regions(
    account_api: Any, account: Account, config: Config, call: Any
) -> tuple[list[str], list[str]]:
    if not account.active:
        return [], []
    enabled: list[str] = []
    token = None
    while True:
        arguments: dict[str, Any] = {
            "AccountId": account.id,
            "RegionOptStatusContains": ["ENABLED", "ENABLED_BY_DEFAULT"],
        }
        if token:
            arguments["NextToken"] = token
        page = await call(account_api, "list_regions", **arguments)
        enabled.extend(region["RegionName"] for region in page.get("Regions", []))
        token = page.get("NextToken")
        if not token:
            break
    if not config.regions:
        return sorted(enabled), []
    chosen = [region for region in config.regions if region in enabled]
    disabled = [region for region in config.regions if region not in enabled]
    return chosen, disabled


def _error(error: BaseException, account_id: str, collector: str) -> ErrorRecord:
    result = classify(error)
    return ErrorRecord(
        result.kind or ErrorKind.UNEXPECTED,
        account_id,
        "",
        collector,
        getattr(error, "operation_name", ""),
        result.message,
        code=result.code,
    )
