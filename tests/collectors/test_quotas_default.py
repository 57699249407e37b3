"""Quota alerts of the default demo organization, derived from its scenario.

The expected alerts come from the scenario's own numbers (explicit usage
entries and the hot spots the seed places, against applied or default
values), never from the collector, so a wrong collector cannot agree
with itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from collectors.check import evaluate
from collectors.demo.plugins.quotausage import model_of, quota_value
from collectors.demo.plugins.servicequotas import catalog, unreadable
from collectors.demo.scenario import (
    Scenario,
    builtin_path,
    load_scenario,
    parse_scenario,
)
from collectors.demo.server import DemoWorld
from collectors.store import Store
from collectors.tomlcheck import Table, load
from tests.collectors.test_quotas import isolated
from tests.conftest import demo_config, make_refresher
from tui.cli import main

QUOTA_CODE = re.compile(r"\((\S+) (L-[0-9A-F]{8})\)")


def seeded_alerts(scenario: Scenario) -> dict[tuple[str, str, str], tuple[str, float]]:
    """Map (account id, region, quota code) to (severity, percent) from raw numbers."""
    services = {q["quota_code"]: q["service_code"] for q in catalog()}
    section = scenario.sections["quotas"]
    model = model_of(scenario)
    expected = {}
    for key, spec in {**model.explicit, **model.random_placed}.items():
        account_id, region, code = key
        if unreadable(scenario, account_id, region, services[code]):
            continue
        percent = spec.level / quota_value(section, account_id, region, code) * 100
        if percent > 100:
            continue
        if percent >= 95:
            expected[key] = ("critical", percent)
        elif percent >= 80:
            expected[key] = ("warning", percent)
    return expected


def quota_alerts(
    alerts: list[dict[str, Any]],
) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {}
    for alert in alerts:
        if alert["rule"] != "quota":
            continue
        match = QUOTA_CODE.search(alert["summary"])
        assert match, alert["summary"]
        found[(alert["account_id"], alert["region"], match.group(2))] = alert
    return found


@pytest.fixture(scope="module")
def default_check(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run ``orgtop check --demo --json`` once on the default organization."""
    tmp_path = tmp_path_factory.mktemp("default")
    store = tmp_path / "store.db"
    output = io.StringIO()
    with isolated(tmp_path), contextlib.redirect_stdout(output):
        status = main(["check", "--demo", "--json", "--store", str(store)])
        snapshot = Store(store).latest()
    return {
        "status": status,
        "document": json.loads(output.getvalue()),
        "snapshot": snapshot,
        "store": store,
        "tmp_path": tmp_path,
    }


def test_default_check_exits_critical(default_check: dict[str, Any]) -> None:
    assert default_check["status"] == 2


def test_default_check_lists_seeded_quotas(default_check: dict[str, Any]) -> None:
    expected = seeded_alerts(load_scenario())
    found = quota_alerts(default_check["document"]["alerts"])
    assert sorted(found) == sorted(expected)
    for key, (severity, _) in expected.items():
        assert found[key]["severity"] == severity, key


def test_default_check_has_every_kind(default_check: dict[str, Any]) -> None:
    severities = {severity for severity, _ in seeded_alerts(load_scenario()).values()}
    assert severities == {"warning", "critical"}


def test_default_check_line_fields(default_check: dict[str, Any]) -> None:
    scenario = load_scenario()
    found = quota_alerts(default_check["document"]["alerts"])
    for key, (_, percent) in seeded_alerts(scenario).items():
        account = scenario.account(key[0])
        assert account is not None
        summary = found[key]["summary"]
        assert f"in {account.name} ({account.id})" in summary
        assert (
            f"team {account.team or 'unassigned'} env {account.env or 'unassigned'}"
            in summary
        )
        assert f" {key[1]}: " in summary
        assert f"= {percent:.1f}%" in summary


def test_default_vcpu_quota_at_97_percent(default_check: dict[str, Any]) -> None:
    found = quota_alerts(default_check["document"]["alerts"])
    payments = load_scenario().account("payments-prod")
    assert payments is not None
    alert = found[(payments.id, "us-east-1", "L-1216C47A")]
    assert alert["severity"] == "critical"
    assert "993/1,024 = 97.0%" in alert["summary"]


def test_default_growing_trend_matches_slope(default_check: dict[str, Any]) -> None:
    scenario = load_scenario()
    account = scenario.account("data-prod")
    assert account is not None
    key = (account.id, "eu-west-1", "L-B99A9384")
    spec = model_of(scenario).explicit[key]
    value = quota_value(scenario.sections["quotas"], *key)
    rows = default_check["snapshot"].sections["quotas"]["rows"]
    row = next(r for r in rows if (r["account_id"], r["region"], r["code"]) == key)
    assert row["slope_per_day"] == pytest.approx(spec.per_day)
    assert row["days_to_exhaustion"] == pytest.approx(
        (value - spec.level) / spec.per_day
    )
    assert row["days_to_exhaustion"] <= 7.5


def test_per_quota_threshold_changes_one_verdict(
    default_check: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    config = default_check["tmp_path"] / "config.toml"
    config.write_text("[quotas.thresholds.L-1216C47A]\ncritical = 99\n")
    store = str(default_check["store"])
    with isolated(default_check["tmp_path"]):
        status = main(
            ["check", "--offline", "--json", "--config", str(config), "--store", store]
        )
    changed = quota_alerts(json.loads(capsys.readouterr().out)["alerts"])
    before = quota_alerts(default_check["document"]["alerts"])
    payments = load_scenario().account("payments-prod")
    assert payments is not None
    vcpus = (payments.id, "us-east-1", "L-1216C47A")
    assert status == 2
    assert changed[vcpus]["severity"] == "warning"
    assert {k: a["severity"] for k, a in changed.items() if k != vcpus} == {
        k: a["severity"] for k, a in before.items() if k != vcpus
    }


def reseeded(seed: int, teams: int) -> Scenario:
    """Load the default scenario with another seed, trimmed to its first teams."""
    data, text = load(builtin_path())
    data["scenario"]["seed"] = seed
    data["team"] = data["team"][:teams]
    return parse_scenario(
        Table(data, f"<generated reseeded {seed}>", text), lenient=True
    )


def test_second_seed_moves_alerts(tmp_path: Path) -> None:
    scenario = reseeded(99, 2)
    expected = seeded_alerts(scenario)
    placed = set(model_of(scenario).random_placed)
    assert placed.isdisjoint(model_of(reseeded(20261204, 2)).random_placed)
    with isolated(tmp_path), DemoWorld(scenario) as world:
        config = demo_config(world)
        snapshot = asyncio.run(_refresh_quotas(world))
        result = evaluate(snapshot, config)
    found = quota_alerts([alert.to_dict() for alert in result.alerts])
    assert placed & set(found)
    assert sorted(found) == sorted(expected)


async def _refresh_quotas(world: DemoWorld) -> Any:
    refresher = make_refresher(world)
    try:
        return await refresher.run(only=["quotas"])
    finally:
        await refresher.factory.close()
