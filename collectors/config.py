"""orgtop's own config file: where it reads, how it maps accounts, limits.

The file is TOML, read strictly: a wrong type or an unknown key is a
:class:`~collectors.errors.ConfigError` that names the file, line and key.
Each collector reads its own section (``[cost]``, ``[quotas]``...) through
:meth:`collectors.registry.Collector.parse_config`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from collectors import awsnames, registry
from collectors.errors import ConfigError
from collectors.switch.settings import SwitchSettings, parse_switch_settings
from collectors.tomlcheck import Table, load

APP_NAME = "orgtop"
ACCOUNT_ID = re.compile(r"^\d{12}$")
DEFAULT_PRODUCTION_ENVS = ("prod", "production", "prd")
DEFAULT_NAME_PATTERN = (
    r"^(?P<team>[a-z0-9][a-z0-9-]*?)-"
    r"(?P<env>dev|development|test|qa|staging|stage|uat|prod|production|prd|ops)$"
)
ORG_TEAM = "org"
"""Team of the management and identity accounts when no rule maps them."""
MAX_CONCURRENCY = 500
"""Each running task keeps a connection open, and Linux allows 1,024 open files."""


def default_config_path() -> Path:
    """Return ``config.toml`` in the platform's config directory."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_store_path(demo: bool = False) -> Path:
    """Return the store in the platform's data directory; the demo has its own."""
    name = "demo.sqlite3" if demo else "orgtop.sqlite3"
    return Path(platformdirs.user_data_dir(APP_NAME)) / name


@dataclass(frozen=True, slots=True)
class OuRule:
    """Maps accounts under an OU path prefix to a team and/or environment."""

    prefix: str
    team: str = ""
    env: str = ""


@dataclass
class MappingRules:
    """Rules mapping an account to a team and an environment, first match wins."""

    explicit: dict[str, tuple[str, str]] = field(default_factory=dict)
    team_tag: str = "team"
    env_tag: str = "env"
    ou_rules: list[OuRule] = field(default_factory=list)
    name_pattern: re.Pattern[str] | None = re.compile(DEFAULT_NAME_PATTERN)
    env_aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class Config:
    """orgtop's settings, from the config file or defaults."""

    path: Path | None = None
    source_profile: str | None = None
    management_account: str = ""
    identity_account: str = ""
    collector_role: str = "OrganizationAccountAccessRole"
    home_region: str = "us-east-1"
    regions: list[str] = field(default_factory=list)
    role_duration: int = 3600
    production_envs: tuple[str, ...] = DEFAULT_PRODUCTION_ENVS
    mapping: MappingRules = field(default_factory=MappingRules)
    concurrency: int = 32
    task_timeout: float = 30.0
    retry_mode: str = "standard"
    max_attempts: int = 5
    rate_limits: dict[str, float] = field(default_factory=dict)
    refresh_interval: int = 300
    store_path: Path | None = None
    retention_days: int = 30
    collector_settings: dict[str, Any] = field(default_factory=dict)
    switch: SwitchSettings = field(default_factory=SwitchSettings)

    def is_production(self, env: str) -> bool:
        """Return whether an environment name counts as production."""
        return env.lower() in self.production_envs

    def settings_for(self, name: str) -> Any:
        """Return a collector's parsed settings (defaults when it had no section)."""
        return self.collector_settings.get(name)


def load_config(path: Path | None, *, required: bool = False) -> Config:
    """Read the config file; a missing default file yields the defaults."""
    target = path or default_config_path()
    if not target.exists():
        if required or path is not None:
            raise ConfigError(str(target), "file not found; create it or drop --config")
        return _with_collector_defaults(Config())
    data, text = load(target)
    return parse_config(Table(data, str(target), text), target)


def parse_config(root: Table, path: Path | None) -> Config:
    """Build a :class:`Config` from a parsed TOML table."""
    config = Config(path=path)
    _parse_aws(root.table("aws"), config)
    _parse_mapping(root.table("mapping"), config)
    _parse_fanout(root.table("fanout"), config)
    refresh = root.table("refresh")
    config.refresh_interval = _non_negative(refresh, "interval", 300)
    refresh.done()
    store = root.table("store")
    store_path = store.get("path", str, "")
    config.store_path = Path(store_path).expanduser() if store_path else None
    config.retention_days = _non_negative(store, "retention_days", 30)
    store.done()
    config.switch = parse_switch_settings(root.table("switch"))
    for collector in registry.collectors():
        section = root.table(collector.name)
        config.collector_settings[collector.name] = collector.parse_config(section)
    root.done()
    return config


def _with_collector_defaults(config: Config) -> Config:
    for collector in registry.collectors():
        empty = Table({}, "<defaults>", "", collector.name)
        config.collector_settings[collector.name] = collector.parse_config(empty)
    return config


