"""No key, token or session the demo issued appears in the log, store or JSON."""

from __future__ import annotations

import json
import logging
import sqlite3
import zlib
from pathlib import Path

from collectors.snapshot import Snapshot
from tests.conftest import SMALL
from tui.runtime import Options, Runtime


def stored_text(path: Path) -> str:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT body FROM snapshots UNION ALL SELECT body FROM sections")
    bodies = [zlib.decompress(row[0]).decode() for row in rows]
    db.close()
    return "\n".join(bodies)


def leaks(secrets: list[str], **texts: str) -> list[str]:
    return [f"{secret[:6]}... in {name}" for name, text in texts.items() for secret in secrets if secret in text]


async def collect(tmp_path: Path) -> tuple[Runtime, Snapshot, list[str]]:
    runtime = Runtime(Options(demo_scenario=SMALL, store=tmp_path / "s.db", mfa_code="123456"))
    try:
        snapshot = await runtime.refresh()
        secrets = runtime.world.issued_secrets()
    finally:
        await runtime.close()
    return runtime, snapshot, secrets


async def test_refresh_leaks_no_secret(tmp_path: Path, debug_log: Path) -> None:
    runtime, snapshot, secrets = await collect(tmp_path)
    log_text = debug_log.read_text()
    document = json.dumps(snapshot.to_document())
    assert len(secrets) > 10
    assert "refresh 1 finished" in log_text
    assert leaks(secrets, log=log_text, store=stored_text(runtime.store_path), json=document) == []


async def test_botocore_debug_stays_out(tmp_path: Path, debug_log: Path) -> None:
    await collect(tmp_path)
    log_text = debug_log.read_text()
    assert " botocore" not in log_text
    assert "Authorization" not in log_text


async def test_planted_leak_is_caught(tmp_path: Path, debug_log: Path) -> None:
    _, _, secrets = await collect(tmp_path)
    logging.getLogger("collectors.refresh").info("oops %s", secrets[-1])
    found = leaks(secrets, log=debug_log.read_text())
    assert len(found) == 1
