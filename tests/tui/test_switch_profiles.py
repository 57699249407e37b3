"""``orgtop profiles`` on the demo organization, against a hand-written config."""

from __future__ import annotations

import configparser
from collections.abc import Callable
from pathlib import Path

import pytest

from collectors.switch.profiles import BEGIN, END
from tests.conftest import SMALL
from tests.tui.switch_support import save_inventory
from tui.cli import main

HAND_WRITTEN = (
    "# hand-written, keep exactly\n"
    "[default]\n"
    "region = eu-west-1\n"
    "\n"
    "[profile jdoe]\n"
    "mfa_serial = arn:aws:iam::111122223333:mfa/jdoe   \n"
)
AFTER_BLOCK = "\n[profile mine-after]\nregion = ap-southeast-2\n"


@pytest.fixture(scope="module")
def stored_accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_inventory(tmp_path_factory.mktemp("stored"), scenario=SMALL)


@pytest.fixture
def profiles(stored_accounts: Path) -> Callable[..., int]:
    """Run ``orgtop profiles`` on a demo scenario, reusing the stored accounts."""

    def run(scenario: Path, *argv: str) -> int:
        store = ["--store", str(stored_accounts)]
        return main(["profiles", "--demo-scenario", str(scenario), *store, *argv])

    return run


def backups(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".bak"))


@pytest.fixture
def aws_config(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    path = folder / "config"
    path.write_text(HAND_WRITTEN)
    return path


def test_profiles_diff_without_write(
    profiles: Callable[..., int], aws_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = profiles(SMALL, "--file", str(aws_config))
    captured = capsys.readouterr()

    assert status == 0
    assert captured.out.startswith(f"--- {aws_config}\n")
    assert "+[profile payments-prod-ReadOnly]\n" in captured.out
    assert "run again with --write" in captured.err
    assert aws_config.read_text() == HAND_WRITTEN


def test_profiles_write_twice_idempotent(
    profiles: Callable[..., int], aws_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = profiles(SMALL, "--file", str(aws_config), "--write")
    written = aws_config.read_bytes()
    after_first = backups(aws_config.parent)
    second = profiles(SMALL, "--file", str(aws_config), "--write")
    err = capsys.readouterr().err

    assert first == second == 0
    assert aws_config.read_bytes() == written
    assert backups(aws_config.parent) == after_first
    assert len(after_first) == 1
    assert (aws_config.parent / after_first[0]).read_text() == HAND_WRITTEN
    assert "orgtop's profiles are up to date" in err


def test_profiles_keep_user_content_bytes(
    profiles: Callable[..., int], aws_config: Path
) -> None:
    profiles(SMALL, "--file", str(aws_config), "--write")
    aws_config.write_text(aws_config.read_text() + AFTER_BLOCK)

    status = profiles(SMALL, "--file", str(aws_config), "--write", "--read-only")
    text = aws_config.read_text()
    before, rest = text.split(BEGIN + "\n", 1)
    _, after = rest.split(END + "\n", 1)

    assert status == 0
    assert before == HAND_WRITTEN
    assert after == AFTER_BLOCK
    assert "-Admin]" not in text


def test_profiles_parse_as_aws_config(
    profiles: Callable[..., int], aws_config: Path
) -> None:
    profiles(SMALL, "--file", str(aws_config), "--write")

    parser = configparser.RawConfigParser()
    parser.read_string(aws_config.read_text())
    profile = parser["profile payments-prod-Developer"]

    assert profile["role_arn"].endswith(":role/Developer")
    assert profile["source_profile"] == "default"
    assert profile["mfa_serial"] == "arn:aws:iam::200000000002:mfa/jdoe"
    assert profile["region"] == "us-east-1"
    assert "profile small-management-ReadOnly" not in parser
    assert not any("legacy-billing" in section for section in parser.sections())


def test_profiles_of_gone_account_removed(
    profiles: Callable[..., int], aws_config: Path, tmp_path: Path
) -> None:
    bigger = tmp_path / "bigger.toml"
    bigger.write_text(
        SMALL.read_text() + '\n[[account]]\nname = "extra-dev"\nou = "Sandbox"\n'
        'tags = { team = "extra", env = "dev" }\n'
    )

    profiles(bigger, "--file", str(aws_config), "--write")
    with_extra = aws_config.read_text()
    profiles(SMALL, "--file", str(aws_config), "--write")

    assert "[profile extra-dev-ReadOnly]" in with_extra
    assert "[profile extra-dev-ReadOnly]" not in aws_config.read_text()
    assert "[profile payments-dev-ReadOnly]" in aws_config.read_text()


def test_profiles_remove_restores_file(
    profiles: Callable[..., int], aws_config: Path
) -> None:
    profiles(SMALL, "--file", str(aws_config), "--write")

    status = profiles(SMALL, "--file", str(aws_config), "--write", "--remove")

    assert status == 0
    assert aws_config.read_text() == HAND_WRITTEN


def test_profiles_demo_needs_file(
    profiles: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    status = profiles(SMALL, "--write")

    assert status == 2
    assert "add --file PATH" in capsys.readouterr().err


def test_profiles_damaged_block_rejected(
    profiles: Callable[..., int], aws_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws_config.write_text(HAND_WRITTEN + BEGIN + "\n[profile half]\n")

    status = profiles(SMALL, "--file", str(aws_config), "--write")

    assert status == 2
    assert "the orgtop block is damaged" in capsys.readouterr().err
    assert aws_config.read_text() == HAND_WRITTEN + BEGIN + "\n[profile half]\n"