def _parse_aws(aws: Table, config: Config) -> None:
    config.source_profile = aws.get("source_profile", str, "") or None
    config.management_account = _account_id(aws, "management_account")
    config.identity_account = _account_id(aws, "identity_account")
    config.collector_role = aws.get("collector_role", str, config.collector_role)
    config.home_region = aws.get("home_region", str, config.home_region)
    config.regions = aws.strings("regions")
    # The default home region needs no check, and checking loads botocore's
    # endpoint data (about 90 ms), so only regions from the file are checked.
    checked = [("regions", region) for region in config.regions]
    if aws.has("home_region"):
        checked.insert(0, ("home_region", config.home_region))
    for key, region in checked:
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
            raise aws.error(key, f"{region!r} is not an AWS region name like us-east-1")
        if region not in awsnames.known_regions():
            raise aws.error(key, awsnames.unknown_region_hint(region))
    config.role_duration = aws.get("role_duration", int, 3600)
    if not 900 <= config.role_duration <= 43200:
        raise aws.error("role_duration", "must be between 900 and 43200 seconds")
    aws.done()


def _account_id(table: Table, key: str) -> str:
    value = table.get(key, str, "")
    if value and not ACCOUNT_ID.match(value):
        raise table.error(key, f"{value!r} is not a 12-digit AWS account id")
    return value


def _parse_mapping(mapping: Table, config: Config) -> None:
    rules = config.mapping
    rules.team_tag = mapping.get("team_tag", str, "team")
    rules.env_tag = mapping.get("env_tag", str, "env")
    pattern = mapping.get("name_pattern", str, DEFAULT_NAME_PATTERN)
    if pattern:
        try:
            rules.name_pattern = re.compile(pattern)
        except re.error as error:
            message = f"invalid regular expression: {error}"
            raise mapping.error("name_pattern", message) from None
        missing = {"team", "env"} - set(rules.name_pattern.groupindex)
        if missing:
            raise mapping.error(
                "name_pattern", "needs named groups (?P<team>...) and (?P<env>...)"
            )
    else:
        rules.name_pattern = None
    envs = mapping.strings("production_envs", list(DEFAULT_PRODUCTION_ENVS))
    config.production_envs = tuple(env.lower() for env in envs)
    rules.env_aliases = mapping.mapping("env_aliases")
    accounts = mapping.table("accounts")
    for account_id in accounts.data:
        entry = accounts.table(account_id)
        if not ACCOUNT_ID.match(account_id):
            raise accounts.error(account_id, "keys must be 12-digit account ids")
        rules.explicit[account_id] = (
            entry.get("team", str, ""),
            entry.get("env", str, ""),
        )
        entry.done()
    accounts.done()
    for rule in mapping.tables("ou"):
        prefix = rule.get("path", str, "")
        if not prefix:
            raise rule.error(
                "path", "each [[mapping.ou]] needs a path like Workloads/Payments"
            )
        rules.ou_rules.append(
            OuRule(
                prefix.strip("/"), rule.get("team", str, ""), rule.get("env", str, "")
            )
        )
        rule.done()
    mapping.done()


def _parse_fanout(fanout: Table, config: Config) -> None:
    config.concurrency = fanout.get("concurrency", int, config.concurrency)
    if config.concurrency < 1:
        raise fanout.error("concurrency", "must be 1 or more")
    if config.concurrency > MAX_CONCURRENCY:
        raise fanout.error("concurrency", f"must be {MAX_CONCURRENCY} or less")
    config.task_timeout = fanout.get("task_timeout", float, config.task_timeout)
    if not math.isfinite(config.task_timeout) or config.task_timeout <= 0:
        raise fanout.error("task_timeout", "must be a number of seconds above 0")
    config.retry_mode = fanout.get("retry_mode", str, config.retry_mode)
    if config.retry_mode not in ("standard", "adaptive", "legacy"):
        raise fanout.error("retry_mode", "must be standard, adaptive or legacy")
    config.max_attempts = fanout.get("max_attempts", int, config.max_attempts)
    if config.max_attempts < 1:
        raise fanout.error("max_attempts", "must be 1 or more (1 means no retries)")
    limits = fanout.table("rate_limits")
    for key in limits.data:
        rate = limits.get(key, float, 0.0)
        service, _, operation = key.partition(".")
        if not service or not operation:
            raise limits.error(
                key, "keys are service.Operation or service.*, e.g. \"ce.*\""
            )
        if service not in awsnames.known_services():
            raise limits.error(
                key, f"{service!r} is not a botocore service name such as ce or sts"
            )
        if not math.isfinite(rate) or rate < 0:
            raise limits.error(key, "must be zero or more requests a second (0: none)")
        config.rate_limits[key] = rate
    limits.done()
    fanout.done()


def _non_negative(table: Table, key: str, default: int) -> int:
    value = table.get(key, int, default)
    if value < 0:
        raise table.error(key, "must be zero or more")
    return value
