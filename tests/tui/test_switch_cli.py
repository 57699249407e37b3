"""``orgtop switch``, ``exec`` and ``profiles`` as a user runs them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend

from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from tests.conftest import SMALL
from tests.tui.switch_support import save_inventory
from tui.cli import main

SMALL_ARGS = ["--demo-scenario", str(SMALL)]
SCENARIO = load_scenario(SMALL)
PAYMENTS_PROD = SCENARIO.account("payments-prod").id  # type: ignore[union-attr]


class TerminalInput(io.StringIO):
    """Standard input that claims to be a terminal and answers prompts."""

    def isatty(self) -> bool:
        return True


class MemoryKeyring(KeyringBackend):
    """A keyring the tests own, kept in memory."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def log_file() -> Path:
    return Path(os.environ["ORGTOP_LOG_FILE"])


@pytest.fixture(scope="module")
def stored_accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_inventory(SMALL, tmp_path_factory.mktemp("stored"))


Orgtop = Callable[..., int]


@pytest.fixture
def orgtop(stored_accounts: Path) -> Orgtop:
    """Run ``orgtop COMMAND`` on the small demo organization (stored accounts)."""

    def run(command: str, *argv: str) -> int:
        return main([command, *SMALL_ARGS, "--store", str(stored_accounts), *argv])

    return run


def test_exec_default_demo_prints_account_id() -> None:
    probe = "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"
    default = load_scenario()

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "exec",
            "--demo",
            "payments-prod",
            "--role",
            "ReadOnly",
            "--",
            sys.executable,
            "-c",
            probe,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == default.account("payments-prod").id  # type: ignore[union-attr]


def test_exec_passes_exit_status(orgtop: Orgtop) -> None:
    assert (
        orgtop("exec", "search-dev", "--role", "ReadOnly", "--", "sh", "-c", "exit 7")
        == 7
    )


def test_exec_signal_status(orgtop: Orgtop) -> None:
    status = orgtop(
        "exec", "search-dev", "--role", "ReadOnly", "--", "sh", "-c", "kill -TERM $$"
    )

    assert status == 128 + 15


