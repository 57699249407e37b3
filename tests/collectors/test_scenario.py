"""Scenario files: the default organization, generation and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.demo.scenario import generated_scenario, load_scenario
from collectors.errors import ConfigError
from tests.conftest import SMALL


def test_default_scenario_shape() -> None:
    scenario = load_scenario()
    teams = scenario.teams
    assert len(teams) >= 8
    assert "payments" in teams
    assert len(scenario.accounts) >= 35
    assert len(scenario.regions) == 3
    assert scenario.account("payments-prod") is not None


def test_default_scenario_is_deterministic() -> None:
    first = load_scenario()
    second = load_scenario()
    assert [(a.id, a.name) for a in first.accounts] == [(a.id, a.name) for a in second.accounts]


def test_every_member_gets_standard_roles() -> None:
    names = {role.name for role in load_scenario().roles}
    assert {"ReadOnly", "Developer", "Admin"} <= names


@pytest.mark.parametrize("count", [12, 200, 1000])
def test_generated_scenario_size(count: int) -> None:
    scenario = generated_scenario(count)
    assert abs(len(scenario.accounts) - count) <= 6
    assert len({a.id for a in scenario.accounts}) == len(scenario.accounts)


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SMALL.read_text()
    assert old in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_unknown_key_rejected(tmp_path: Path) -> None:
    path = broken(tmp_path, 'name = "payments"', 'name = "payments"\ncolour = "red"')
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert caught.value.key == "team[0].colour"
    assert caught.value.line is not None
    assert path.read_text().splitlines()[caught.value.line - 1].startswith("colour")


def test_wrong_type_rejected(tmp_path: Path) -> None:
    path = broken(tmp_path, "seed = 7", 'seed = "seven"')
    with pytest.raises(ConfigError, match="expected an integer"):
        load_scenario(path)


def test_invalid_account_id_rejected(tmp_path: Path) -> None:
    path = broken(tmp_path, 'id = "200000000001"', 'id = "2000"')
    with pytest.raises(ConfigError, match="12-digit"):
        load_scenario(path)


def test_unknown_region_rejected(tmp_path: Path) -> None:
    path = broken(tmp_path, '"eu-west-1"]', '"eu-wast-1"]')
    with pytest.raises(ConfigError, match="unknown region"):
        load_scenario(path)


def test_fault_on_unknown_account_rejected(tmp_path: Path) -> None:
    path = tmp_path / "fault.toml"
    path.write_text(SMALL.read_text() + '\n[[fault]]\naccount = "nobody"\nerror = "Throttling"\n')
    with pytest.raises(ConfigError, match="no account named 'nobody'"):
        load_scenario(path)


def test_fault_unknown_error_code_rejected(tmp_path: Path) -> None:
    path = tmp_path / "fault.toml"
    path.write_text(SMALL.read_text() + '\n[[fault]]\nerror = "Oops"\n')
    with pytest.raises(ConfigError, match="unknown error code 'Oops'"):
        load_scenario(path)


def test_bad_toml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[scenario\n")
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
    assert caught.value.line == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('service = "quotas"\nerror = "Throttling"', "unknown service 'quotas'"),
        ('service = "sts"\noperation = "AssumeRoles"\nerror = "Throttling"', "no operation 'AssumeRoles'"),
        ('service = "ce"\nregion = "us-east-1"\nerror = "Throttling"', "global service"),
        ('error = "Throttling"\ntimes = -1', "zero or more"),
    ],
)
def test_fault_that_cannot_match_rejected(tmp_path: Path, rule: str, message: str) -> None:
    path = tmp_path / "fault.toml"
    path.write_text(SMALL.read_text() + f"\n[[fault]]\n{rule}\n")
    with pytest.raises(ConfigError, match=message):
        load_scenario(path)


@pytest.mark.parametrize(
    ("rule", "key", "message"),
    [
        ('sequence = ["Throttling", "okay"]', "sequence", "use 'ok' for an answer"),
        ('error = "Throttling"\nmax_consecutive = 3', "max_consecutive", "only with rate"),
    ],
)
def test_fault_pattern_errors_name_key(
    tmp_path: Path, rule: str, key: str, message: str
) -> None:
    path = tmp_path / "fault.toml"
    path.write_text(SMALL.read_text() + f"\n[[fault]]\n{rule}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_scenario(path)
    assert caught.value.key == f"fault[0].{key}"
    assert caught.value.line is not None
