"""The ``[switch]`` section of orgtop's config: how role switching behaves.

Example::

    [switch]
    duration_seconds = 28800      # asked for; clamped to each role's maximum
    read_only = false             # offer only read-only roles
    mfa_keyring = false           # keep the MFA session in the OS keyring
    profile_name = "{team}-{env}-{role}"

    [[switch.role]]               # used when no access map lists the grants
    name = "ReadOnly"
    level = "read-only"
    max_session_seconds = 43200
    accounts = ["env:prod", "team:payments", "search-dev"]
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from collectors.tomlcheck import Table

LEVELS = ("admin", "power-user", "read-only", "custom", "unknown")
"""Access levels of a role, from the most to the least known."""

MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 43200
"""AssumeRole accepts DurationSeconds from 15 minutes to 12 hours."""

FEDERATION_ENDPOINT = "https://signin.aws.amazon.com/federation"
CONSOLE_URL = "https://console.aws.amazon.com/"
PROFILE_FIELDS = ("team", "env", "role", "account", "account_id")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


@dataclass(frozen=True, slots=True)
class RoleSetting:
    """A role named in the config, offered when no access map lists grants."""

    name: str
    level: str = "unknown"
    max_session_seconds: int | None = None
    accounts: tuple[str, ...] = ()
    """Account names, ids, ``team:NAME`` or ``env:NAME``; empty means every one."""


@dataclass
class SwitchSettings:
    """Settings of ``switch``, ``exec``, ``profiles`` and the TUI's role keys."""

    duration_seconds: int = 3600
    read_only: bool = False
    roles: list[RoleSetting] = field(default_factory=list)
    profile_name: str = "{team}-{env}-{role}"
    profile_source: str = ""
    """``source_profile`` of generated profiles; default: ``[aws] source_profile``."""
    mfa_serial: str = ""
    """MFA device for generated profiles; default: the source profile's."""
    mfa_keyring: bool = False
    session_name: str = "orgtop"
    federation_endpoint: str = FEDERATION_ENDPOINT
    console_url: str = CONSOLE_URL
    endpoint_url: str = ""
    """AWS endpoint exported to shells and commands; set only by the demo world."""


def parse_switch_settings(table: Table) -> SwitchSettings:
    """Read the ``[switch]`` section, rejecting unknown keys and bad values."""
    settings = SwitchSettings()
    settings.duration_seconds = _session_seconds(table, "duration_seconds", 3600)
    settings.read_only = table.get("read_only", bool, False)
    settings.mfa_keyring = table.get("mfa_keyring", bool, False)
    settings.profile_name = table.get("profile_name", str, settings.profile_name)
    problem = profile_pattern_problem(settings.profile_name)
    if problem:
        raise table.error("profile_name", problem)
    settings.profile_source = table.get("profile_source", str, "")
    settings.mfa_serial = table.get("mfa_serial", str, "")
    settings.session_name = table.get("session_name", str, settings.session_name)
    if not re.fullmatch(r"[\w+=,.@-]{2,64}", settings.session_name):
        raise table.error(
            "session_name", "must be 2 to 64 letters, digits or any of + = , . @ _ -"
        )
    settings.federation_endpoint = _url(
        table, "federation_endpoint", FEDERATION_ENDPOINT
    )
    settings.console_url = _url(table, "console_url", CONSOLE_URL)
    settings.roles = [_role(entry) for entry in table.tables("role")]
    table.done()
    return settings


def parse_duration(text: str) -> int:
    """Parse ``8h``, ``90m``, ``1h30m`` or plain seconds into seconds.

    Raises:
        ValueError: the text is not a duration or is outside 15 minutes to 12 hours.
    """
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(f"invalid duration {text!r}; use e.g. 8h, 90m or 3600")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not MIN_SESSION_SECONDS <= total <= MAX_SESSION_SECONDS:
        raise ValueError(
            f"duration {text!r} is {total} s; it must be between 15m and 12h"
        )
    return total


def profile_pattern_problem(pattern: str) -> str | None:
    """Return why a profile name pattern is unusable, or None when it is fine."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name}
    except ValueError as error:
        return f"invalid pattern: {error}"
    unknown = names - set(PROFILE_FIELDS)
    if unknown:
        known = ", ".join("{" + name + "}" for name in PROFILE_FIELDS)
        return f"unknown field {{{sorted(unknown)[0]}}}; use {known}"
    if "role" not in names:
        return "must contain {role}, or every role of an account gets the same name"
    return None


def _session_seconds(table: Table, key: str, default: int) -> int:
    value = table.get(key, int, default)
    if not MIN_SESSION_SECONDS <= value <= MAX_SESSION_SECONDS:
        raise table.error(key, "must be between 900 and 43200 seconds")
    return value


def _url(table: Table, key: str, default: str) -> str:
    value = table.get(key, str, default)
    if not re.match(r"^https?://[^/\s]+", value):
        raise table.error(key, f"{value!r} is not an http(s) URL")
    return value


def _role(entry: Table) -> RoleSetting:
    name = entry.get("name", str, "")
    if not re.fullmatch(r"[\w+=,.@/-]{1,64}", name):
        raise entry.error("name", f"{name!r} is not an IAM role name")
    level = entry.get("level", str, "unknown")
    if level not in LEVELS:
        raise entry.error("level", f"must be one of {', '.join(LEVELS)}")
    maximum = None
    if entry.has("max_session_seconds"):
        maximum = _session_seconds(entry, "max_session_seconds", 3600)
    accounts = tuple(entry.strings("accounts"))
    entry.done()
    return RoleSetting(name, level, maximum, accounts)
