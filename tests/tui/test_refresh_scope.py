"""Refreshing one team or account, and abandoning it when the user moves on."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SMALL
from tests.tui.conftest import (
    account_id,
    hang,
    live_app,
    messages,
    patient_app,
    running,
    wait_until,
)
from tui.app import OrgtopApp
from tui.screens.account import AccountScreen
from tui.screens.overview import OverviewScreen
from tui.screens.team import TeamScreen


async def test_team_refresh_covers_team(tmp_path: Path) -> None:
    app = live_app(SMALL, tmp_path / "store.sqlite3")
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        full = app.snapshot
        assert full is not None
        team = sorted(a.id for a in full.accounts if a.team == "payments" and a.active)

        app.run_command("team payments")
        await wait_until(pilot, lambda: isinstance(app.screen, TeamScreen))
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.refreshing and app.snapshot is not full)

        partial = app.snapshot
        requests = partial.stats["server_requests"]
        assert partial.stats["accounts_refreshed"] == len(team)
        assert requests["sts.GetCallerIdentity"] == len(team) + 1
        assert not [name for name in requests if name.startswith("organizations.")]
        assert partial.sections["cost"] == full.sections["cost"]
        assert len(partial.sections["quotas"]["rows"]) == len(
            full.sections["quotas"]["rows"]
        )
        assert app.header_state.scope == ""


async def test_leaving_team_abandons_refresh(tmp_path: Path) -> None:
    app = patient_app(tmp_path)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        before = app.snapshot
        rule = hang(app, "sts", "GetCallerIdentity", account_id(app, "payments-prod"))

        app.run_command("team payments")
        await wait_until(pilot, lambda: isinstance(app.screen, TeamScreen))
        await pilot.press("r")
        assert app.backend is not None
        await wait_until(pilot, lambda: sum(app.backend.progress) > 0)
        generation = app.generation

        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)
        assert not app.refreshing
        assert app.generation == generation + 1
        assert "Refresh of team payments abandoned." in messages(app)
        assert app.snapshot is before

        # The next refresh waits until the abandoned one has unwound. With a
        # task timeout of 600 s, a backend that kept running it would stall here.
        app.backend.runtime.world.scenario.faults.remove(rule)
        await pilot.press("r")
        await wait_until(
            pilot, lambda: not app.refreshing and app.snapshot is not before
        )
        assert "accounts_refreshed" not in app.snapshot.stats
        assert app.snapshot.errors == []


async def test_account_of_team_keeps_refresh(tmp_path: Path) -> None:
    app = patient_app(tmp_path)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        hang(app, "sts", "GetCallerIdentity", account_id(app, "payments-prod"))

        app.run_command("team payments")
        await wait_until(pilot, lambda: isinstance(app.screen, TeamScreen))
        await pilot.press("r")
        app.run_command("account payments-dev")
        await wait_until(pilot, lambda: isinstance(app.screen, AccountScreen))
        await pilot.pause()
        assert app.refreshing
        assert app.header_state.scope == "team payments"

        app.run_command("account search-prod")
        await wait_until(pilot, lambda: not app.refreshing)
        assert "Refresh of team payments abandoned." in messages(app)
