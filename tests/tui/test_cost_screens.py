"""Cost on screen: overview cells, the Cost tab and ``:cost``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest
from textual.widgets import Static, TabbedContent

from collectors.config import load_config
from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.model import Severity
from collectors.snapshot import Snapshot
from tests.collectors.test_cost import cost_config, isolate
from tests.conftest import SMALL, make_refresher
from tests.tui.conftest import frozen_clock, running
from tui import costs
from tui.app import OrgtopApp
from tui.matrix import build_matrix
from tui.runtime import Options
from tui.screens.account import AccountScreen
from tui.screens.cost import CostScreen
from tui.widgets.table import KeyedTable


async def collect_snapshot(world: DemoWorld, config: object) -> Snapshot:
    refresher = make_refresher(world, config)  # type: ignore[arg-type]
    try:
        return await refresher.run(only=["cost"])
    finally:
        await refresher.factory.close()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshot]:
    """The small organization with its cost section, collected once."""
    folder = tmp_path_factory.mktemp("cost-screens")
    with pytest.MonkeyPatch.context() as patch:
        isolate(patch, folder)
        with DemoWorld(load_scenario(SMALL)) as world:
            collected = asyncio.run(collect_snapshot(world, cost_config(world, folder)))
        yield collected


def app_for(snapshot: Snapshot) -> OrgtopApp:
    return OrgtopApp(
        Options(offline=True),
        config=load_config(None),
        snapshot=snapshot,
        clock=frozen_clock,
    )


def service_spike(snapshot: Snapshot) -> dict:
    spikes = snapshot.sections["cost"]["spikes"]
    return next(spike for spike in spikes if spike["level"] == "service")


def test_overview_marks_spike_cell_only(snapshot: Snapshot) -> None:
    spike = service_spike(snapshot)
    matrix = build_matrix(snapshot)
    marked = {
        key
        for key, summary in matrix.cells.items()
        for fragment in summary.fragments
        if fragment.text.endswith(costs.SPIKE_MARK)
    }
    assert marked == {(spike["team"], spike["env"])}
    summary = matrix.cell(spike["team"], spike["env"])
    assert summary.severity is Severity.WARNING


def test_overview_cell_shows_month_to_date(snapshot: Snapshot) -> None:
    section = snapshot.sections["cost"]
    matrix = build_matrix(snapshot)
    payments_dev = snapshot.account("payments-dev")
    expected = Decimal(section["accounts"][payments_dev.id]["month_to_date"])
    fragments = {f.title: f.text for f in matrix.cell("payments", "dev").fragments}
    assert fragments["MTD"] == costs.compact_money(expected)


async def test_cost_view_ranks_by_increase(snapshot: Snapshot) -> None:
    app = app_for(snapshot)
    async with running(app, (140, 40)) as pilot:
        await pilot.press("colon", *"cost", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CostScreen)
        keys = app.screen.query_one("#spikes", KeyedTable).visible_keys
        increases = [Decimal(app.screen.spikes[key]["increase"]) for key in keys]
        org_line = str(app.screen.query_one("#cost-org", Static).render())
    assert len(keys) == len(snapshot.sections["cost"]["spikes"])
    assert increases == sorted(increases, reverse=True)
    assert "UnblendedCost" in org_line
    assert "unallocated" in org_line


async def test_cost_view_drills_into_account(snapshot: Snapshot) -> None:
    spike = service_spike(snapshot)
    app = app_for(snapshot)
    async with running(app, (140, 40)) as pilot:
        await pilot.press("colon", *"cost", "enter")
        await pilot.pause()
        table = app.screen.query_one("#spikes", KeyedTable)
        key = next(k for k in table.visible_keys if k.startswith("service/"))
        table.select_key(key)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AccountScreen)
        assert screen.query_one(TabbedContent).active == "tab-cost"
        summary = str(screen.query_one("#cost-summary", Static).render())
        services = screen.query_one("#cost-services", KeyedTable)
        spike_row = services.get_row(spike["service"])
    assert screen.account.id == spike["account_id"]
    assert "UnblendedCost" in summary
    assert "provisional" in summary
    assert costs.SPIKE_MARK in spike_row[0].plain


async def test_pane_without_cost_section(snapshot: Snapshot) -> None:
    bare = Snapshot.from_document(snapshot.to_document())
    del bare.sections["cost"]
    app = app_for(bare)
    async with running(app, (140, 40)) as pilot:
        await pilot.press("colon", *"account payments-prod", "enter")
        await pilot.pause()
        app.screen.query_one(TabbedContent).active = "tab-cost"
        await pilot.pause()
        summary = str(app.screen.query_one("#cost-summary", Static).render())
    assert "No cost data" in summary


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.4", "$0"),
        ("950.2", "$950"),
        ("12345.6", "$12.3k"),
        ("123456", "$123k"),
        ("2500000", "$2.5M"),
        ("-1500", "-$1.5k"),
    ],
)
def test_compact_money(amount: str, expected: str) -> None:
    assert costs.compact_money(amount) == expected


def test_money_has_cents_and_separators() -> None:
    assert costs.money("1234567.891") == "$1,234,567.89"
    assert costs.money("12.5", "EUR") == "EUR 12.50"
