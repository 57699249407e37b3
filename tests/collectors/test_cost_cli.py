"""Cost through the real command line: the store's TTL and ``orgtop check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.demo.scenario import load_scenario
from tests.collectors.test_cost import EVALUATED, jumps_in, raw_series
from tests.conftest import SMALL
from tui.cli import main


def collect_document(
    capsys: pytest.CaptureFixture[str], store: Path, *extra: str
) -> dict:
    main(
        [
            "collect",
            "--demo-scenario",
            str(SMALL),
            "--store",
            str(store),
            "--json",
            *extra,
        ]
    )
    return json.loads(capsys.readouterr().out)


def test_collect_within_ttl_makes_no_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite3"
    first = collect_document(capsys, store)
    second = collect_document(capsys, store)
    forced = collect_document(capsys, store, "--force")
    assert (
        first["stats"]["server_requests"]["ce.GetCostAndUsage"]
        == first["cost"]["requests"]
    )
    assert "ce.GetCostAndUsage" not in second["stats"]["server_requests"]
    assert second["cost"]["fetched_at"] == first["cost"]["fetched_at"]
    assert second["cost"]["spikes"] == first["cost"]["spikes"]
    assert (
        forced["stats"]["server_requests"]["ce.GetCostAndUsage"]
        == first["cost"]["requests"]
    )


def test_check_lists_spike_as_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scenario = load_scenario(SMALL)
    ((account_id, service),) = jumps_in(raw_series(scenario), EVALUATED)
    name = scenario.account(account_id).name
    status = main(
        ["check", "--demo-scenario", str(SMALL), "--store", str(tmp_path / "s.db")]
    )
    lines = capsys.readouterr().out.splitlines()
    spikes = [line for line in lines if "cost spike" in line]
    assert status != 0
    assert len(spikes) == 1
    assert spikes[0].startswith(f"WARNING: cost spike in {name} ({account_id})")
    assert service in spikes[0]
