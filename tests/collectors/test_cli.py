"""The command line as a user runs it: exit codes, messages, JSON, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.snapshot import SCHEMA_VERSION
from tests.conftest import SMALL
from tui.cli import build_parser, main

DENY = """
[[fault]]
service = "sts"
operation = "AssumeRole"
account = "payments-dev"
error = "AccessDenied"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_version_prints_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("orgtop ")


@pytest.mark.parametrize("command", [[], ["collect"], ["check"]])
def test_help_on_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert "--demo" in capsys.readouterr().out


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():  # type: ignore[attr-defined]
        assert sub.format_help(), name


def test_collect_json_document(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = run(capsys, "collect", "--demo-scenario", str(SMALL), "--json", "--store", str(tmp_path / "s.db"))
    document = json.loads(out)
    assert status == 0
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["generated_at"].endswith("Z")
    assert list(document)[:4] == ["schema_version", "generated_at", "organization_id", "source"]
    assert len(document["accounts"]) == 12
    assert all(a["team"] and a["env"] for a in document["accounts"])
    assert document["errors"] == []


def test_collect_exit_one_on_failure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "deny.toml"
    scenario.write_text(SMALL.read_text() + DENY)
    status, out, _ = run(capsys, "collect", "--demo-scenario", str(scenario), "--json", "--store", str(tmp_path / "s.db"))
    document = json.loads(out)
    assert status == 1
    assert {e["kind"] for e in document["errors"]} == {"access-denied"}
    assert {e["account_id"] for e in document["errors"]} == {"522810096577"}
    assert len(document["accounts"]) == 12


def test_check_unknown_on_failed_collection(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "deny.toml"
    scenario.write_text(SMALL.read_text() + DENY)
    status, out, _ = run(capsys, "check", "--demo-scenario", str(scenario), "--store", str(tmp_path / "s.db"))
    assert status == 3
    assert out.startswith("ORGTOP UNKNOWN")
    assert "payments-dev" in out


def test_check_unknown_on_config_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[aws]\nregion = 'us-east-1'\n")
    status, _, err = run(capsys, "check", "--config", str(config), "--demo")
    assert status == 3
    assert f"{config}:2: aws.region: unknown key" in err


def test_bad_config_exits_two_elsewhere(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[aws\n")
    status, _, err = run(capsys, "collect", "--config", str(config), "--demo")
    assert status == 2
    assert err.count("\n") == 1
    assert "invalid TOML" in err


def test_bad_scenario_one_message(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(SMALL.read_text().replace("seed = 7", "seed = 'x'"))
    status, _, err = run(capsys, "collect", "--demo-scenario", str(scenario))
    assert status == 2
    assert f"{scenario}:" in err
    assert "scenario.seed" in err


def test_offline_reads_store_without_credentials(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    run(capsys, "collect", "--demo-scenario", str(SMALL), "--store", str(store))
    status, out, _ = run(capsys, "collect", "--offline", "--store", str(store), "--json")
    document = json.loads(out)
    assert status == 0
    assert len(document["accounts"]) == 12


def test_offline_empty_store_is_clear(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from collectors.store import Store

    Store(tmp_path / "empty.db").close()
    status, _, err = run(capsys, "collect", "--offline", "--store", str(tmp_path / "empty.db"))
    assert status == 2
    assert "no snapshot" in err


def test_invalid_mfa_code_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "collect", "--demo", "--mfa-code", "12ab")
    assert status == 2
    assert "6 digits" in err


def test_real_command_prints_no_traceback(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text("[scenario]\nunknown = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "collect", "--demo-scenario", str(scenario)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "scenario.unknown: unknown key" in result.stderr


def test_denied_account_list_is_one_message(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "noorg.toml"
    scenario.write_text(SMALL.read_text() + '\n[[fault]]\nservice = "organizations"\noperation = "ListAccounts"\nerror = "AccessDeniedException"\n')
    status, out, err = run(capsys, "collect", "--demo-scenario", str(scenario), "--store", str(tmp_path / "s.db"))
    assert status == 1
    assert out == ""
    assert "listing the organization's accounts" in err
    assert "AccessDeniedException" in err


@pytest.mark.parametrize("count", ["0", "3", "100000"])
def test_demo_accounts_out_of_range(capsys: pytest.CaptureFixture[str], count: str) -> None:
    status, _, err = run(capsys, "collect", "--demo-accounts", count)
    assert status == 2
    assert "--demo-accounts must be between 8 and 5000" in err


def test_offline_never_creates_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "typo.db"
    status, _, err = run(capsys, "collect", "--offline", "--store", str(target))
    assert status == 2
    assert "no store at" in err
    assert not target.exists()


def test_offline_leaves_foreign_file_alone(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("not a database")
    status, _, err = run(capsys, "collect", "--offline", "--store", str(target))
    assert status == 2
    assert "not a readable orgtop store" in err
    assert target.read_text() == "not a database"


@pytest.mark.parametrize(("key", "value"), [("task_timeout", "0"), ("concurrency", "0"), ("max_attempts", "0")])
def test_fanout_limits_validated(capsys: pytest.CaptureFixture[str], tmp_path: Path, key: str, value: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[fanout]\n{key} = {value}\n")
    status, _, err = run(capsys, "collect", "--config", str(config), "--demo")
    assert status == 2
    assert f"{config}:2: fanout.{key}:" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--demo-scenario", str(SMALL), "--offline", "collect"],
        ["collect", "--demo-scenario", str(SMALL), "--offline"],
    ],
)
def test_common_options_either_side(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    status, _, err = run(capsys, "--store", str(tmp_path / "none.db"), *argv)
    assert status == 2
    assert "no store at" in err


def test_collect_without_store_prints_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = blocker / "s.db"
    status, out, err = run(
        capsys,
        "collect",
        "--json",
        "--demo-scenario",
        str(SMALL),
        "--store",
        str(store),
    )
    assert status == 1
    assert len(json.loads(out)["accounts"]) == 12
    assert err.count("snapshot not saved") == 1
    assert "Traceback" not in err


def test_dashboard_needs_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--demo")
    assert status == 2
    assert out == ""
    assert "needs a terminal" in err


def test_store_directory_path_is_clear(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(
        capsys, "collect", "--demo-scenario", str(SMALL), "--store", str(tmp_path)
    )
    assert status == 1
    assert "is a directory; give a file path with --store" in err
