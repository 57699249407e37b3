"""Fixtures for the dashboard: a stored snapshot, frozen time, live demo apps."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from collectors.config import load_config
from collectors.demo.faults import FaultRule
from collectors.snapshot import Snapshot
from collectors.store import Store
from tests.conftest import SMALL
from tui.app import OrgtopApp
from tui.runtime import Options

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOT_FILE = FIXTURES / "small_snapshot.json"
"""The small scenario collected once with AssumeRole denied into search-prod."""
FROZEN_NOW = datetime(2026, 12, 4, 9, 5, tzinfo=UTC)
"""Five minutes after the stored snapshot was taken."""
DENIED_ACCOUNT = "search-prod"
FAULT = f"""
[[fault]]
service = "sts"
operation = "AssumeRole"
account = "{DENIED_ACCOUNT}"
error = "AccessDenied"
"""


def frozen_clock() -> datetime:
    """Return the fixed "now" of snapshot tests."""
    return FROZEN_NOW


@pytest.fixture
def stored_snapshot() -> Snapshot:
    """The small organization as a stored snapshot, with one failing account."""
    return Snapshot.from_document(json.loads(SNAPSHOT_FILE.read_text()))


@pytest.fixture
def offline_app(stored_snapshot: Snapshot) -> OrgtopApp:
    """An offline app showing the stored snapshot at a frozen time."""
    return OrgtopApp(
        Options(offline=True),
        config=load_config(None),
        snapshot=stored_snapshot,
        clock=frozen_clock,
    )


@pytest.fixture
def faulty_scenario(tmp_path: Path) -> Path:
    """The small scenario with AssumeRole into search-prod denied."""
    path = tmp_path / "faulty.toml"
    path.write_text(SMALL.read_text() + FAULT)
    return path


def live_app(
    scenario: Path,
    store: Path,
    *,
    mfa_code: str | None = "123456",
    snapshot: Snapshot | None = None,
) -> OrgtopApp:
    """Build an app that refreshes against a demo world of ``scenario``."""
    options = Options(demo_scenario=scenario, store=store, mfa_code=mfa_code)
    return OrgtopApp(
        options, config=load_config(None), snapshot=snapshot, store_path=store
    )


@asynccontextmanager
async def running(
    app: OrgtopApp, size: tuple[int, int] = (120, 36)
) -> AsyncIterator[Pilot]:
    """Run ``app`` under Pilot and stop its backend (and demo world) afterwards."""
    try:
        async with app.run_test(size=size) as pilot:
            yield pilot
    finally:
        app.close_backend()


async def wait_until(
    pilot: Pilot, condition: Callable[[], bool], timeout: float = 60.0
) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.05)


def store_with(path: Path, snapshot: Snapshot) -> Path:
    """Write ``snapshot`` into a new store at ``path``."""
    store = Store(path)
    store.save(snapshot)
    store.close()
    return path


PATIENT_CONFIG = """
[fanout]
task_timeout = 600
"""
"""A task timeout far beyond any test, so only cancelling ends a hanging task."""


def patient_app(tmp_path: Path) -> OrgtopApp:
    """Build a live app on the small scenario whose tasks never time out."""
    config = tmp_path / "config.toml"
    config.write_text(PATIENT_CONFIG)
    app = live_app(SMALL, tmp_path / "store.sqlite3")
    app.options.config = config
    return app


def hang(app: OrgtopApp, service: str, operation: str, account_id: str) -> FaultRule:
    """Make one operation in one account of the app's demo world hang from now on."""
    assert app.backend is not None and app.backend.runtime is not None
    rule = FaultRule(
        index=99, service=service, operation=operation, account=account_id, hang=True
    )
    app.backend.runtime.world.scenario.faults.append(rule)
    return rule


def account_id(app: OrgtopApp, name: str) -> str:
    """Return the id of the account called ``name`` in the app's snapshot."""
    assert app.snapshot is not None
    account = app.snapshot.account(name)
    assert account is not None
    return account.id


def messages(app: OrgtopApp) -> list[str]:
    """Return the texts of the app's notifications so far."""
    return [notice.message for notice in app._notifications]
