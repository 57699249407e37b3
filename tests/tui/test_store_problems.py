"""A store that cannot be written: the new data is shown, the old file is kept."""

from __future__ import annotations

from pathlib import Path

from collectors.config import load_config
from collectors.snapshot import Snapshot
from collectors.store import Store
from tests.conftest import SMALL
from tests.tui.conftest import live_app, messages, running, store_with, wait_until
from tui.app import OrgtopApp
from tui.backend import Backend
from tui.runtime import Options, Runtime
from tui.screens.team import TeamScreen


def stored_count(path: Path) -> int:
    store = Store(path)
    try:
        return len(store.history())
    finally:
        store.close()


def test_runtime_latest_warns_on_unusable_store(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    runtime = Runtime(Options(store=blocker / "store.sqlite3"))
    assert runtime.latest() is None
    assert len(runtime.store_warnings) == 1
    assert str(blocker) in runtime.store_warnings[0]


def test_offline_latest_still_raises(tmp_path: Path) -> None:
    runtime = Runtime(Options(offline=True, store=tmp_path / "missing.sqlite3"))
    runtime.read_only_store = True
    try:
        runtime.latest()
    except Exception as error:  # noqa: BLE001 - the type is the assertion
        assert "no store at" in str(error)
    else:
        raise AssertionError("an offline run without a store must fail")


async def test_unwritable_directory_keeps_app_usable(tmp_path: Path) -> None:
    # A regular file where the directory should be fails mkdir even as root.
    blocker = tmp_path / "file"
    blocker.write_text("")
    app = live_app(SMALL, blocker / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        assert app.snapshot is not None
        assert len(app.snapshot.accounts) == 12
        assert app.header_state.note == "not saved"
        assert any("cannot create the store directory" in m for m in messages(app))

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TeamScreen))
        assert blocker.is_file()


async def test_full_disk_shows_data_and_keeps_store(
    tmp_path: Path, stored_snapshot: Snapshot
) -> None:
    path = store_with(tmp_path / "store.sqlite3", stored_snapshot)
    options = Options(demo_scenario=SMALL, store=path, mfa_code="123456")
    backend = Backend(options, None)
    backend.start()

    async def fill_disk() -> None:
        # SQLite's page limit makes the next write fail with SQLITE_FULL,
        # "database or disk is full", as a full file system would.
        backend.runtime = Runtime(options)
        db = backend.runtime.open_store().db
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")

    backend.submit(fill_disk()).result(60)
    app = OrgtopApp(
        options,
        config=load_config(None),
        snapshot=stored_snapshot,
        store_path=path,
        backend=backend,
    )
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        assert app.snapshot is not stored_snapshot
        assert app.snapshot.generated_at > stored_snapshot.generated_at
        assert app.header_state.note == "not saved"
        assert any("database or disk is full" in m for m in messages(app))
        assert stored_count(path) == 1

        async def free_disk() -> None:
            assert backend.runtime is not None
            backend.runtime.open_store().db.execute("PRAGMA max_page_count = 1000000")

        backend.submit(free_disk()).result(10)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.generation == 2 and not app.refreshing)
        assert app.header_state.note == ""
        assert stored_count(path) == 2
