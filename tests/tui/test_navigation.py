"""Drill-down, filter, command line and help on a stored snapshot."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Input, Static, TabbedContent

from collectors.snapshot import Snapshot
from tests.tui.conftest import DENIED_ACCOUNT, running
from tui import panes as panes_module
from tui import views as views_module
from tui.app import OrgtopApp
from tui.panes import CollectorPane
from tui.screens.account import AccountScreen
from tui.screens.base import DataScreen
from tui.screens.dialogs import KeysScreen, TooSmallScreen
from tui.screens.errors import ErrorsScreen
from tui.screens.overview import OverviewScreen
from tui.screens.team import TeamScreen
from tui.views import View
from tui.widgets.table import KeyedTable


def table(app: OrgtopApp, selector: str) -> KeyedTable:
    return app.screen.query_one(selector, KeyedTable)


async def test_overview_rows_and_columns(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.pause()
        matrix = table(offline_app, "#matrix")
        assert matrix.visible_keys == ["payments", "search", "org", "unassigned"]
        columns = [column.key for column in matrix.ordered_columns]
        assert columns == ["team", "dev", "staging", "prod", "ops", "other"]


async def test_overview_marks_production(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.pause()
        labels = {
            c.key.value: c.label.plain
            for c in table(offline_app, "#matrix").columns.values()
        }
        assert "⚑" in labels["prod"]
        assert "⚑" not in labels["staging"]


async def test_enter_opens_team_on_env(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("right", "right", "right", "enter")
        await pilot.pause()
        screen = offline_app.screen
        assert isinstance(screen, TeamScreen)
        assert screen.team == "payments"
        accounts = table(offline_app, "#accounts")
        current = offline_app.snapshot.account(accounts.current_key)
        assert current.name == "payments-prod"


async def test_drill_down_and_back(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, AccountScreen)
        assert offline_app.screen.account.name == "payments-dev"
        await pilot.press("escape")
        assert isinstance(offline_app.screen, TeamScreen)
        await pilot.press("escape")
        assert isinstance(offline_app.screen, OverviewScreen)
        await pilot.press("escape")
        assert isinstance(offline_app.screen, OverviewScreen)


async def test_account_screen_tabs_and_facts(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"account search-prod", "enter")
        await pilot.pause()
        screen = offline_app.screen
        assert isinstance(screen, AccountScreen)
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "tab-overview"
        facts = str(screen.query_one("#facts").render())
        assert (
            screen.account.id in facts
            or screen.account.id in screen.query_one("#screen-title").render().plain
        )
        errors = table(offline_app, "#account-errors")
        assert len(errors.visible_keys) == len(offline_app.snapshot.errors) == 1


async def test_filter_narrows_and_escape_clears(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("slash", *"sear")
        await pilot.pause()
        assert table(offline_app, "#matrix").visible_keys == ["search"]
        await pilot.press("enter")
        assert table(offline_app, "#matrix").visible_keys == ["search"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(table(offline_app, "#matrix").visible_keys) == 4


async def test_filter_matches_account_names(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("slash", *"legacy", "enter")
        await pilot.pause()
        assert table(offline_app, "#matrix").visible_keys == ["unassigned"]


async def test_filter_on_team_screen(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("slash", *"prod", "enter")
        await pilot.pause()
        keys = table(offline_app, "#accounts").visible_keys
        names = [offline_app.snapshot.account(key).name for key in keys]
        assert names == ["payments-prod"]


async def test_command_opens_team(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"team search", "enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, TeamScreen)
        assert offline_app.screen.team == "search"


async def test_command_unknown_team_notifies(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"team nope", "enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, OverviewScreen)
        messages = [n.message for n in offline_app._notifications]
        assert any("No team named 'nope'" in m for m in messages)


async def test_command_unknown_name_notifies(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"frobnicate", "enter")
        await pilot.pause()
        messages = [n.message for n in offline_app._notifications]
        assert any("Unknown command :frobnicate" in m for m in messages)


async def test_command_line_completes(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"team pa")
        await pilot.pause()
        field = offline_app.screen.query_one("#prompt-input", Input)
        assert field._suggestion == "team payments"
        await pilot.press("right", "enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, TeamScreen)


async def test_errors_view_lists_denied_account(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"errors", "enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, ErrorsScreen)
        errors = table(offline_app, "#errors")
        assert len(errors.visible_keys) == 1
        key = errors.visible_keys[0]
        assert errors.get_cell(key, "account").plain == DENIED_ACCOUNT
        assert errors.get_cell(key, "kind").plain == "access-denied"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, AccountScreen)
        assert offline_app.screen.account.name == DENIED_ACCOUNT


async def test_failing_account_shows_in_cell(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.pause()
        matrix = table(offline_app, "#matrix")
        failing = matrix.get_cell("search", "prod")
        healthy = matrix.get_cell("search", "dev")
        assert "(1 err)" in failing.plain
        assert "err" not in healthy.plain


async def test_keys_help_lists_commands(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(offline_app.screen, KeysScreen)
        commands = str(offline_app.screen.query_one("#commands-table").render())
        assert commands
        await pilot.press("escape")
        assert isinstance(offline_app.screen, OverviewScreen)


def table_rows(widget: Static) -> list[str]:
    """Return the rows of a Static showing a Rich table, rendered 200 wide."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text().splitlines()


async def test_keys_help_lists_refresh_all(offline_app: OrgtopApp) -> None:
    async with running(offline_app, size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        rows = table_rows(offline_app.screen.query_one("#keys-table", Static))
        keys = [row.split(maxsplit=1)[0] for row in rows if row.strip()]
        refresh_all = [row for row in rows if row.split()[:1] == ["R"]]

        assert len(refresh_all) == 1
        assert "every account" in refresh_all[0]
        assert "cached cost and quotas" in refresh_all[0]
        assert "ctrl+q" not in keys


async def test_refresh_offline_notifies(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert not offline_app.refreshing
        messages = [n.message for n in offline_app._notifications]
        assert any(m.startswith("Offline") for m in messages)


async def test_too_small_notice_comes_and_goes(offline_app: OrgtopApp) -> None:
    async with running(offline_app, size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(offline_app.screen, OverviewScreen)
        await pilot.resize_terminal(50, 12)
        await pilot.pause()
        assert isinstance(offline_app.screen, TooSmallScreen)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(offline_app.screen, OverviewScreen)


async def test_quit_key_exits(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert offline_app.return_code == 0


class BrokenView(DataScreen):
    def show(self, snapshot: Snapshot) -> None:
        raise KeyError("missing-section")


class BrokenPane(CollectorPane):
    collector = "broken"
    title = "Broken"

    def show(self, snapshot: Snapshot, accounts) -> None:
        raise ValueError("bad data")


async def test_failing_view_notifies(
    offline_app: OrgtopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(views_module._VIEWS, "broken", View("broken", BrokenView))
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"broken", "enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, BrokenView)
        messages = [n.message for n in offline_app._notifications]
        assert any("KeyError" in m for m in messages)
        await pilot.press("escape")
        assert isinstance(offline_app.screen, OverviewScreen)


async def test_failing_pane_keeps_screen(
    offline_app: OrgtopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(panes_module._PANES, "broken", BrokenPane)
    async with running(offline_app) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(offline_app.screen, TeamScreen)
        assert len(table(offline_app, "#accounts").visible_keys) == 4
        messages = [n.message for n in offline_app._notifications]
        assert any("The Broken tab failed: ValueError: bad data" in m for m in messages)
