"""Datadog on screen: the overview fragment and the Metrics tab."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from textual.pilot import Pilot
from textual.widgets import Sparkline, Static, TabbedContent

from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.model import Severity
from collectors.snapshot import Snapshot
from tests.collectors.test_datadog import (
    PINNED,
    QUERIED,
    FakeClock,
    add_fault,
    collect,
    module_isolation,
    reset,
)
from tests.conftest import SMALL
from tests.tui.conftest import running
from tests.tui.test_quota_screens import app_for
from tui.app import OrgtopApp
from tui.matrix import build_matrix
from tui.panes.datadog import MetricRow, combined_values
from tui.screens.account import AccountScreen
from tui.widgets.table import KeyedTable


@dataclass(frozen=True)
class Snapshots:
    """Refreshes of one world: normal, after a 429, rate-limited, forbidden, off."""

    normal: Snapshot
    waited: Snapshot
    limited: Snapshot
    forbidden: Snapshot
    unconfigured: Snapshot


async def collect_all(world: DemoWorld) -> Snapshots:
    server = world.extra["datadog"]
    normal = await collect(world)
    add_fault(world, endpoint="query", status=429, reset_seconds=1, times=1)
    waited = await collect(world)
    reset(server)
    add_fault(world, endpoint="*", status=429, reset_seconds=3600)
    limited = await collect(world, FakeClock(), previous=normal)
    reset(server)
    forbidden = await collect(world, app_key="f" * 40, app_key_source="DD_APP_KEY")
    unconfigured = await collect(world, api_key="", app_key="")
    return Snapshots(normal, waited, limited, forbidden, unconfigured)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshots]:
    folder = tmp_path_factory.mktemp("datadog-screens")
    path = folder / "datadog.toml"
    path.write_text(SMALL.read_text() + PINNED)
    with module_isolation(folder), DemoWorld(load_scenario(path)) as world:
        yield asyncio.run(collect_all(world))


async def open_metrics_tab(pilot: Pilot, app: OrgtopApp, account: str) -> AccountScreen:
    await pilot.press("colon", *f"account {account}", "enter")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, AccountScreen)
    screen.query_one(TabbedContent).active = "tab-datadog"
    await pilot.pause()
    await pilot.pause()
    return screen


def summary_of(screen: AccountScreen) -> str:
    return str(screen.query_one("#datadog-summary", Static).render())


def fragment(snapshot: Snapshot, team: str, env: str) -> tuple[str, Severity] | None:
    summary = build_matrix(snapshot).cell(team, env)
    assert summary is not None
    found = {f.title: (f.text, f.severity) for f in summary.fragments}
    return found.get("Datadog")


def test_overview_counts_alerting_monitors(snapshots: Snapshots) -> None:
    snapshot = snapshots.normal
    account = snapshot.account("payments-prod")
    assert account is not None
    monitors = snapshot.sections["datadog"]["by_account"][account.id]["monitors"]
    total = monitors["alert"] + monitors["warn"]
    assert total >= 1
    assert fragment(snapshot, "payments", "prod") == (f"DD {total}", Severity.WARNING)


def test_overview_quiet_cell_shows_nothing(snapshots: Snapshots) -> None:
    snapshot = snapshots.normal
    by_account = snapshot.sections["datadog"]["by_account"]
    quiet = next(
        a
        for a in snapshot.accounts
        if a.team != "org" and a.active and "monitors" not in by_account.get(a.id, {})
    )
    assert fragment(snapshot, quiet.team, quiet.env) is None


def test_team_series_use_query_aggregator(snapshots: Snapshots) -> None:
    section = snapshots.normal.sections["datadog"]
    team = [a for a in snapshots.normal.accounts if a.team == "payments"]
    cpu = next(m for m in section["metrics"] if m["id"] == "ec2-cpu")
    rows = [
        section["by_account"][a.id]["metrics"]["ec2-cpu"]["values"]
        for a in team
        if "ec2-cpu" in section["by_account"].get(a.id, {}).get("metrics", {})
    ]
    combined = combined_values(section, cpu, team)
    assert combined is not None
    first = [row[0] for row in rows if row[0] is not None]
    assert combined[0] == pytest.approx(sum(first) / len(first))


async def test_metrics_tab_shows_series_and_monitors(snapshots: Snapshots) -> None:
    snapshot = snapshots.normal
    account = snapshot.account("payments-prod")
    assert account is not None
    app = app_for(snapshot)
    async with running(app, (140, 44)) as pilot:
        screen = await open_metrics_tab(pilot, app, "payments-prod")
        rows = list(screen.query(MetricRow))
        cpu = screen.query_one("#metric-ec2-cpu", MetricRow)
        cpu_data = list(cpu.query_one(Sparkline).data or [])
        cpu_value = str(cpu.query_one(".metric-value", Static).render())
        table = screen.query_one("#datadog-monitors", KeyedTable)
        names = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        summary = summary_of(screen)
        hidden = {row.id for row in rows if row.query_one(Sparkline).has_class("empty")}
    reported = snapshot.sections["datadog"]["by_account"][account.id]["metrics"]
    assert len(rows) == 6
    assert hidden
    assert hidden == {f"metric-{key}" for key in QUERIED if key not in reported}
    assert len(cpu_data) > 10
    assert cpu_value.endswith("%")
    assert float(cpu_value.rstrip("%")) > 80
    assert f"EC2 CPU utilization high on {account.id}" in names
    assert "Monitors: " in summary
    assert "rate-limited" not in summary


async def test_wait_for_reset_is_shown(snapshots: Snapshots) -> None:
    app = app_for(snapshots.waited)
    async with running(app, (140, 44)) as pilot:
        summary = summary_of(await open_metrics_tab(pilot, app, "payments-prod"))
    assert "rate-limited: waited" in summary
    assert "X-RateLimit-Reset (query)" in summary


async def test_rate_limited_shows_older_values(snapshots: Snapshots) -> None:
    app = app_for(snapshots.limited)
    async with running(app, (140, 44)) as pilot:
        screen = await open_metrics_tab(pilot, app, "payments-prod")
        summary = summary_of(screen)
        cpu = screen.query_one("#metric-ec2-cpu", MetricRow)
        value = str(cpu.query_one(".metric-value", Static).render())
    assert "rate-limited: 7 requests not made" in summary
    assert "resets in 3600 s" in summary
    assert value.endswith("(old)")


async def test_forbidden_shows_fix_hint(snapshots: Snapshots) -> None:
    app = app_for(snapshots.forbidden)
    async with running(app, (140, 44)) as pilot:
        summary = summary_of(await open_metrics_tab(pilot, app, "payments-prod"))
    assert "access-denied" in summary
    assert "application key from DD_APP_KEY" in summary


async def test_not_configured_notice(snapshots: Snapshots) -> None:
    app = app_for(snapshots.unconfigured)
    async with running(app, (140, 44)) as pilot:
        screen = await open_metrics_tab(pilot, app, "payments-prod")
        summary = summary_of(screen)
        rows = list(screen.query(MetricRow))
    assert summary.startswith("Datadog is not collected: no Datadog API key")
    assert rows == []
    assert fragment(snapshots.unconfigured, "payments", "prod") is None
