"""The ``[cost]`` sections of the config and the scenario, and the spike rule."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from collectors.config import load_config
from collectors.cost.settings import CostSettings
from collectors.cost.spikes import Baseline, baseline, is_spike
from collectors.demo.scenario import load_scenario
from collectors.errors import ConfigError
from collectors.sources.cost import CostCollector
from tests.conftest import SMALL


def config_with(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return path


def test_defaults_without_section() -> None:
    settings = load_config(None).settings_for("cost")
    assert settings.metric == "UnblendedCost"
    assert settings.days == 35
    assert CostCollector().ttl_for(settings) == 6 * 3600


def test_ttl_read_from_config(tmp_path: Path) -> None:
    settings = load_config(
        config_with(tmp_path, "[cost]\nttl_hours = 0.5\n")
    ).settings_for("cost")
    assert CostCollector().ttl_for(settings) == 1800


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('metric = "UsageQuantity"', "cost.metric"),
        ("days = 20", "cost.days"),
        ("baseline_days = 40", "cost.baseline_days"),
        ("spike_min_increase = -1", "cost.spike_min_increase"),
        ("treshold = 3", "cost.treshold"),
    ],
)
def test_invalid_setting_names_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(config_with(tmp_path, f"[cost]\n{body}\n"))
    assert f"{key}:" in str(raised.value)
    assert ":2:" in str(raised.value)


def test_disabled_is_a_state(tmp_path: Path) -> None:
    settings = load_config(
        config_with(tmp_path, "[cost]\nenabled = false\n")
    ).settings_for("cost")
    assert "disabled" in CostCollector().disabled_reason(settings)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[cost.tuning]\nx = 1\n", "cost.tuning"),
        (
            '[[cost.spike]]\naccount = "payments-prod"\nservice = "Amazon Nothing"\n',
            "cost.spike[0].service",
        ),
        ('[[cost.spike]]\naccount = "nobody-prod"\n', "cost.spike[0].account"),
        ("[cost.team_daily]\npaymnets = 10.0\n", "cost.team_daily.paymnets"),
    ],
)
def test_scenario_cost_errors(tmp_path: Path, extra: str, key: str) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(SMALL.read_text() + "\n" + extra)
    with pytest.raises(ConfigError) as raised:
        load_scenario(path)
    assert f"{key}:" in str(raised.value)


def test_cost_section_in_generated_scenario() -> None:
    from collectors.demo.scenario import generated_scenario

    scenario = generated_scenario(1000)
    cost = scenario.sections["cost"]
    assert len(cost.accounts) >= 990
    assert scenario.account(cost.spikes[0].account_id).name == "payments-prod"


DEFAULTS = CostSettings()


@pytest.mark.parametrize(
    ("history", "value", "expected"),
    [
        ([Decimal("0.02")] * 28, Decimal("0.12"), False),
        ([Decimal(100)] * 28, Decimal(130), False),
        ([Decimal(100)] * 28, Decimal(160), True),
        ([Decimal(100), Decimal(300)] * 14, Decimal(420), False),
        ([Decimal(0)] * 28, Decimal(60), True),
        ([Decimal(100)] * 3, Decimal(1000), False),
    ],
)
def test_spike_rule(history: list[Decimal], value: Decimal, expected: bool) -> None:
    series = [*history, value]
    base = baseline(series, len(history), 28)
    assert is_spike(value, base, DEFAULTS) is expected


def test_baseline_ignores_one_outlier() -> None:
    history = [Decimal(100)] * 27 + [Decimal(5000)]
    base = baseline([*history, Decimal(0)], 28, 28)
    assert base == Baseline(Decimal(100), Decimal(0), 28)
