"""Cost through the real command line: the store's TTL and ``orgtop check``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.store import Store
from tests.collectors.test_cost import EVALUATED, cost_config, jumps_in, raw_series
from tests.conftest import SMALL, make_refresher
from tui.cli import main


def collect_document(capsys: pytest.CaptureFixture[str], store: Path) -> dict:
    main(
        [
            "collect",
            "--demo-scenario",
            str(SMALL),
            "--store",
            str(store),
            "--json",
        ]
    )
    return json.loads(capsys.readouterr().out)


def test_collect_within_ttl_makes_no_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite3"
    first = collect_document(capsys, store)
    second = collect_document(capsys, store)
    assert (
        first["stats"]["server_requests"]["ce.GetCostAndUsage"]
        == first["cost"]["requests"]
    )
    assert "ce.GetCostAndUsage" not in second["stats"]["server_requests"]
    assert second["cost"]["fetched_at"] == first["cost"]["fetched_at"]
    assert second["cost"]["spikes"] == first["cost"]["spikes"]


async def stored_cost_snapshot(store: Path, folder: Path) -> None:
    """Collect the small world's cost alone and store it, as ``collect`` would."""
    with DemoWorld(load_scenario(SMALL)) as world:
        refresher = make_refresher(world, cost_config(world, folder))
        try:
            snapshot = await refresher.run(only=["cost"])
        finally:
            await refresher.factory.close()
    opened = Store(store)
    opened.save(snapshot)
    opened.close()


async def test_check_lists_spike_as_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scenario = load_scenario(SMALL)
    ((account_id, service),) = jumps_in(raw_series(scenario), EVALUATED)
    name = scenario.account(account_id).name
    store = tmp_path / "s.db"
    await stored_cost_snapshot(store, tmp_path)
    status = await asyncio.to_thread(
        main, ["check", "--offline", "--store", str(store)]
    )
    lines = capsys.readouterr().out.splitlines()
    spikes = [line for line in lines if "cost spike" in line]
    assert status == 1
    assert lines[0] == "ORGTOP WARNING - 1 warning"
    assert len(spikes) == 1
    assert spikes[0].startswith(f"WARNING: cost spike in {name} ({account_id})")
    assert service in spikes[0]
