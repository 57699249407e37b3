"""Background refresh against the demo world: data, errors, MFA, no overlap."""

from __future__ import annotations

from pathlib import Path

from collectors.snapshot import Snapshot
from tests.tui.conftest import DENIED_ACCOUNT, live_app, running, store_with, wait_until
from tui.messages import SnapshotCollected
from tui.screens.dialogs import MfaScreen
from tui.screens.errors import ErrorsScreen
from tui.screens.overview import OverviewScreen
from tui.widgets.table import KeyedTable


async def test_refresh_fills_matrix(faulty_scenario: Path, tmp_path: Path) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        matrix = app.screen.query_one("#matrix", KeyedTable)
        assert matrix.visible_keys == ["payments", "search", "org", "unassigned"]
        assert matrix.get_cell("payments", "prod").plain.startswith("● 1")
        assert app.header_state.organization == "o-small00test"


async def test_denied_account_in_cell_and_errors(
    faulty_scenario: Path, tmp_path: Path
) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        matrix = app.screen.query_one("#matrix", KeyedTable)
        assert "1 err" in matrix.get_cell("search", "prod").plain
        assert "err" not in matrix.get_cell("search", "staging").plain
        titles = [n.title for n in app._notifications]
        assert "Refresh finished with errors" in titles
        await pilot.press("colon", *"errors", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ErrorsScreen)
        errors = app.screen.query_one("#errors", KeyedTable)
        rows = [errors.get_row(key) for key in errors.visible_keys]
        assert [row[0].plain for row in rows] == [DENIED_ACCOUNT]
        assert rows[0][4].plain == "access-denied"
        assert rows[0][5].plain == "AssumeRole"


async def test_refresh_key_starts_refresh(faulty_scenario: Path, tmp_path: Path) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        first, generation = app.snapshot, app.generation
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.refreshing and app.snapshot is not first)
        assert app.generation == generation + 1
        assert app.snapshot.generation > first.generation


async def test_refresh_never_overlaps(faulty_scenario: Path, tmp_path: Path) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        app.action_refresh_now()
        generation = app.generation
        app.action_refresh_now()
        assert app.generation == generation
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert "A refresh is already running." in messages
        await wait_until(pilot, lambda: not app.refreshing)


async def test_selection_survives_refresh(faulty_scenario: Path, tmp_path: Path) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        await pilot.press("down", "right", "right")
        matrix = app.screen.query_one("#matrix", KeyedTable)
        before = (matrix.current_key, matrix.current_column)
        first = app.snapshot
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.refreshing and app.snapshot is not first)
        await pilot.pause()
        assert (matrix.current_key, matrix.current_column) == before == ("search", "staging")


async def test_cancelled_refresh_keeps_snapshot(
    faulty_scenario: Path, tmp_path: Path
) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        shown = app.snapshot
        app.action_refresh_now()
        app.cancel_refresh()
        await wait_until(pilot, lambda: not app.refreshing)
        await pilot.pause(0.5)
        assert app.snapshot is shown


async def test_stale_generation_is_dropped(
    faulty_scenario: Path, tmp_path: Path
) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        shown = app.snapshot
        stale = Snapshot(generated_at=shown.generated_at)
        app.post_message(SnapshotCollected(stale, app.generation - 1))
        await pilot.pause()
        assert app.snapshot is shown


async def test_mfa_asked_once(faulty_scenario: Path, tmp_path: Path) -> None:
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3", mfa_code=None)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, MfaScreen))
        await pilot.press(*"12345", "enter")
        assert isinstance(app.screen, MfaScreen)
        await pilot.press("6", "enter")
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        first = app.snapshot
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.refreshing and app.snapshot is not first)
        assert isinstance(app.screen, OverviewScreen)
        assert app.backend.runtime.refresher.source.mfa_requests == 1


async def test_mfa_cancel_keeps_snapshot(
    faulty_scenario: Path, tmp_path: Path, stored_snapshot: Snapshot
) -> None:
    store = store_with(tmp_path / "store.sqlite3", stored_snapshot)
    app = live_app(faulty_scenario, store, mfa_code=None, snapshot=stored_snapshot)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, MfaScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.refreshing)
        assert isinstance(app.screen, OverviewScreen)
        assert app.snapshot is stored_snapshot
        matrix = app.screen.query_one("#matrix", KeyedTable)
        assert matrix.visible_keys == ["payments", "search", "org", "unassigned"]
        assert app.header_state.note == "MFA cancelled"
        titles = [n.title for n in app._notifications]
        assert "Refresh stopped" in titles
        assert "Refresh failed" not in titles


async def test_failed_refresh_notifies(tmp_path: Path, stored_snapshot: Snapshot) -> None:
    from tests.conftest import SMALL

    scenario = tmp_path / "no-accounts.toml"
    scenario.write_text(
        SMALL.read_text()
        + '\n[[fault]]\nservice = "organizations"\noperation = "ListAccounts"\n'
        'error = "AccessDenied"\n'
    )
    store = store_with(tmp_path / "store.sqlite3", stored_snapshot)
    app = live_app(scenario, store, snapshot=stored_snapshot)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.generation == 1 and not app.refreshing)
        await pilot.pause()
        failures = [n for n in app._notifications if n.title == "Refresh failed"]
        assert len(failures) == 1
        assert "ListAccounts" in failures[0].message or "listing" in failures[0].message
        assert "Traceback" not in failures[0].message
        assert app.snapshot is stored_snapshot
        assert isinstance(app.screen, OverviewScreen)
