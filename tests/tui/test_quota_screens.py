"""Quotas on screen: the overview fragment, the Quotas tab and ``:quotas``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent

from collectors.config import load_config
from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.model import Severity, State, StateRecord
from collectors.snapshot import Snapshot
from tests.collectors.test_quotas import EDGE_CASES, isolated
from tests.conftest import SMALL, make_refresher
from tests.tui.conftest import frozen_clock, running
from tui import quotas
from tui.app import OrgtopApp
from tui.matrix import build_matrix
from tui.runtime import Options
from tui.screens.account import AccountScreen
from tui.screens.quotas import QuotasScreen
from tui.widgets.table import KeyedTable


async def collect_quotas(world: DemoWorld) -> Snapshot:
    refresher = make_refresher(world)
    try:
        return await refresher.run(only=["quotas"])
    finally:
        await refresher.factory.close()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The small organization with the quota edge cases, collected once."""
    folder = tmp_path_factory.mktemp("quota-screens")
    path = folder / "edge.toml"
    path.write_text(SMALL.read_text() + EDGE_CASES)
    with isolated(folder), DemoWorld(load_scenario(path)) as world:
        return asyncio.run(collect_quotas(world))


def app_for(snapshot: Snapshot) -> OrgtopApp:
    return OrgtopApp(
        Options(offline=True),
        config=load_config(None),
        snapshot=snapshot,
        clock=frozen_clock,
    )


async def open_quotas_tab(pilot: Pilot, app: OrgtopApp, account: str) -> AccountScreen:
    """Open an account's screen and switch to its Quotas tab."""
    await pilot.press("colon", *f"account {account}", "enter")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, AccountScreen)
    screen.query_one(TabbedContent).active = "tab-quotas"
    await pilot.pause()
    return screen


def fragments(
    snapshot: Snapshot, team: str, env: str
) -> dict[str, tuple[str, Severity]]:
    summary = build_matrix(snapshot).cell(team, env)
    assert summary is not None
    return {f.title: (f.text, f.severity) for f in summary.fragments}


def test_overview_shows_highest_utilization(snapshot: Snapshot) -> None:
    # search-prod uses 9 of its 10 Elastic IPs. Its 112 % Lambda row is a
    # data problem and must not colour the cell.
    assert fragments(snapshot, "search", "prod")["Quota"] == ("Q 90%", Severity.WARNING)


def test_overview_skips_unknown_applied_value(snapshot: Snapshot) -> None:
    # payments-staging runs 40 vCPUs against a default of 5 it cannot confirm.
    text, severity = fragments(snapshot, "payments", "staging")["Quota"]
    assert severity is Severity.OK
    assert int(text.removeprefix("Q ").removesuffix("%")) < 80


def test_trend_bars_scale_to_value() -> None:
    row = {"trend": [0.0, 500.0, 1000.0, None], "value": 1000.0}
    assert quotas.trend_text(row) == "▁▅█ "


async def test_quotas_tab_lists_account_rows(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (160, 40)) as pilot:
        screen = await open_quotas_tab(pilot, app, "payments-staging")
        table = screen.query_one("#quotas-table", KeyedTable)
        account_id = screen.account.id  # type: ignore[union-attr]
        vcpus = table.get_row(f"{account_id}/us-east-1/L-1216C47A")
        vpcs = table.get_row(f"{account_id}/us-east-1/L-F678F1CE")
        summary = str(screen.query_one("#quotas-summary", Static).render())
    assert vcpus[4].plain == "default 5, applied unknown"
    assert vcpus[5].plain == ""
    assert "AccessDeniedException" in vcpus[8].plain
    assert vpcs[3].plain == "n/a"
    assert "quotas" in summary


async def test_quotas_tab_shows_forecast(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (160, 40)) as pilot:
        screen = await open_quotas_tab(pilot, app, "payments-prod")
        table = screen.query_one("#quotas-table", KeyedTable)
        account_id = screen.account.id  # type: ignore[union-attr]
        concurrency = table.get_row(f"{account_id}/eu-west-1/L-B99A9384")
    assert concurrency[5].plain == "72.0%"
    assert concurrency[7].plain == "~7 d"
    assert len(concurrency[6].plain) == 14


async def test_quotas_tab_names_disabled_region(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (160, 40)) as pilot:
        screen = await open_quotas_tab(pilot, app, "search-dev")
        summary = str(screen.query_one("#quotas-summary", Static).render())
    assert "search-dev: eu-west-1 not enabled" in summary


async def test_quotas_view_ranks_by_utilization(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (180, 40)) as pilot:
        await pilot.press("colon", *"quotas", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, QuotasScreen)
        keys = screen.query_one("#quotas-ranked", KeyedTable).visible_keys
        percents = [screen.rows[key]["percent"] for key in keys]
        first = screen.query_one("#quotas-ranked", KeyedTable).get_row(keys[0])
    known = [p for p in percents if p is not None]
    assert len(keys) == len(snapshot.sections["quotas"]["rows"])
    assert known == sorted(known, reverse=True)
    assert percents[: len(known)] == known
    assert first[1].plain == "data?"


async def test_quotas_view_filters_service_and_region(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (180, 40)) as pilot:
        await pilot.press("colon", *"quotas lambda eu-west-1", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, QuotasScreen)
        rows = [
            screen.rows[k]
            for k in screen.query_one("#quotas-ranked", KeyedTable).visible_keys
        ]
    assert rows
    assert {(r["service"], r["region"]) for r in rows} == {("lambda", "eu-west-1")}


async def test_quotas_view_rejects_unknown_term(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (180, 40)) as pilot:
        await pilot.press("colon", *"quotas sqs", "enter")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        screen = app.screen
    assert not isinstance(screen, QuotasScreen)
    assert any("No quotas for sqs" in message for message in messages)


async def test_quotas_view_opens_account_tab(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (180, 40)) as pilot:
        await pilot.press("colon", *"quotas", "enter")
        await pilot.pause()
        table = app.screen.query_one("#quotas-ranked", KeyedTable)
        key = table.visible_keys[1]
        row = app.screen.rows[key]  # type: ignore[attr-defined]
        table.select_key(key)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AccountScreen)
        active = screen.query_one(TabbedContent).active
    assert screen.account.id == row["account_id"]  # type: ignore[union-attr]
    assert active == "tab-quotas"


async def test_pane_without_quota_section(snapshot: Snapshot, tmp_path: Path) -> None:
    bare = Snapshot.from_document(snapshot.to_document())
    del bare.sections["quotas"]
    app = app_for(bare)
    async with running(app, (160, 40)) as pilot:
        screen = await open_quotas_tab(pilot, app, "payments-prod")
        summary = str(screen.query_one("#quotas-summary", Static).render())
    assert "No quota data" in summary


def test_region_notes_include_opt_in_state(snapshot: Snapshot) -> None:
    payments_dev = snapshot.account("payments-dev")
    assert payments_dev is not None
    states = [
        StateRecord(State.REGION_DISABLED, payments_dev.id, "eu-west-1", "quotas"),
        StateRecord(State.REGION_DISABLED, payments_dev.id, "us-east-1", "cost"),
    ]
    notes = quotas.region_notes(snapshot.sections["quotas"], [payments_dev], states)
    assert notes == ["payments-dev: eu-west-1 not enabled"]
