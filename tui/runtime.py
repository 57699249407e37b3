"""The composition root shared by the CLI and the TUI.

It reads the config, starts the demo world when asked, opens the store and
builds the client factory, the source identity, the role sessions and the
refresher, so every command runs the same collectors the same way.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collectors.clients import ClientFactory, ClientSettings
from collectors.config import Config, default_store_path, load_config
from collectors.credentials import MfaCallback, RoleSessions, SourceIdentity
from collectors.errors import ConfigError
from collectors.fanout import Progress
from collectors.refresh import Refresher, close_quietly
from collectors.snapshot import Snapshot
from collectors.store import Store, StoreError

log = logging.getLogger(__name__)


class SnapshotNotSaved(StoreError):
    """A refresh finished but its snapshot could not be stored.

    The error carries the snapshot so callers can still show it, because a full
    disk or an unwritable data directory must not cost the user fresh data.
    """

    def __init__(self, message: str, snapshot: Snapshot) -> None:
        """Keep the message written for the user and the unsaved snapshot."""
        super().__init__(message)
        self.snapshot = snapshot


@dataclass
class Options:
    """Options every command shares."""

    demo: bool = False
    demo_scenario: Path | None = None
    demo_accounts: int = 0
    config: Path | None = None
    store: Path | None = None
    offline: bool = False
    mfa_code: str | None = None


class Runtime:
    """Everything a command needs, opened once and closed at the end."""

    def __init__(
        self, options: Options, mfa_callback: MfaCallback | None = None
    ) -> None:
        """Read the config and, in demo mode, start the demo world."""
        self.options = options
        self.mfa_callback = mfa_callback
        self.world: Any = None
        self.config = self._load_config()
        self.store_path = self._store_path()
        self.store: Store | None = None
        # With --offline the store is only read: never created, migrated or moved.
        self.read_only_store = options.offline
        self.store_warnings: list[str] = []
        """Problems with the store found while opening it, for the user."""
        self.factory: ClientFactory | None = None
        self.refresher: Refresher | None = None

    @property
    def demo(self) -> bool:
        """Whether this runtime serves a demo world."""
        return (
            self.options.demo
            or bool(self.options.demo_scenario)
            or bool(self.options.demo_accounts)
        )

    def _load_config(self) -> Config:
        config = load_config(self.options.config)
        if self.demo and not self.options.offline:
            self.world = _start_world(self.options)
            self.world.configure(config)
        return config

    def _store_path(self) -> Path:
        if self.options.store:
            return self.options.store
        if self.demo:
            label = f"{self.options.demo_scenario}:{self.options.demo_accounts}"
            digest = hashlib.sha1(label.encode()).hexdigest()[:8]
            base = default_store_path(demo=True)
            return base.with_name(f"demo-{digest}.sqlite3")
        return self.config.store_path or default_store_path()

    def open_store(self) -> Store:
        """Open the store (moving a corrupt file aside)."""
        if self.store is None:
            self.store = Store(
                self.store_path,
                retention_days=self.config.retention_days,
                read_only=self.read_only_store,
            )
        return self.store

    def warnings(self) -> list[str]:
        """Return the store problems found so far, each once, for the user."""
        found = list(self.store_warnings)
        if self.store is not None:
            found += self.store.warnings
        return list(dict.fromkeys(found))

    def latest(self) -> Snapshot | None:
        """Return the newest stored snapshot, or None when the store cannot open.

        Outside ``--offline`` a store that cannot be opened (an unwritable
        directory, a newer store version) is a warning, not the end: the
        refresh still runs, and each save tries the store again.
        """
        try:
            return self.open_store().latest()
        except StoreError as error:
            if self.read_only_store:
                raise
            log.warning("store unavailable: %s", error)
            self.store_warnings.append(str(error))
            return None

    def build(self) -> Refresher:
        """Create the factory, source identity, role sessions and refresher."""
        if self.refresher is not None:
            return self.refresher
        config = self.config
        endpoint = self.world.endpoint if self.world else None
        self.factory = ClientFactory(
            ClientSettings(
                endpoint_url=endpoint,
                retry_mode=config.retry_mode,
                max_attempts=config.max_attempts,
            )
        )
        if self.world is not None:
            source = SourceIdentity(
                self.factory,
                keys=self.world.user_credentials,
                mfa_serial=self.world.mfa_serial,
                mfa_callback=self.mfa_callback,
                mfa_code=self.options.mfa_code,
                region=config.home_region,
            )
        else:
            source = SourceIdentity(
                self.factory,
                profile=config.source_profile,
                mfa_callback=self.mfa_callback,
                mfa_code=self.options.mfa_code,
                region=config.home_region,
            )
        roles = RoleSessions(source, duration_seconds=config.role_duration)
        self.refresher = Refresher(
            config,
            self.factory,
            source,
            roles,
            server_counts=self.world.counts if self.world else None,
            demo=self.demo,
        )
        return self.refresher

    async def refresh(
        self,
        previous: Snapshot | None = None,
        *,
        force: bool = False,
        progress: Progress | None = None,
        save: bool = True,
        on_inventory: Callable[[Snapshot], None] | None = None,
        on_sections: Callable[[Snapshot], None] | None = None,
        accounts: Collection[str] = (),
    ) -> Snapshot:
        """Run one refresh and store it; arguments as in :meth:`Refresher.run`.

        Raises:
            SnapshotNotSaved: the store could not be opened or written; the
                error carries the snapshot, and the stored ones are unchanged.
        """
        refresher = self.build()
        snapshot = await refresher.run(
            previous,
            force=force,
            progress=progress,
            on_inventory=on_inventory,
            on_sections=on_sections,
            accounts=accounts,
        )
        if save:
            try:
                self.open_store().save(snapshot)
            except StoreError as error:
                log.error("refresh %d not stored: %s", snapshot.generation, error)
                raise SnapshotNotSaved(str(error), snapshot) from None
        return snapshot

    async def close(self) -> None:
        """Close clients, the store and the demo world."""
        if self.factory is not None:
            await close_quietly(self.factory)
        if self.store is not None:
            self.store.close()
        if self.world is not None:
            self.world.stop()
            self.world = None


def _start_world(options: Options) -> Any:
    from collectors.demo.scenario import generated_scenario, load_scenario
    from collectors.demo.server import DemoWorld

    if options.demo_scenario and options.demo_accounts:
        raise ConfigError(
            "--demo-accounts", "use either --demo-accounts or --demo-scenario"
        )
    if options.demo_accounts:
        scenario = generated_scenario(options.demo_accounts)
    else:
        scenario = load_scenario(options.demo_scenario)
    return DemoWorld(scenario).start()
