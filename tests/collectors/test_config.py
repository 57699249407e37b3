"""Config files: defaults, mapping rules and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.config import load_config
from collectors.errors import ConfigError
from collectors.inventory import map_account
from collectors.model import Account


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_default_file_gives_defaults() -> None:
    config = load_config(None)
    assert config.collector_role == "OrganizationAccountAccessRole"
    assert config.is_production("PROD")


def test_explicit_missing_file_is_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_bad_toml_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[aws]\nsource_profile = "x"\nregions = [\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == str(path)
    assert caught.value.line is not None
    assert "invalid TOML" in str(caught.value)


def test_unknown_key_names_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[aws]\nsource_profile = "x"\nsorce_region = "y"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "aws.sorce_region"
    assert caught.value.line == 3
    assert "unknown key" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ('[aws]\nsource_profile = "x"\n\n[bogus]\nx = 1\n', "bogus", 4),
        ("[[bogus]]\nx = 1\n", "bogus", 1),
        ("[quotas]\n[quotas.bogus]\nx = 1\n", "quotas.bogus", 2),
        ('[fanout]\nconcurrency = 4\nrate_limits = { "ce.*" = 1, x = 2 }\n',
         "fanout.rate_limits.x", 3),
        ('[mapping]\naccounts = { 777788889999 = { team = "a", envv = "p" } }\n',
         "mapping.accounts.777788889999.envv", 2),
    ],
)
def test_unknown_table_names_line(
    tmp_path: Path, text: str, key: str, line: int
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert caught.value.line == line


@pytest.mark.parametrize(
    ("entry", "message"),
    [('"ce.*" = -1', "zero or more"), ("ce = 1", "service.Operation")],
)
def test_rate_limit_checked(tmp_path: Path, entry: str, message: str) -> None:
    path = write(tmp_path, f"[fanout.rate_limits]\n{entry}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert caught.value.line == 2


def test_wrong_type_says_expected(tmp_path: Path) -> None:
    path = write(tmp_path, '[fanout]\nconcurrency = "many"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "fanout.concurrency"
    assert caught.value.line == 2
    assert "expected an integer" in str(caught.value)


def test_invalid_account_id_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[aws]\nmanagement_account = "12345"\n')
    with pytest.raises(ConfigError, match="12-digit"):
        load_config(path)


def test_unknown_region_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[aws]\nregions = ["us-east-1", "mars-1"]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "aws.regions"


def test_name_pattern_needs_groups(tmp_path: Path) -> None:
    path = write(tmp_path, '[mapping]\nname_pattern = "^(?P<team>.+)$"\n')
    with pytest.raises(ConfigError, match="named groups"):
        load_config(path)


RULES = """
[mapping]
team_tag = "owner"
env_tag = "stage"
env_aliases = { production = "prod" }

[mapping.accounts."111111111111"]
team = "finance"
env = "prod"

[[mapping.ou]]
path = "Workloads/Search"
team = "search"
"""


@pytest.fixture
def rules(tmp_path: Path):
    return load_config(write(tmp_path, RULES)).mapping


def test_mapping_explicit_wins(rules) -> None:
    account = Account("111111111111", "search-dev", tags={"owner": "x", "stage": "dev"})
    assert map_account(account, rules) == ("finance", "prod", "explicit")


def test_mapping_tags_second(rules) -> None:
    account = Account("222222222222", "whatever", tags={"owner": "data", "stage": "production"})
    assert map_account(account, rules) == ("data", "prod", "tags")


def test_mapping_ou_then_name(rules) -> None:
    account = Account("333333333333", "search-staging", ou_path="Workloads/Search/Deep")
    assert map_account(account, rules) == ("search", "staging", "ou")


def test_mapping_name_pattern_last(rules) -> None:
    account = Account("444444444444", "checkout-prod")
    assert map_account(account, rules) == ("checkout", "prod", "name")


def test_mapping_unmatched_is_unassigned(rules) -> None:
    account = Account("555555555555", "sandbox-hackathon")
    assert map_account(account, rules) == ("unassigned", "unassigned", "none")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[aws]\nhome_region = "us-east-7"\n', "aws.home_region", "not an AWS region"),
        ('[aws]\nregions = ["us-eest-1"]\n', "aws.regions", "not an AWS region"),
        ("[fanout]\ntask_timeout = nan\n", "fanout.task_timeout", "above 0"),
        ("[fanout]\ntask_timeout = inf\n", "fanout.task_timeout", "above 0"),
        ("[fanout]\nconcurrency = 100000\n", "fanout.concurrency", "or less"),
        (
            '[fanout.rate_limits]\n"sevice-quotas.*" = 3\n',
            'fanout.rate_limits.sevice-quotas.*',
            "not a botocore service",
        ),
    ],
)
def test_implausible_values_rejected(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert caught.value.key == key
    assert caught.value.line == 2


def test_other_partition_regions_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, '[aws]\nregions = ["us-gov-west-1", "cn-north-1"]\n')
    assert load_config(path).regions == ["us-gov-west-1", "cn-north-1"]
