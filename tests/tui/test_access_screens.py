"""The access tab, ``:access`` and ``:grants`` against a collected snapshot.

The snapshot comes from the second access scenario served by the demo world,
then round-trips through the ``collect --json`` document, so the screens are
compared with exactly what ``orgtop collect --json`` prints.
"""

from __future__ import annotations

import pytest
from textual.widgets import Static

from collectors.access.levels import RANK, Level
from collectors.config import load_config
from collectors.demo.scenario import load_scenario
from collectors.model import Severity
from collectors.snapshot import Snapshot
from tests.collectors import access_support as support
from tests.collectors.test_access_alt import write_scenario
from tests.tui.conftest import frozen_clock, messages, running
from tui.app import OrgtopApp
from tui.panes.access import AccessPane, findings_cell
from tui.runtime import Options
from tui.screens.access import AccessScreen, GrantsScreen
from tui.widgets.table import KeyedTable


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The second access scenario, collected once, as the collect --json document."""
    scenario = load_scenario(write_scenario(tmp_path_factory.mktemp("scenario")))
    snapshot = support.collect_isolated(scenario, tmp_path_factory.mktemp("aws"))
    return snapshot.to_document()


@pytest.fixture
def app(document: dict) -> OrgtopApp:
    snapshot = Snapshot.from_document(document)
    return OrgtopApp(
        Options(offline=True),
        config=load_config(None),
        snapshot=snapshot,
        clock=frozen_clock,
    )


def expected_cells(document: dict) -> dict[tuple[str, str], str]:
    """Highest level per (user ARN, account id), straight from the JSON grants."""
    cells: dict[tuple[str, str], str] = {}
    for grant in document["iam"]["grants"]:
        key = (grant["principal"], grant["account_id"])
        level = grant["level"]
        if key not in cells or RANK[Level(level)] > RANK[Level(cells[key])]:
            cells[key] = level
    return cells


def shown_cells(table: KeyedTable) -> dict[tuple[str, str], str]:
    found = {}
    accounts = [column.key.value for column in table.ordered_columns][1:]
    for row_key in table.visible_keys:
        values = table.get_row(row_key)[1:]
        for account, value in zip(accounts, values, strict=True):
            if value.plain != "·":
                found[(row_key, account)] = value.plain.rstrip("!")
    return found


async def open_command(app: OrgtopApp, pilot, command: str) -> None:
    """Run a ``:`` command as the prompt does, without typing it key by key."""
    app.run_command(command)
    await pilot.pause()


async def test_access_matrix_matches_json(app: OrgtopApp, document: dict) -> None:
    async with running(app) as pilot:
        await pilot.press("colon", *"access", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AccessScreen)
        table = app.screen.query_one("#access-matrix", KeyedTable)
        assert shown_cells(table) == expected_cells(document)


async def test_access_matrix_marks_no_mfa(app: OrgtopApp, document: dict) -> None:
    async with running(app) as pilot:
        await open_command(app, pilot, "access user=kim")
        table = app.screen.query_one("#access-matrix", KeyedTable)
        marked = {
            value.plain
            for row in table.visible_keys
            for value in table.get_row(row)[1:]
        }
        assert marked == {"power-user", "read-only!"}


async def test_access_findings_match_json(app: OrgtopApp, document: dict) -> None:
    async with running(app) as pilot:
        await open_command(app, pilot, "access")
        table = app.screen.query_one("#access-findings", KeyedTable)
        shown = {
            tuple(c.plain for c in table.get_row(key))[2] for key in table.visible_keys
        }
        assert shown == {f["summary"] for f in document["iam"]["findings"]}


async def test_access_filter_by_team(app: OrgtopApp, document: dict) -> None:
    async with running(app) as pilot:
        await open_command(app, pilot, "access team=search")
        screen = app.screen
        assert isinstance(screen, AccessScreen)
        assert {a.team for a in screen.built.accounts} == {"search"}


async def test_access_invalid_filter_stays(app: OrgtopApp) -> None:
    async with running(app) as pilot:
        before = app.screen
        await open_command(app, pilot, "access colour=red")
        assert app.screen is before


async def test_access_enter_opens_grants(app: OrgtopApp) -> None:
    async with running(app) as pilot:
        await open_command(app, pilot, "access")
        table = app.screen.query_one("#access-matrix", KeyedTable)
        first = table.visible_keys[0]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GrantsScreen)
        assert app.screen.user == first


async def test_grants_view_matches_json(app: OrgtopApp, document: dict) -> None:
    async with running(app) as pilot:
        await open_command(app, pilot, "grants lee")
        table = app.screen.query_one("#user-grants", KeyedTable)
        expected = {
            f"{g['account_id']}/{g['role']}"
            for g in document["iam"]["grants"]
            if g["principal_name"] == "lee"
        }
        assert set(table.visible_keys) == expected


async def test_grants_default_to_caller(app: OrgtopApp, document: dict) -> None:
    async with running(app) as pilot:
        await open_command(app, pilot, "grants")
        table = app.screen.query_one("#user-grants", KeyedTable)
        caller = document["source"]
        expected = {
            f"{g['account_id']}/{g['role']}"
            for g in document["iam"]["grants"]
            if g["principal"] == caller
        }
        assert expected
        assert set(table.visible_keys) == expected


async def test_account_access_tab_lists_grants(app: OrgtopApp, document: dict) -> None:
    account = next(a for a in document["accounts"] if a["name"] == "payments-ops")
    async with running(app) as pilot:
        await open_command(app, pilot, f"account {account['name']}")
        pane = app.screen.query_one(AccessPane)
        keys = set(pane.query_one("#access-grants", KeyedTable).visible_keys)
        expected = {
            f"{g['account_id']}/{g['role']}/{g['principal']}"
            for g in document["iam"]["grants"]
            if g["account_id"] == account["id"]
        }
        assert keys == expected


async def test_account_access_tab_shows_open_trust(
    app: OrgtopApp, document: dict
) -> None:
    account = next(a for a in document["accounts"] if a["name"] == "search-dev")
    async with running(app) as pilot:
        await open_command(app, pilot, f"account {account['name']}")
        pane = app.screen.query_one(AccessPane)
        keys = pane.query_one("#access-grants", KeyedTable).visible_keys
        assert f"{account['id']}/Open/*" in keys


def test_findings_cell_counts_open_trust(document: dict) -> None:
    snapshot = Snapshot.from_document(document)
    search_dev = [a for a in snapshot.accounts if a.name == "search-dev"]
    assert findings_cell(snapshot, search_dev) == ("IAM 1", Severity.CRITICAL)


def test_findings_cell_quiet_without_findings(document: dict) -> None:
    snapshot = Snapshot.from_document(document)
    payments_dev = [a for a in snapshot.accounts if a.name == "payments-dev"]
    assert findings_cell(snapshot, payments_dev) is None


def title_of(app: OrgtopApp) -> str:
    return str(app.screen.query_one("#screen-title", Static).content)


async def test_access_title_counts_in_singular(app: OrgtopApp) -> None:
    async with running(app) as pilot:
        await open_command(app, pilot, "access user=kim")
        title = title_of(app)

        assert " · 1 user by " in title
        assert "1 users" not in title


async def test_grants_unknown_user_notifies(app: OrgtopApp) -> None:
    async with running(app) as pilot:
        before = app.screen
        await open_command(app, pilot, "grants nosuch")
        notices = messages(app)

        assert app.screen is before
        assert len(notices) == 1
        assert "No user or principal named 'nosuch'" in notices[0]


async def test_grants_screen_names_unknown_user(app: OrgtopApp) -> None:
    async with running(app) as pilot:
        await app.push_screen(GrantsScreen("nosuch"))
        await pilot.pause()
        title = title_of(app)

        assert "no user or principal by that name" in title
        assert "no role in the organization admits" not in title
