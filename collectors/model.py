"""Records shared by every collector, the store, the CLI and the TUI."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """Return the current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """Format a UTC time as ISO 8601 with a ``Z`` suffix and whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ErrorKind(enum.StrEnum):
    """Kinds a failed call is mapped to, from the AWS or Datadog error code."""

    ACCESS_DENIED = "access-denied"
    THROTTLED = "throttled"
    EXPIRED_CREDENTIALS = "expired-credentials"
    NOT_FOUND = "not-found"
    TIMEOUT = "timeout"
    UNEXPECTED = "unexpected"


class State(enum.StrEnum):
    """Expected conditions: shown to the user, never counted as failures."""

    REGION_DISABLED = "region-disabled"
    NOT_CONFIGURED = "not-configured"
    SUSPENDED = "suspended"
    RATE_LIMITED = "rate-limited"
    UNKNOWN_VALUE = "unknown-value"


class Severity(enum.IntEnum):
    """Alert severities, valued as monitoring-plugin exit codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True, slots=True)
class Account:
    """One AWS account of the organization as the inventory maps it."""

    id: str
    name: str
    email: str = ""
    status: str = "ACTIVE"
    team: str = "unassigned"
    env: str = "unassigned"
    ou_path: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    mapped_by: str = "none"
    regions: tuple[str, ...] = ()
    disabled_regions: tuple[str, ...] = ()
    role: str = ""

    @property
    def active(self) -> bool:
        """Whether the account can be collected (not suspended or closed)."""
        return self.status == "ACTIVE"

    def to_dict(self) -> dict[str, Any]:
        """Convert to the JSON shape used by the store and ``collect --json``."""
        data = asdict(self)
        data["regions"] = list(self.regions)
        data["disabled_regions"] = list(self.disabled_regions)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Account:
        """Build an account from :meth:`to_dict` output."""
        values = dict(data)
        values["regions"] = tuple(values.get("regions", ()))
        values["disabled_regions"] = tuple(values.get("disabled_regions", ()))
        values["tags"] = dict(values.get("tags", {}))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """A failed call: which account, region, collector and operation, and why."""

    kind: ErrorKind
    account_id: str
    region: str
    collector: str
    operation: str
    message: str
    code: str = ""
    at: str = field(default_factory=lambda: isoformat(utcnow()))

    def to_dict(self) -> dict[str, Any]:
        """Convert to the JSON shape used by the store and ``collect --json``."""
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorRecord:
        """Build an error record from :meth:`to_dict` output."""
        values = dict(data)
        values["kind"] = ErrorKind(values["kind"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class StateRecord:
    """An expected condition for an account, region and collector."""

    state: State
    account_id: str
    region: str
    collector: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Convert to the JSON shape used by the store and ``collect --json``."""
        data = asdict(self)
        data["state"] = str(self.state)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StateRecord:
        """Build a state record from :meth:`to_dict` output."""
        values = dict(data)
        values["state"] = State(values["state"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Alert:
    """One finding that ``orgtop check`` prints as a line."""

    severity: Severity
    rule: str
    summary: str
    account_id: str = ""
    region: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Convert to the JSON shape of ``check --json``."""
        data = asdict(self)
        data["severity"] = self.severity.name.lower()
        return data
