"""App-level messages: facts the background runtime reports to the UI."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

from textual.message import Message

from collectors.snapshot import Snapshot


@dataclass
class SnapshotCollected(Message):
    """A refresh finished; ``generation`` identifies the refresh."""

    snapshot: Snapshot
    generation: int
    not_saved: str = ""
    """The store error that kept the snapshot out of the store, or empty."""


@dataclass
class InventoryCollected(Message):
    """A refresh listed the accounts; collectors are still running."""

    snapshot: Snapshot
    generation: int


@dataclass
class SectionsCollected(Message):
    """A collector of a running refresh finished; the snapshot so far."""

    snapshot: Snapshot
    generation: int


@dataclass
class MfaRequested(Message):
    """The source profile needs an MFA code; resolve ``answer`` with it or None."""

    serial: str
    answer: concurrent.futures.Future[str | None]
