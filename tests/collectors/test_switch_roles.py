"""Account lookup, role choice, read-only mode, production safety and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.config import Config, load_config
from collectors.errors import ConfigError
from collectors.model import Account
from collectors.switch.roles import (
    OfferedRole,
    SwitchError,
    choose_role,
    find_account,
    offered_roles,
    production_question,
    role_arn,
)
from collectors.switch.settings import RoleSetting, parse_duration

ACCOUNTS = [
    Account("111111111111", "payments-dev", team="payments", env="dev"),
    Account("111111111112", "payments-prod", team="payments", env="prod"),
    Account("222222222222", "search-prod", team="search", env="prod"),
    Account("333333333333", "sandbox", team="unassigned", env="unassigned"),
]
PROD = ACCOUNTS[1]
DEV = ACCOUNTS[0]


def config_with_roles(*roles: RoleSetting) -> Config:
    config = Config()
    config.switch.roles = list(roles)
    return config


LEVELLED = config_with_roles(
    RoleSetting("ReadOnly", "read-only"),
    RoleSetting("Developer", "power-user"),
    RoleSetting("Admin", "admin"),
    RoleSetting("Billing", "custom"),
    RoleSetting("Mystery"),
)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("payments-prod", "payments-prod"),
        ("PAYMENTS-PROD", "payments-prod"),
        ("111111111112", "payments-prod"),
        ("search", "search-prod"),
        ("2222", "search-prod"),
        ("sand", "sandbox"),
    ],
)
def test_find_account_by_name_id_prefix(key: str, expected: str) -> None:
    assert find_account(ACCOUNTS, key).name == expected


def test_find_account_ambiguous_lists_candidates() -> None:
    with pytest.raises(SwitchError) as caught:
        find_account(ACCOUNTS, "payments")

    assert "matches 2 accounts" in caught.value.message
    assert caught.value.candidates == [
        "payments-dev (111111111111, payments/dev)",
        "payments-prod (111111111112, payments/prod)",
    ]


def test_find_account_ambiguous_id_prefix() -> None:
    with pytest.raises(SwitchError, match="matches 2 accounts"):
        find_account(ACCOUNTS, "11111111111")


def test_find_account_unknown_suggests_close() -> None:
    with pytest.raises(SwitchError) as caught:
        find_account(ACCOUNTS, "payment-prod")

    assert "no account matches" in caught.value.message
    assert caught.value.candidates[0].startswith("payments-prod ")


def test_find_account_unknown_lists_all() -> None:
    with pytest.raises(SwitchError) as caught:
        find_account(ACCOUNTS, "zzz")

    assert len(caught.value.candidates) == len(ACCOUNTS)


def test_error_text_counts_unlisted_candidates() -> None:
    error = SwitchError("many", [f"account-{i}" for i in range(25)])

    lines = str(error).splitlines()

    assert lines[0] == "many"
    assert len(lines) == 22
    assert lines[-1] == "  ... and 5 more"


def test_read_only_offers_read_only_roles() -> None:
    offered = offered_roles(LEVELLED, PROD, read_only=True)

    assert [role.name for role in offered] == ["ReadOnly"]


def test_read_only_from_config() -> None:
    config = config_with_roles(*LEVELLED.switch.roles)
    config.switch.read_only = True

    assert [role.name for role in offered_roles(config, DEV)] == ["ReadOnly"]


def test_read_only_rejects_named_writer() -> None:
    offered = offered_roles(LEVELLED, PROD, read_only=True)

    with pytest.raises(SwitchError) as caught:
        choose_role(offered, "Admin", PROD, read_only=True)

    assert "read-only roles" in caught.value.message
    assert caught.value.candidates == ["ReadOnly (read-only)"]


def test_read_only_with_no_roles_refuses_guess() -> None:
    with pytest.raises(SwitchError, match="no read-only role"):
        choose_role([], "Admin", PROD, read_only=True)


def test_role_selectors_limit_accounts() -> None:
    config = config_with_roles(
        RoleSetting("Deployer", "power-user", accounts=("env:prod",)),
        RoleSetting("Oncall", "admin", accounts=("team:search",)),
        RoleSetting("Sandboxer", "admin", accounts=("333333333333",)),
    )

    assert [r.name for r in offered_roles(config, PROD)] == ["Deployer"]
    assert [r.name for r in offered_roles(config, ACCOUNTS[2])] == [
        "Deployer",
        "Oncall",
    ]
    assert [r.name for r in offered_roles(config, ACCOUNTS[3])] == ["Sandboxer"]
    assert offered_roles(config, DEV) == []


def test_choose_role_case_insensitive() -> None:
    offered = offered_roles(LEVELLED, PROD)

    assert choose_role(offered, "readonly", PROD).name == "ReadOnly"


def test_choose_role_unnamed_needs_choice() -> None:
    with pytest.raises(SwitchError, match="several roles"):
        choose_role(offered_roles(LEVELLED, PROD), None, PROD)


def test_choose_role_only_one_offered() -> None:
    offered = offered_roles(LEVELLED, PROD, read_only=True)

    assert choose_role(offered, None, PROD).name == "ReadOnly"


def test_unlisted_role_tried_when_none_known() -> None:
    role = choose_role([], "Ops", PROD)

    assert role.arn == "arn:aws:iam::111111111112:role/Ops"
    assert role.level == "unknown"


def test_role_arn_partition_and_path() -> None:
    assert (
        role_arn("1", "/ops/Admin/", "us-gov-west-1")
        == "arn:aws-us-gov:iam::1:role/ops/Admin"
    )
    assert role_arn("1", "Admin", "cn-north-1").startswith("arn:aws-cn:")


@pytest.mark.parametrize(
    ("account", "role", "expected"),
    [
        (PROD, "ReadOnly", False),
        (PROD, "Developer", True),
        (PROD, "Admin", True),
        (PROD, "Billing", True),
        (PROD, "Mystery", True),
        (DEV, "Admin", False),
        (DEV, "Mystery", False),
        (ACCOUNTS[3], "Admin", False),
    ],
)
def test_production_question_where_needed(
    account: Account, role: str, expected: bool
) -> None:
    chosen = choose_role(offered_roles(LEVELLED, account), role, account)

    question = production_question(LEVELLED, account, chosen)

    assert (question is not None) == expected


def test_production_question_names_account_and_env() -> None:
    role = OfferedRole("Admin", role_arn(PROD.id, "Admin"), "admin")

    question = production_question(LEVELLED, PROD, role)

    assert question is not None
    assert "payments-prod (111111111112)" in question
    assert "environment prod" in question
    assert "Admin (admin)" in question


def test_production_envs_from_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[mapping]\nproduction_envs = ["live"]\n')
    config = load_config(path)
    live = Account("444444444444", "shop-live", team="shop", env="live")
    role = OfferedRole("Admin", role_arn(live.id, "Admin"), "admin")

    assert production_question(config, live, role) is not None
    assert production_question(config, PROD, role) is None


def test_switch_section_parsed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[switch]\n"
        "duration_seconds = 28800\n"
        "read_only = true\n"
        'profile_name = "{account}-{role}"\n'
        "[[switch.role]]\n"
        'name = "ReadOnly"\n'
        'level = "read-only"\n'
        "max_session_seconds = 43200\n"
        'accounts = ["env:prod"]\n'
    )

    settings = load_config(path).switch

    assert settings.duration_seconds == 28800
    assert settings.read_only
    assert settings.profile_name == "{account}-{role}"
    assert settings.roles == [
        RoleSetting("ReadOnly", "read-only", 43200, ("env:prod",))
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[switch]\nduration = 3600\n", "switch.duration"),
        ("[switch]\nduration_seconds = 60\n", "switch.duration_seconds"),
        ('[switch]\nprofile_name = "{team}-{env}"\n', "switch.profile_name"),
        ('[switch]\nprofile_name = "{owner}-{role}"\n', "switch.profile_name"),
        (
            '[switch]\nfederation_endpoint = "signin.example"\n',
            "switch.federation_endpoint",
        ),
        ('[[switch.role]]\nname = "A"\nlevel = "god"\n', "switch.role[0].level"),
        ('[[switch.role]]\nname = "has space"\n', "switch.role[0].name"),
    ],
)
def test_switch_section_rejects(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.key == key


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("8h", 28800), ("90m", 5400), ("1h30m", 5400), ("3600", 3600), ("900s", 900)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1d", "10m", "13h", "soon"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
