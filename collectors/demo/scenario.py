"""The scenario format: one TOML file describing a whole demo organization.

A scenario names its teams and environments, and accounts are generated as
``<team>-<env>`` with deterministic ids; ``[[account]]`` entries override
generated accounts or add others. ``[identity]`` lists the IAM users and
groups of the identity account, ``[[role]]`` the roles of every member
account and ``[[fault]]`` the failures the demo server injects. Sources add
their own sections (``[cost]``, ``[quotas]``, ``[datadog]``, ``[access]``)
through :data:`SECTION_PARSERS`. The schema is documented in
``docs/scenario.md``; unknown keys are rejected.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from collectors.demo.faults import FaultRule, parse_fault
from collectors.errors import ConfigError
from collectors.tomlcheck import Table, load

SCENARIO_VERSION = 1
DEFAULT_SCENARIO = "default_scenario.toml"
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION_NAME = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
KNOWN_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-east-1",
        "sa-east-1",
        "me-south-1",
        "me-central-1",
        "af-south-1",
        "il-central-1",
        "mx-central-1",
    }
)
DEFAULT_ROLES = ("ReadOnly", "Developer", "Admin")
TEAM_NAMES = (
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "platform",
    "data",
    "mobile",
    "growth",
    "fraud",
    "ledger",
    "notifications",
    "pricing",
    "shipping",
    "inventory",
    "support",
    "analytics",
    "ml",
    "web",
    "partners",
)

SectionParser = Callable[[Table, "Scenario"], Any]
SECTION_PARSERS: dict[str, SectionParser] = {}
"""Parsers of source sections by top-level key; each module registers its own."""


def section_parser(name: str) -> Callable[[SectionParser], SectionParser]:
    """Register a parser for the scenario's ``[name]`` section."""

    def decorate(parser: SectionParser) -> SectionParser:
        SECTION_PARSERS[name] = parser
        return parser

    return decorate


@dataclass
class DemoAccount:
    """One account of the demo organization."""

    id: str
    name: str
    team: str = ""
    env: str = ""
    ou: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "ACTIVE"
    disabled_regions: list[str] = field(default_factory=list)
    kind: str = "workload"
    missing_roles: list[str] = field(default_factory=list)

    @property
    def email(self) -> str:
        """Return the account's root email, derived from its name."""
        return f"aws+{self.name}@example.com"


@dataclass
class DemoUser:
    """An IAM user of the identity account."""

    name: str
    groups: list[str] = field(default_factory=list)
    mfa: bool = True
    policies: list[str] = field(default_factory=list)


@dataclass
class DemoGroup:
    """An IAM group of the identity account with its inline assume-role grants."""

    name: str
    policies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DemoRole:
    """A role created in every member account (or in the listed ones)."""

    name: str
    managed_policies: list[str] = field(default_factory=list)
    trust: str = "identity"
    require_mfa: bool = False
    max_session_seconds: int = 3600
    accounts: list[str] = field(default_factory=list)
    trust_policy: dict[str, Any] | None = None


@dataclass
class Scenario:
    """A parsed scenario: the organization, its people, roles, faults and sources."""

    name: str
    seed: int
    regions: list[str]
    home_region: str
    envs: list[str]
    accounts: list[DemoAccount]
    organization_id: str
    management: DemoAccount
    identity: DemoAccount
    log_archive: DemoAccount
    users: list[DemoUser]
    groups: list[DemoGroup]
    demo_user: str
    roles: list[DemoRole]
    faults: list[FaultRule]
    today: date
    sections: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    collector_role: str = "OrganizationAccountAccessRole"

    def account(self, key: str) -> DemoAccount | None:
        """Find an account by name or id."""
        for account in self.accounts:
            if key in (account.name, account.id):
                return account
        return None

    def account_id(self, key: str) -> str:
        """Return the id of an account named by name or id ("*" passes through)."""
        if key == "*":
            return key
        account = self.account(key)
        if account is None:
            raise KeyError(key)
        return account.id

    @property
    def members(self) -> list[DemoAccount]:
        """Every account except the management account."""
        return [a for a in self.accounts if a.id != self.management.id]

    @property
    def teams(self) -> list[str]:
        """Team names in scenario order."""
        seen: dict[str, None] = {}
        for account in self.accounts:
            if account.team:
                seen.setdefault(account.team)
        return list(seen)


