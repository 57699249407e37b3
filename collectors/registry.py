"""The collector interface and the registry every source plugs into.

A collector declares its scope (once for the organization, once per account,
or per account and region), how long its data stays fresh, how it reads its
config section, how it collects one task, how it merges task results into its
section of a snapshot, and which alerts ``orgtop check`` raises from it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from collectors.model import Account, Alert

if TYPE_CHECKING:
    from collectors.tomlcheck import Table


class Scope(enum.StrEnum):
    """How often a collector runs per refresh."""

    ORG = "org"
    ACCOUNT = "account"
    REGION = "account-region"


class Caller(Protocol):
    """Access to AWS for one task, provided by the refresh."""

    async def client(self, service: str, region: str | None = None) -> Any:
        """Return a client under the task's role (management role for org tasks)."""

    async def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        """Call ``operation`` after the per-operation rate limiter lets it through."""


@dataclass
class TaskContext:
    """Inputs of one task of a collector: account, region, settings and clients."""

    collector: str
    account: Account | None
    region: str
    settings: Any
    previous: dict[str, Any] | None
    now: datetime
    force: bool
    caller: Caller
    scratch: dict[str, Any] = field(default_factory=dict)
    accounts: tuple[Account, ...] = ()
    """Every account of the refresh; filled for :meth:`Collector.prepare` only."""

    async def client(self, service: str, region: str | None = None) -> Any:
        """Return a reused client for ``service`` under this task's role."""
        return await self.caller.client(service, region or self.region)

    async def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        """Call an API operation through the rate limiter."""
        return await self.caller.call(client, operation, **kwargs)


@dataclass(frozen=True, slots=True)
class TaskResult:
    """The outcome of one successful task."""

    account_id: str
    region: str
    data: Any


class Collector:
    """Base class of every source; subclasses set the class attributes."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    scope: ClassVar[Scope] = Scope.ACCOUNT
    ttl_seconds: ClassVar[float] = 0.0
    """Age under which the stored section is reused without any request."""
    order: ClassVar[int] = 100
    partial: ClassVar[bool] = False
    """Whether a refresh of some accounts runs this collector.

    A partial collector's :meth:`keep_outside` puts back the accounts the
    refresh skipped; the sections of other collectors are kept as they were.
    """

    def parse_config(self, table: Table) -> Any:
        """Read this collector's config section; the default accepts none."""
        table.done()
        return None

    def ttl_for(self, settings: Any) -> float:
        """Return the reuse age in seconds: ``ttl_seconds`` unless settings change it."""
        return self.ttl_seconds

    def reusable(self, section: dict[str, Any], settings: Any) -> bool:
        """Return whether a fresh stored section was made under the same settings."""
        return True

    def disabled_reason(self, settings: Any) -> str | None:
        """Return why the collector cannot run (a state, not an error), or None."""
        return None

    def regions(self, account: Account, settings: Any) -> Sequence[str]:
        """Regions to run in for a per-region collector; the account's by default."""
        return account.regions

    async def prepare(self, context: TaskContext) -> None:
        """Run once per refresh before the tasks, e.g. to read shared defaults."""

    async def collect(self, context: TaskContext) -> Any:
        """Collect one task and return JSON-serialisable data."""
        raise NotImplementedError

    def merge(
        self,
        results: Sequence[TaskResult],
        previous: dict[str, Any] | None,
        accounts: Sequence[Account],
        settings: Any,
    ) -> dict[str, Any]:
        """Combine task results into this collector's snapshot section."""
        return {"by_account": {r.account_id: r.data for r in results}}

    def keep_outside(
        self,
        section: dict[str, Any],
        previous: dict[str, Any],
        refreshed: frozenset[str],
    ) -> dict[str, Any]:
        """Add the previous data of accounts outside ``refreshed`` to ``section``.

        Called after :meth:`merge` in a refresh of some accounts only; the
        default handles a ``by_account`` section.
        """
        others = {
            account_id: data
            for account_id, data in previous.get("by_account", {}).items()
            if account_id not in refreshed
        }
        return {**section, "by_account": {**others, **section.get("by_account", {})}}

    def alerts(
        self, section: dict[str, Any], accounts: Sequence[Account], settings: Any
    ) -> list[Alert]:
        """Return the alerts ``orgtop check`` reports from this section."""
        return []


_REGISTRY: dict[str, type[Collector]] = {}


def register(cls: type[Collector]) -> type[Collector]:
    """Class decorator adding a collector to the registry under its name."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def load_builtin() -> None:
    """Import the built-in collector modules so they register themselves."""
    import collectors.sources  # noqa: F401


def collectors() -> list[Collector]:
    """Return one instance of every registered collector, in display order."""
    load_builtin()
    return [cls() for cls in sorted(_REGISTRY.values(), key=lambda c: c.order)]