def test_exec_unknown_command(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop(
        "exec", "search-dev", "--role", "ReadOnly", "--", "no-such-command-xyz"
    )

    assert status == 127
    assert "command not found: no-such-command-xyz" in capsys.readouterr().err


def test_exec_needs_command(orgtop: Orgtop, capsys: pytest.CaptureFixture[str]) -> None:
    assert orgtop("exec", "search-dev", "--role", "ReadOnly") == 2
    assert "needs a command after --" in capsys.readouterr().err


def test_ambiguous_account_lists_candidates(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop("switch", "payments", "--role", "ReadOnly", "--export")
    err = capsys.readouterr().err

    assert status == 2
    assert "'payments' matches 4 accounts" in err
    assert f"  payments-prod ({PAYMENTS_PROD}, payments/prod)" in err


def test_unknown_account_lists_candidates(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop("switch", "paymnts-prod", "--role", "ReadOnly", "--export")
    err = capsys.readouterr().err

    assert status == 2
    assert "no account matches 'paymnts-prod'" in err
    assert "  payments-prod (" in err


def test_account_by_id_prefix(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop("switch", PAYMENTS_PROD[:6], "--role", "ReadOnly", "--export")

    assert status == 0
    assert "export ORGTOP_ACCOUNT=payments-prod\n" in capsys.readouterr().out


def test_export_lines_printed(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop("switch", "search-dev", "--role", "ReadOnly", "--export")
    captured = capsys.readouterr()
    lines = captured.out.splitlines()

    assert status == 0
    assert lines[0].startswith("# orgtop: ReadOnly in search-dev (")
    assert lines[1].startswith("unset AWS_PROFILE ")
    assert any(line.startswith("export AWS_SESSION_TOKEN=") for line in lines)
    assert "export ORGTOP_ROLE=ReadOnly" in lines
    assert "demo world stops when this command ends" in captured.err


def test_prod_admin_refused_without_terminal(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop("switch", "payments-prod", "--role", "Admin", "--export")
    captured = capsys.readouterr()

    assert status == 2
    assert f"payments-prod ({PAYMENTS_PROD}) is a production account" in captured.err
    assert "(environment prod)" in captured.err
    assert "pass --yes" in captured.err
    assert captured.out == ""


def test_prod_admin_declined_at_prompt(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", TerminalInput("n\n"))

    status = orgtop("switch", "payments-prod", "--role", "Developer", "--export")
    captured = capsys.readouterr()

    assert status == 1
    assert "Switch into it as Developer (power user)? [y/N]" in captured.err
    assert "not switched" in captured.err
    assert captured.out == ""


def test_prod_admin_confirmed_at_prompt(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", TerminalInput("y\n"))

    status = orgtop("switch", "payments-prod", "--role", "Admin", "--export")

    assert status == 0
    assert "export ORGTOP_ROLE=Admin\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("account", "role"),
    [
        ("payments-prod", "ReadOnly"),
        ("payments-dev", "Admin"),
        ("search-staging", "Developer"),
    ],
)
def test_no_question_outside_prod_writes(
    orgtop: Orgtop, account: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop("switch", account, "--role", role, "--export")

    assert status == 0
    assert "production account" not in capsys.readouterr().err


def test_yes_confirms_prod_admin(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        orgtop("switch", "payments-prod", "--role", "Admin", "--export", "--yes") == 0
    )
    assert "export ORGTOP_ROLE=Admin\n" in capsys.readouterr().out


def test_read_only_offers_only_read_only(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop(
        "switch", "payments-dev", "--role", "Admin", "--read-only", "--export"
    )
    err = capsys.readouterr().err

    assert status == 2
    assert "not among the read-only roles offered in payments-dev" in err
    assert "  ReadOnly (read-only)" in err
    assert "Admin (admin)" not in err


def test_role_picker_on_terminal(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", TerminalInput("2\n"))

    status = orgtop("switch", "search-dev", "--export")
    captured = capsys.readouterr()

    assert status == 0
    assert "  2. Developer (power user)" in captured.err
    assert "export ORGTOP_ROLE=Developer\n" in captured.out


def test_chained_duration_clamped_with_notice(
    orgtop: Orgtop, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[switch.role]]\nname = "ReadOnly"\nlevel = "read-only"\n'
        "max_session_seconds = 43200\n"
    )

    status = orgtop(
        "switch",
        "search-dev",
        "--role",
        "ReadOnly",
        "--export",
        "--duration",
        "4h",
        "--config",
        str(config),
    )
    err = capsys.readouterr().err

    assert status == 0
    assert "notice: the source credentials are temporary" in err
    assert "asked for 4h, using 1h" in err


def test_invalid_duration(orgtop: Orgtop, capsys: pytest.CaptureFixture[str]) -> None:
    assert orgtop("switch", "search-dev", "--duration", "2d", "--export") == 2
    assert "invalid duration '2d'" in capsys.readouterr().err


def test_shell_gets_role_environment(
    orgtop: Orgtop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    log_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dump = tmp_path / "env.txt"
    shell = tmp_path / "fake-shell"
    shell.write_text(f"#!/bin/sh\nenv > {dump}\nexit 3\n")
    shell.chmod(0o755)
    monkeypatch.setenv("SHELL", str(shell))
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        "[profile stale]\nregion = eu-west-1\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "stale")

    status = orgtop("switch", "payments-prod", "--role", "ReadOnly")
    variables = dict(
        line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line
    )

    assert status == 3
    assert variables["ORGTOP_ACCOUNT"] == "payments-prod"
    assert variables["ORGTOP_ENV"] == "prod"
    assert variables["ORGTOP_ROLE"] == "ReadOnly"
    assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "us-east-1"
    assert variables["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert variables["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert variables["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    assert "AWS_PROFILE" not in variables
    assert variables["AWS_SECRET_ACCESS_KEY"] not in log_file.read_text()
    assert "left the payments-prod shell" in capsys.readouterr().err


class FetchingBrowser:
    """A browser stand-in that loads the URL at once, while orgtop still serves it."""

    name = "firefox"

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.pages: list[str] = []

    def open(self, url: str, new: int = 0) -> bool:
        self.urls.append(url)
        with urllib.request.urlopen(url, timeout=10) as answer:
            self.pages.append(answer.read().decode())
        return True


def test_console_opens_accepted_url_unlogged(
    orgtop: Orgtop,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_file: Path,
) -> None:
    browser = FetchingBrowser()
    monkeypatch.setattr("webbrowser.get", lambda: browser)

    status = orgtop("switch", "payments-prod", "--role", "ReadOnly", "--console")
    captured = capsys.readouterr()
    token = browser.urls[0].rsplit("SigninToken=", 1)[1]

    assert status == 0
    assert f"arn:aws:iam::{PAYMENTS_PROD}:role/ReadOnly" in browser.pages[0]
    assert "opened the AWS console as ReadOnly in payments-prod" in captured.err
    assert token not in captured.out + captured.err
    assert token not in log_file.read_text()
    assert "federation?" not in log_file.read_text()


def test_console_without_browser_prints_url(
    orgtop: Orgtop,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_file: Path,
) -> None:
    status = orgtop(
        "switch", "payments-prod", "--role", "ReadOnly", "--console", "--print-url"
    )
    captured = capsys.readouterr()
    url = captured.out.strip()

    assert status == 0
    assert "?Action=login&" in url
    assert "share it with no one" in captured.err
    assert url.rsplit("SigninToken=", 1)[1] not in log_file.read_text()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def real_setup(
    world: DemoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """A non-demo setup: an AWS profile with MFA, reached through AWS_ENDPOINT_URL."""
    keys = world.user_credentials
    assert keys is not None
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        f"[profile jdoe]\nregion = us-east-1\nmfa_serial = {world.mfa_serial}\n"
    )
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[jdoe]\naws_access_key_id = {keys.access_key_id}\n"
        f"aws_secret_access_key = {keys.secret_access_key}\n"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.endpoint)
    config = tmp_path / "orgtop.toml"
    scenario = world.scenario
    config.write_text(
        f'[aws]\nsource_profile = "jdoe"\n'
        f'management_account = "{scenario.management.id}"\n'
        f'identity_account = "{scenario.identity.id}"\n'
        "[switch]\nmfa_keyring = true\n"
        '[[switch.role]]\nname = "ReadOnly"\nlevel = "read-only"\n'
    )
    return ["--config", str(config), "--store", str(tmp_path / "store.sqlite3")]


def test_keyring_reuses_mfa_session(
    world: DemoWorld,
    real_setup: list[str],
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    log_file: Path,
) -> None:
    command = ["switch", "payments-prod", "--role", "ReadOnly", "--export", *real_setup]

    first = main([*command, "--mfa-code", "123456"])
    after_first = world.counts()["sts.GetSessionToken"]
    second = main(command)
    captured = capsys.readouterr()
    stored = next(iter(memory_keyring.entries.values()))

    assert first == 0
    assert second == 0
    assert after_first == 1
    assert world.counts()["sts.GetSessionToken"] == 1
    assert captured.out.count(f"export ORGTOP_ACCOUNT_ID={PAYMENTS_PROD}") == 2
    assert '"session_token"' in stored
    assert stored not in log_file.read_text()


def test_unusable_keyring_asks_each_run(
    world: DemoWorld, real_setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    command = [
        "switch",
        "payments-prod",
        "--role",
        "ReadOnly",
        "--export",
        "--mfa-code",
        "123456",
        *real_setup,
    ]
    try:
        first = main(command)
        second = main(command)
    finally:
        keyring.set_keyring(previous)
    err = capsys.readouterr().err

    assert first == second == 0
    assert world.counts()["sts.GetSessionToken"] == 2
    assert err.count("no keyring backend is available") == 2
    assert "the code is asked on every run" in err


def test_missing_code_without_keyring_fails(
    world: DemoWorld, real_setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["switch", "payments-prod", "--role", "ReadOnly", "--export", *real_setup]
    )

    assert status == 2
    assert "an MFA code is needed" in capsys.readouterr().err
