"""The SQLite store: round trip, migration, corruption, unwritable places."""

from __future__ import annotations

import errno
import json
import sqlite3
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.model import Account, ErrorKind, ErrorRecord
from collectors.snapshot import Snapshot
from collectors.store import STORE_VERSION, Store, StoreError


def sample(name: str = "payments-prod") -> Snapshot:
    return Snapshot(
        generated_at=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
        organization_id="o-test",
        accounts=[Account("123456789012", name, team="payments", env="prod")],
        errors=[ErrorRecord(ErrorKind.THROTTLED, "123456789012", "us-east-1", "reach", "GetCallerIdentity", "slow down")],
        sections={"reach": {"by_account": {"123456789012": {"arn": "x"}}}},
    )


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.save(sample())
    loaded = store.latest()
    store.close()
    assert loaded is not None
    assert loaded.to_document() == sample().to_document()


def test_latest_is_newest(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.save(sample("first"))
    store.save(sample("second"))
    latest = store.latest()
    store.close()
    assert latest is not None
    assert latest.accounts[0].name == "second"


def test_version_one_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "generated_at TEXT NOT NULL, body BLOB NOT NULL);"
    )
    body = zlib.compress(json.dumps(sample().to_document()).encode())
    db.execute("INSERT INTO meta VALUES ('version', '1')")
    db.execute("INSERT INTO snapshots (generated_at, body) VALUES (?, ?)", ("2026-12-04T12:00:00Z", body))
    db.commit()
    db.close()
    store = Store(path)
    history = store.history()
    version = store.db.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0]
    migrated = store.latest()
    store.close()
    assert migrated is not None
    assert migrated.sections == sample().sections
    assert int(version) == STORE_VERSION
    assert history[0].accounts == 1
    assert history[0].errors == 1


def test_corrupt_file_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    original = path.read_bytes()
    store = Store(path)
    store.save(sample())
    store.close()
    aside = list(tmp_path.glob("s.sqlite3.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes() == original
    assert store.warnings and "moved it to" in store.warnings[0]


def test_truncated_file_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    for _ in range(20):
        store.save(sample())
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    reopened = Store(path)
    reopened.close()
    assert list(tmp_path.glob("s.sqlite3.corrupt-*"))


def test_unwritable_directory_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(StoreError, match="cannot create the store directory"):
        Store(tmp_path / "sub" / "s.sqlite3")


def test_full_disk_keeps_previous(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.save(sample("kept"))

    class FullDisk:
        def __init__(self, real: sqlite3.Connection) -> None:
            self.real = real

        def __enter__(self):
            return self.real.__enter__()

        def __exit__(self, *exc):
            return self.real.__exit__(*exc)

        def execute(self, sql: str, *args):
            if sql.startswith("INSERT INTO snapshots"):
                raise sqlite3.OperationalError("database or disk is full")
            return self.real.execute(sql, *args)

    real = store.db
    store.db = FullDisk(real)  # type: ignore[assignment]
    with pytest.raises(StoreError, match="previous snapshots are kept"):
        store.save(sample("lost"))
    store.db = real
    latest = store.latest()
    store.close()
    assert latest is not None
    assert latest.accounts[0].name == "kept"


def test_reused_section_stored_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    for _ in range(5):
        store.save(sample())
    blobs = store.db.execute("SELECT COUNT(*) FROM sections").fetchone()[0]
    loaded = store.latest()
    store.close()
    assert blobs == 1
    assert loaded is not None
    assert loaded.sections == sample().sections


def test_retention_drops_unused_sections(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3", retention_days=1)
    old = sample()
    old.generated_at = datetime(2020, 1, 1, tzinfo=UTC)
    old.sections = {"reach": {"by_account": {"1": {"arn": "old"}}}}
    store.save(old)
    store.save(sample())
    blobs = store.db.execute("SELECT COUNT(*) FROM sections").fetchone()[0]
    history = store.history()
    store.close()
    assert blobs == 1
    assert len(history) == 1
