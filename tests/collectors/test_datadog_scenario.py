"""The ``[datadog]`` scenario section, the demo lifecycle and ``check --demo``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.demo.datadog_data import DatadogData
from collectors.demo.datadog_server import DatadogServer
from collectors.demo.scenario import generated_scenario, load_scenario
from collectors.demo.server import DemoWorld
from collectors.errors import ConfigError
from collectors.model import State
from tests.collectors.test_datadog import PINNED, collect
from tests.conftest import SMALL
from tui.cli import main


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "datadog.toml"
    path.write_text(SMALL.read_text() + extra)
    return path


def test_default_scenario_pins_payments() -> None:
    scenario = load_scenario()
    data = DatadogData(scenario)
    payments_prod = scenario.account_id("payments-prod")
    alerting = [
        m
        for m in data.monitors()
        if m["groups"].get(f"aws_account:{payments_prod}") == "Alert"
    ]
    assert [m.name for m in data.section.monitors if m.account == payments_prod]
    assert any("EC2 CPU" in m["name"] for m in alerting)


def test_generated_scenario_has_alerts_at_scale() -> None:
    scenario = generated_scenario(1000)
    data = DatadogData(scenario)
    alerting = {
        account
        for monitor in data.monitors()
        for group, status in monitor["groups"].items()
        if status != "OK"
        for account in [group.split(":", 1)[1]]
    }
    assert len(data.accounts) > 900
    assert 0 < len(alerting) < len(data.accounts) // 2


def test_scenario_section_needs_no_world(small_scenario) -> None:
    server = DatadogServer(DatadogData(small_scenario))
    server.stop()
    assert len(server.api_key) == 32
    assert len(server.app_key) == 40


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        (
            '[[datadog.series]]\naccount = "payments-prod"\nmetric = "aws.ec2.cpu"\n',
            "metric",
            "unknown metric",
        ),
        (
            '[[datadog.series]]\naccount = "nobody"\nmetric = "aws.lambda.errors"\n',
            "account",
            "no account named",
        ),
        (
            '[[datadog.monitor]]\nname = "x"\naccount = "search-dev"\nstatus = "Red"\n',
            "status",
            "must be one of",
        ),
        ('[[datadog.monitor]]\naccount = "payments-prod"\n', "name", "needs a name"),
        ("[[datadog.fault]]\nstatus = 418\n", "status", "must be one of"),
        ('[[datadog.fault]]\nendpoint = "query"\n', "status", "give a status"),
        (
            '[[datadog.fault]]\nendpoint = "events"\nstatus = 500\n',
            "endpoint",
            "must be one of",
        ),
        ("[[datadog.fault]]\nstatus = 200\n", "body", "html"),
        ("[datadog.rate_limits.query]\nlimit = 0\n", "limit", "1 or more"),
        ("interval_seconds = 1\n", "interval_seconds", "between 10 and 3600"),
    ],
)
def test_invalid_section_rejected(
    tmp_path: Path, extra: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as rejected:
        load_scenario(write(tmp_path, "[datadog]\n" + extra))
    assert rejected.value.key.endswith(key)
    assert message in rejected.value.message


async def test_disabled_demo_ignores_env_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_API_KEY", "a" * 32)
    monkeypatch.setenv("DD_APP_KEY", "b" * 40)
    with DemoWorld(
        load_scenario(write(tmp_path, "[datadog]\nenabled = false\n"))
    ) as world:
        snapshot = await collect(world)
        assert "datadog" not in world.extra
    states = [s for s in snapshot.states if s.collector == "datadog"]
    assert [s.state for s in states] == [State.NOT_CONFIGURED]
    assert "demo scenario" in states[0].detail


def test_check_demo_reports_monitor_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.db")
    status = main(
        [
            "check",
            "--demo-scenario",
            str(write(tmp_path, PINNED)),
            "--json",
            "--store",
            store,
        ]
    )
    document = json.loads(capsys.readouterr().out)
    datadog = [a for a in document["alerts"] if a["rule"] == "datadog-monitors"]
    assert status >= 1
    assert {a["severity"] for a in datadog} == {"warning"}
    assert any("in payments-prod" in a["summary"] for a in datadog)
