"""Background refresh against the demo world: data, errors, MFA, no overlap."""

from __future__ import annotations

import re
from pathlib import Path

from collectors.snapshot import Snapshot
from tests.conftest import SMALL
from tests.tui.conftest import DENIED_ACCOUNT, live_app, running, store_with, wait_until
from tui.messages import SnapshotCollected
from tui.screens.dialogs import MfaScreen
from tui.screens.errors import ErrorsScreen
from tui.screens.overview import OverviewScreen
from tui.widgets.table import KeyedTable


def error_count(text: str) -> int:
    found = re.search(r"\((\d+) err", text)
    return int(found.group(1)) if found else 0


async def test_live_session(faulty_scenario: Path, tmp_path: Path) -> None:
    """One session against the demo world: MFA, data, errors, refresh, selection.

    The steps share one app because every start serves a new demo world and
    runs a full first refresh, which costs several seconds.
    """
    app = live_app(faulty_scenario, tmp_path / "store.sqlite3", mfa_code=None)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, MfaScreen))
        await pilot.press(*"12345", "enter")
        assert isinstance(app.screen, MfaScreen)
        await pilot.press("6", "enter")
        await wait_until(pilot, lambda: app.started and not app.refreshing)

        matrix = app.screen.query_one("#matrix", KeyedTable)
        assert matrix.visible_keys == ["payments", "search", "org", "unassigned"]
        assert app.header_state.organization == "o-small00test"
        assert error_count(matrix.get_cell("search", "prod").plain) >= 1
        assert error_count(matrix.get_cell("search", "staging").plain) == 0
        titles = [n.title for n in app._notifications]
        assert "Refresh finished with errors" in titles

        await pilot.press("down", "right", "right")
        first, generation = app.snapshot, app.generation
        await pilot.press("r")
        await wait_until(
            pilot, lambda: not app.refreshing and app.snapshot is not first
        )
        await pilot.pause()
        assert app.generation == generation + 1
        assert app.snapshot.generation > first.generation
        assert (matrix.current_key, matrix.current_column) == ("search", "staging")
        assert app.backend.runtime.refresher.source.mfa_requests == 1

        app.action_refresh_now()
        app.action_refresh_now()
        assert app.generation == generation + 2
        await wait_until(pilot, lambda: not app.refreshing)
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert "A refresh is already running." in messages

        world = app.backend.runtime.world
        cost_reads = world.counts().get("ce.GetCostAndUsage", 0)
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.refreshing)
        cached_reads = world.counts().get("ce.GetCostAndUsage", 0)
        await pilot.press("R")
        await wait_until(pilot, lambda: not app.refreshing)
        assert cached_reads == cost_reads
        assert world.counts()["ce.GetCostAndUsage"] > cost_reads

        await pilot.press("colon", *"errors", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ErrorsScreen)
        errors = app.screen.query_one("#errors", KeyedTable)
        columns = ("account", "kind", "operation")
        rows = [
            {column: errors.get_cell(key, column).plain for column in columns}
            for key in errors.visible_keys
        ]
        assert {row["account"] for row in rows} == {DENIED_ACCOUNT}
        denied = {
            "account": DENIED_ACCOUNT,
            "kind": "access-denied",
            "operation": "AssumeRole",
        }
        assert denied in rows


async def test_abandoned_refresh_is_dropped(
    faulty_scenario: Path, tmp_path: Path, stored_snapshot: Snapshot
) -> None:
    store = store_with(tmp_path / "store.sqlite3", stored_snapshot)
    app = live_app(faulty_scenario, store, snapshot=stored_snapshot)
    async with running(app) as pilot:
        assert app.refreshing
        app.cancel_refresh()
        assert not app.refreshing
        stale = Snapshot(generated_at=stored_snapshot.generated_at)
        app.post_message(SnapshotCollected(stale, app.generation - 1))
        await pilot.pause(0.5)
        assert app.snapshot is stored_snapshot
        assert not app.refreshing


async def test_mfa_cancel_keeps_snapshot(
    faulty_scenario: Path, tmp_path: Path, stored_snapshot: Snapshot
) -> None:
    store = store_with(tmp_path / "store.sqlite3", stored_snapshot)
    app = live_app(faulty_scenario, store, mfa_code=None, snapshot=stored_snapshot)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, MfaScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.refreshing)
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        assert app.snapshot is stored_snapshot
        matrix = app.screen.query_one("#matrix", KeyedTable)
        assert matrix.visible_keys == ["payments", "search", "org", "unassigned"]
        assert app.header_state.note == "MFA cancelled"
        titles = [n.title for n in app._notifications]
        assert "Refresh stopped" in titles
        assert "Refresh failed" not in titles


async def test_failed_refresh_notifies(
    tmp_path: Path, stored_snapshot: Snapshot
) -> None:
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
        assert "listing the organization's accounts" in failures[0].message
        assert "Traceback" not in failures[0].message
        assert app.header_state.note == "refresh failed"
        assert app.snapshot is stored_snapshot
        assert isinstance(app.screen, OverviewScreen)


async def test_inventory_reported_before_collectors(refresher) -> None:
    early: list[Snapshot] = []
    snapshot = await refresher.run(on_inventory=early.append)
    assert len(early) == 1
    assert [a.id for a in early[0].accounts] == [a.id for a in snapshot.accounts]
    assert early[0].sections == {}
    assert snapshot.sections
    assert early[0].accounts is not snapshot.accounts


async def test_account_list_alone_has_no_age(
    offline_app, stored_snapshot: Snapshot
) -> None:
    async with offline_app.run_test(size=(120, 36)) as pilot:
        listed = Snapshot(
            generated_at=stored_snapshot.generated_at,
            organization_id=stored_snapshot.organization_id,
            accounts=list(stored_snapshot.accounts),
        )
        offline_app.apply_snapshot(listed)
        await pilot.pause()
        assert offline_app.header_state.organization == listed.organization_id
        assert offline_app.header_state.generated_at is None
