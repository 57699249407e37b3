"""SQLite store of snapshots, with schema versions, migrations and retention.

Each refresh is one row holding the snapshot document as zlib-compressed
JSON. Collector sections are stored apart, once per distinct content: a
section reused within its TTL (cost, quota values) costs no space again. A file that SQLite
cannot read is moved aside (``NAME.corrupt-TIMESTAMP``), never deleted.
The store holds what ``collect --json`` prints and nothing secret.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collectors.snapshot import Snapshot

log = logging.getLogger(__name__)

STORE_VERSION = 3
"""Version 1 kept no per-snapshot counts; version 2 adds them for fast listing;
version 3 stores collector sections once per distinct content."""


SECTION_REFS = "_section_refs"
"""Key in a stored body naming each collector section's content hash."""


class StoreError(Exception):
    """The store cannot be read or written; the message tells what to do."""


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A stored snapshot's row, without its body."""

    id: int
    generated_at: str
    accounts: int
    errors: int


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE snapshots ADD COLUMN accounts INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE snapshots ADD COLUMN errors INTEGER NOT NULL DEFAULT 0")
    rows = db.execute("SELECT id, body FROM snapshots").fetchall()
    for row_id, body in rows:
        document = json.loads(zlib.decompress(body))
        db.execute(
            "UPDATE snapshots SET accounts = ?, errors = ? WHERE id = ?",
            (
                len(document.get("accounts", [])),
                len(document.get("errors", [])),
                row_id,
            ),
        )


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    # Older snapshots keep their sections inline; _decode reads both forms.
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS sections (
            hash TEXT PRIMARY KEY, body BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS snapshot_sections (
            snapshot_id INTEGER NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL,
            PRIMARY KEY (snapshot_id, name)
        );
        CREATE INDEX IF NOT EXISTS snapshot_sections_hash
            ON snapshot_sections (hash);
        """
    )


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
}

SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generated_at TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_time ON snapshots (generated_at);
"""


class Store:
    """Snapshots in one SQLite file."""

    def __init__(
        self, path: Path, *, retention_days: int = 30, read_only: bool = False
    ) -> None:
        """Open (creating or migrating) the store; a corrupt file is moved aside.

        ``read_only`` (for ``--offline``) creates, migrates and moves nothing:
        a missing or unreadable file is a :class:`StoreError`.
        """
        self.path = path
        self.retention_days = retention_days
        self.warnings: list[str] = []
        self.db = self._open_read_only() if read_only else self._open()

    def _open_read_only(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise StoreError(f"no store at {self.path}; check --store or run `orgtop collect`")
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            db.execute("SELECT COUNT(*) FROM snapshots").fetchone()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path} is not a readable orgtop store: {error}") from None
        return db

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the store directory {self.path.parent}: "
                f"{error.strerror}; choose another with --store"
            ) from None
        try:
            return self._connect()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and not self.path.exists():
                raise StoreError(
                    f"cannot open the store {self.path}: {error}; check that its "
                    "directory is writable or choose another with --store"
                ) from None
            if self.path.is_dir():
                raise StoreError(
                    f"the store {self.path} is a directory; give a file path "
                    "with --store"
                ) from None
            if _is_access_problem(error):
                raise StoreError(
                    f"cannot open the store {self.path}: {error}; check its "
                    "permissions or choose another with --store"
                ) from None
            aside = self._move_aside()
            message = (
                f"store {self.path} was unreadable ({error}); moved it to {aside} "
                "and started a new one"
            )
            log.warning("%s", message)
            self.warnings.append(message)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            check = db.execute("PRAGMA quick_check").fetchone()
            if check and check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0]}")
            self._ensure_schema(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _ensure_schema(self, db: sqlite3.Connection) -> None:
        db.executescript(SCHEMA_V1)
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if row is None:
            has_rows = db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
            version = 1 if has_rows else 0
        else:
            version = int(row[0])
        if version == 0:
            _migrate_1_to_2(db)
            _migrate_2_to_3(db)
            version = STORE_VERSION
        if version > STORE_VERSION:
            raise StoreError(
                f"store {self.path} was written by a newer orgtop (version "
                f"{version}); upgrade orgtop or use another --store"
            )
        while version < STORE_VERSION:
            log.info("migrating store %s from version %d", self.path, version)
            with db:
                MIGRATIONS[version](db)
            version += 1
        with db:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)",
                (str(version),),
            )

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        self.path.rename(aside)
        for suffix in ("-wal", "-shm"):
            extra = self.path.with_name(self.path.name + suffix)
            if extra.exists():
                extra.rename(aside.with_name(aside.name + suffix))
        return aside

    def save(self, snapshot: Snapshot) -> int:
        """Store a snapshot and apply retention; returns its row id."""
        document = snapshot.to_document()
        sections = {name: _encode(document.pop(name)) for name in snapshot.sections}
        refs = {name: hashlib.sha256(blob).hexdigest() for name, blob in sections.items()}
        document[SECTION_REFS] = refs
        body = _encode(document)
        try:
            with self.db:
                cursor = self.db.execute(
                    "INSERT INTO snapshots (generated_at, body, accounts, errors) "
                    "VALUES (?, ?, ?, ?)",
                    (
                        document["generated_at"],
                        body,
                        len(snapshot.accounts),
                        len(snapshot.errors),
                    ),
                )
                for name, blob in sections.items():
                    self.db.execute(
                        "INSERT OR IGNORE INTO sections (hash, body) VALUES (?, ?)",
                        (refs[name], blob),
                    )
                    self.db.execute(
                        "INSERT INTO snapshot_sections VALUES (?, ?, ?)",
                        (cursor.lastrowid, name, refs[name]),
                    )
                self._apply_retention()
        except sqlite3.OperationalError as error:
            raise StoreError(
                f"cannot write the store {self.path}: {error}; the previous "
                "snapshots are kept; free disk space or choose another --store"
            ) from None
        return int(cursor.lastrowid or 0)

    def _apply_retention(self) -> None:
        if self.retention_days <= 0:
            return
        cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
        newest = self.db.execute("SELECT MAX(id) FROM snapshots").fetchone()[0]
        self.db.execute(
            "DELETE FROM snapshots WHERE generated_at < ? AND id != ?",
            (cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"), newest),
        )
        self.db.execute(
            "DELETE FROM snapshot_sections WHERE snapshot_id NOT IN "
            "(SELECT id FROM snapshots)"
        )
        self.db.execute(
            "DELETE FROM sections WHERE hash NOT IN "
            "(SELECT hash FROM snapshot_sections)"
        )

    def latest(self) -> Snapshot | None:
        """Return the newest snapshot, or None when the store is empty."""
        row = self.db.execute(
            "SELECT body FROM snapshots ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return self._decode(row[0]) if row else None

    def load(self, snapshot_id: int) -> Snapshot | None:
        """Return one snapshot by row id."""
        row = self.db.execute(
            "SELECT body FROM snapshots WHERE id = ?", (snapshot_id,)
        ).fetchone()
        return self._decode(row[0]) if row else None

    def history(self, limit: int = 50) -> list[SnapshotInfo]:
        """List the newest snapshots, newest first."""
        rows = self.db.execute(
            "SELECT id, generated_at, accounts, errors FROM snapshots "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [SnapshotInfo(*row) for row in rows]

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()


    def _decode(self, body: bytes) -> Snapshot:
        document = json.loads(zlib.decompress(body))
        for name, digest in document.pop(SECTION_REFS, {}).items():
            row = self.db.execute(  # only version 3 stores have section refs
                "SELECT body FROM sections WHERE hash = ?", (digest,)
            ).fetchone()
            if row is not None:
                document[name] = json.loads(zlib.decompress(row[0]))
        return Snapshot.from_document(document)


def _encode(value: object) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def _is_access_problem(error: sqlite3.DatabaseError) -> bool:
    text = str(error).lower()
    return "unable to open" in text or "readonly" in text or "permission" in text