def account_id_for(seed: int, name: str) -> str:
    """Derive a stable 12-digit account id from the seed and the account name."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()
    number = int(digest[:15], 16) % 900_000_000_000 + 100_000_000_000
    return str(number)


def builtin_path() -> Path:
    """Return the path of the default scenario shipped in the package."""
    return Path(str(resources.files("collectors.data").joinpath(DEFAULT_SCENARIO)))


def load_scenario(path: Path | None = None, *, today: date | None = None) -> Scenario:
    """Read and validate a scenario file (the built-in one by default)."""
    _load_section_parsers()
    target = path or builtin_path()
    data, text = load(target)
    return parse_scenario(Table(data, str(target), text), today=today)


def generated_scenario(accounts: int, *, today: date | None = None) -> Scenario:
    """Build a scenario of about ``accounts`` accounts from the default one."""
    if accounts < 8:
        raise ConfigError(
            "--demo-accounts", f"needs at least 8 accounts, got {accounts}"
        )
    _load_section_parsers()
    target = builtin_path()
    data, text = load(target)
    team_count = max(1, (accounts - 3) // 4)
    data["team"] = [{"name": _team_name(i)} for i in range(team_count)]
    data["account"] = [
        entry
        for entry in data.get("account", [])
        if _team_of(entry.get("name", "")) in {_team_name(i) for i in range(team_count)}
    ]
    data.setdefault("scenario", {})["name"] = f"generated, {accounts} accounts"
    return parse_scenario(
        Table(data, f"<generated {accounts}>", text), today=today, lenient=True
    )


def _team_name(index: int) -> str:
    if index < len(TEAM_NAMES):
        return TEAM_NAMES[index]
    return f"team{index:04d}"


def _team_of(account_name: str) -> str:
    return account_name.rsplit("-", 1)[0]


def _load_section_parsers() -> None:
    from collectors.demo import plugins

    plugins.load_all()


def parse_scenario(
    root: Table, *, today: date | None = None, lenient: bool = False
) -> Scenario:
    """Validate a parsed scenario table and build a :class:`Scenario`."""
    head = root.table("scenario")
    version = head.get("schema_version", int, SCENARIO_VERSION)
    if version != SCENARIO_VERSION:
        raise head.error(
            "schema_version",
            f"unsupported version {version}; this orgtop reads {SCENARIO_VERSION}",
        )
    name = head.get("name", str, "demo")
    seed = head.get("seed", int, 1)
    regions = head.strings("regions", ["us-east-1", "eu-west-1", "ap-southeast-2"])
    for region in regions:
        _check_region(head, "regions", region)
    home = head.get("home_region", str, regions[0])
    _check_region(head, "home_region", home)
    envs = head.strings("envs", ["dev", "staging", "prod", "ops"])
    fixed_today = head.get("today", str, "")
    collector_role = head.get("collector_role", str, "OrganizationAccountAccessRole")
    head.done()
    if fixed_today:
        try:
            today = date.fromisoformat(fixed_today)
        except ValueError:
            raise head.error("today", "expected a date like 2026-12-04") from None
    today = today or datetime.now(UTC).date()

    org = root.table("organization")
    org_id = org.get("id", str, f"o-{account_id_for(seed, 'org')[:10]}")
    core = [
        _core_account(org, "management", seed, "Management"),
        _core_account(org, "identity", seed, "Security"),
        _core_account(org, "log_archive", seed, "Security"),
    ]
    org.done()

    accounts = list(core)
    for team in root.tables("team"):
        accounts.extend(_team_accounts(team, envs, seed))
    _apply_overrides(root.tables("account"), accounts, seed, regions)
    _check_unique(root, accounts)

    users, groups, demo_user = _parse_identity(root.table("identity"))
    roles = [_parse_role(table) for table in root.tables("role")]
    scenario = Scenario(
        name=name,
        seed=seed,
        regions=regions,
        home_region=home,
        envs=envs,
        accounts=accounts,
        organization_id=org_id,
        management=core[0],
        identity=core[1],
        log_archive=core[2],
        users=users,
        groups=groups,
        demo_user=demo_user,
        roles=roles,
        faults=[],
        today=today,
        path=root.path,
        collector_role=collector_role,
    )
    scenario.faults = [
        parse_fault(table, scenario, lenient) for table in root.tables("fault")
    ]
    for key, parser in SECTION_PARSERS.items():
        scenario.sections[key] = parser(root.table(key), scenario)
    root.done()
    return scenario


def _check_region(table: Table, key: str, region: str) -> None:
    if not REGION_NAME.match(region) or region not in KNOWN_REGIONS:
        raise table.error(key, f"unknown region {region!r}; use a name like us-east-1")


def _core_account(org: Table, key: str, seed: int, ou: str) -> DemoAccount:
    table = org.table(key)
    name = table.get("name", str, key.replace("_", "-"))
    account_id = table.get("id", str, "") or account_id_for(seed, name)
    if not ACCOUNT_ID.match(account_id):
        raise table.error("id", f"{account_id!r} is not a 12-digit account id")
    tags = table.mapping("tags")
    table.done()
    return DemoAccount(account_id, name, ou=ou, tags=tags, kind=key)


def _team_accounts(team: Table, envs: list[str], seed: int) -> list[DemoAccount]:
    name = team.get("name", str, "")
    if not re.fullmatch(r"[a-z][a-z0-9]*", name):
        raise team.error(
            "name", f"{name!r}: team names are lower-case letters and digits"
        )
    team_envs = team.strings("envs", envs)
    ou = team.get("ou", str, f"Workloads/{name.title()}")
    team.done()
    accounts = []
    for env in team_envs:
        account_name = f"{name}-{env}"
        accounts.append(
            DemoAccount(
                account_id_for(seed, account_name),
                account_name,
                team=name,
                env=env,
                ou=ou,
                tags={"team": name, "env": env},
            )
        )
    return accounts


def _apply_overrides(
    tables: list[Table], accounts: list[DemoAccount], seed: int, regions: list[str]
) -> None:
    by_name = {account.name: account for account in accounts}
    for table in tables:
        name = table.get("name", str, "")
        if not name:
            raise table.error("name", "each [[account]] needs a name")
        account = by_name.get(name)
        if account is None:
            account = DemoAccount(account_id_for(seed, name), name, ou="Sandbox")
            accounts.append(account)
            by_name[name] = account
        account.id = table.get("id", str, account.id)
        if not ACCOUNT_ID.match(account.id):
            raise table.error("id", f"{account.id!r} is not a 12-digit account id")
        account.team = table.get("team", str, account.team)
        account.env = table.get("env", str, account.env)
        account.ou = table.get("ou", str, account.ou)
        if table.has("tags"):
            account.tags = table.mapping("tags")
        account.status = table.get("status", str, account.status)
        if account.status not in ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE"):
            raise table.error("status", "must be ACTIVE, SUSPENDED or PENDING_CLOSURE")
        account.missing_roles = table.strings("missing_roles")
        account.disabled_regions = table.strings("disabled_regions")
        for region in account.disabled_regions:
            if region not in regions:
                raise table.error(
                    "disabled_regions",
                    f"{region!r} is not one of the scenario's regions",
                )
        table.done()


def _check_unique(root: Table, accounts: list[DemoAccount]) -> None:
    seen: dict[str, str] = {}
    for account in accounts:
        if account.id in seen:
            raise root.error(
                "account",
                f"accounts {seen[account.id]!r} and {account.name!r} "
                f"share id {account.id}",
            )
        seen[account.id] = account.name


def _parse_identity(table: Table) -> tuple[list[DemoUser], list[DemoGroup], str]:
    demo_user = table.get("demo_user", str, "demo")
    users = []
    for entry in table.tables("user"):
        users.append(
            DemoUser(
                entry.get("name", str, ""),
                entry.strings("groups"),
                entry.get("mfa", bool, True),
                entry.strings("managed_policies"),
            )
        )
        entry.done()
    groups = []
    for entry in table.tables("group"):
        group = DemoGroup(entry.get("name", str, ""))
        entry.skip("grants")
        group.policies = list(entry.data.get("grants", []))
        entry.done()
        groups.append(group)
    if not any(user.name == demo_user for user in users):
        users.append(DemoUser(demo_user, [], True))
    table.done()
    return users, groups, demo_user


def _parse_role(table: Table) -> DemoRole:
    role = DemoRole(
        name=table.get("name", str, ""),
        managed_policies=table.strings("managed_policies"),
        trust=table.get("trust", str, "identity"),
        require_mfa=table.get("require_mfa", bool, False),
        max_session_seconds=table.get("max_session_seconds", int, 3600),
        accounts=table.strings("accounts"),
    )
    if not role.name:
        raise table.error("name", "each [[role]] needs a name")
    table.done()
    return role
