"""``orgtop switch`` and ``exec`` as a user with an AWS profile and MFA runs them.

One demo world serves the whole module on 127.0.0.1, reached the way a real
setup reaches AWS: an AWS profile with keys and an MFA device, orgtop's
config naming it, and ``AWS_ENDPOINT_URL`` pointing botocore at the world.
The server's request counts only grow, so tests compare differences.
"""

from __future__ import annotations

import io
import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


@dataclass
class Setup:
    """The shared world and the files that reach it."""

    world: DemoWorld
    environment: dict[str, str]
    arguments: list[str]

    def count(self, operation: str) -> int:
        return self.world.counts().get(operation, 0)


def write_setup(world: DemoWorld, folder: Path) -> tuple[dict[str, str], Path]:
    """Write the AWS profile, its keys and orgtop's config; return env and config."""
    keys = world.user_credentials
    assert keys is not None
    aws_config = folder / "aws-config"
    aws_config.write_text(
        f"[profile jdoe]\nregion = us-east-1\nmfa_serial = {world.mfa_serial}\n"
    )

    credentials = folder / "aws-credentials"
    credentials.write_text(
        f"[jdoe]\naws_access_key_id = {keys.access_key_id}\n"
        f"aws_secret_access_key = {keys.secret_access_key}\n"
    )

    scenario = world.scenario
    config = folder / "orgtop.toml"
    config.write_text(
        f'[aws]\nsource_profile = "jdoe"\n'
        f'management_account = "{scenario.management.id}"\n'
        f'identity_account = "{scenario.identity.id}"\n'
        f'[switch]\nfederation_endpoint = "{world.extra["federation"].endpoint}"\n'
        '[[switch.role]]\nname = "ReadOnly"\nlevel = "read-only"\n'
        "max_session_seconds = 43200\n"
        '[[switch.role]]\nname = "Developer"\nlevel = "power-user"\n'
        '[[switch.role]]\nname = "Admin"\nlevel = "admin"\n'
    )

    environment = {
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_ENDPOINT_URL": world.endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return environment, config


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("profile-setup")
    with DemoWorld(load_scenario(SMALL)) as world:
        environment, config = write_setup(world, folder)
        with pytest.MonkeyPatch.context() as patch:
            for name in list(os.environ):
                if name.startswith(("AWS_", "DD_", "ORGTOP_")):
                    patch.delenv(name)
            for name, value in environment.items():
                patch.setenv(name, value)
            store = save_inventory(folder, config=config)
        yield Setup(
            world, environment, ["--config", str(config), "--store", str(store)]
        )


@pytest.fixture(autouse=True)
def profile_environment(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in setup.environment.items():
        monkeypatch.setenv(name, value)


Orgtop = Callable[..., int]


@pytest.fixture
def orgtop(setup: Setup) -> Orgtop:
    """Run ``orgtop COMMAND ...`` against the shared world, with an MFA code."""

    def run(command: str, *argv: str, code: str | None = "123456") -> int:
        mfa = ["--mfa-code", code] if code else []
        return main([command, *setup.arguments, *mfa, *argv])

    return run


@pytest.fixture
def log_file() -> Path:
    return Path(os.environ["ORGTOP_LOG_FILE"])


def test_exec_passes_exit_status(orgtop: Orgtop) -> None:
    assert (
        orgtop("exec", "search-dev", "--role", "ReadOnly", "--", "sh", "-c", "exit 7")
        == 7
    )


def test_exec_signal_status(orgtop: Orgtop) -> None:
    kill = ["sh", "-c", "kill -TERM $$"]

    assert orgtop("exec", "search-dev", "--role", "ReadOnly", "--", *kill) == 128 + 15


def test_exec_runs_as_role(orgtop: Orgtop, capfd: pytest.CaptureFixture[str]) -> None:
    probe = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"

    status = orgtop(
        "exec", "payments-prod", "--role", "ReadOnly", "--", sys.executable, "-c", probe
    )

    assert status == 0
    assert (
        f"arn:aws:sts::{PAYMENTS_PROD}:assumed-role/ReadOnly/" in capfd.readouterr().out
    )


def test_exec_unknown_command(
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop("exec", "search-dev", "--role", "ReadOnly", "--", "no-such-cmd-xyz")

    assert status == 127
    assert "command not found: no-such-cmd-xyz" in capsys.readouterr().err


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
    assert not any(line.startswith("export AWS_ENDPOINT_URL=") for line in lines)


def test_each_run_asks_one_code(
    setup: Setup, orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    before = setup.count("sts.GetSessionToken")

    for account in ("payments-dev", "search-dev"):
        assert orgtop("switch", account, "--role", "Developer", "--export") == 0

    assert setup.count("sts.GetSessionToken") - before == 2
    assert capsys.readouterr().out.count("export ORGTOP_ROLE=Developer") == 2


def test_prod_admin_refused_without_terminal(
    setup: Setup, orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    before = setup.count("sts.AssumeRole")

    status = orgtop("switch", "payments-prod", "--role", "Admin", "--export")
    captured = capsys.readouterr()

    assert status == 2
    assert f"payments-prod ({PAYMENTS_PROD}) is a production account" in captured.err
    assert "(environment prod)" in captured.err
    assert "pass --yes" in captured.err
    assert captured.out == ""
    # The one AssumeRole is the collector role's, to list the accounts.
    assert setup.count("sts.AssumeRole") - before == 1


def test_prod_writer_declined_at_prompt(
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
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    status = orgtop(
        "switch", "search-dev", "--role", "ReadOnly", "--export", "--duration", "4h"
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
    monkeypatch.setenv("AWS_PROFILE", "jdoe")

    status = orgtop("switch", "payments-prod", "--role", "ReadOnly")
    lines = dump.read_text().splitlines()
    variables = dict(line.split("=", 1) for line in lines if "=" in line)

    assert status == 3
    assert variables["ORGTOP_ACCOUNT"] == "payments-prod"
    assert variables["ORGTOP_ENV"] == "prod"
    assert variables["ORGTOP_ROLE"] == "ReadOnly"
    assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "us-east-1"
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
    orgtop: Orgtop, capsys: pytest.CaptureFixture[str], log_file: Path
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


def test_keyring_reuses_mfa_session(
    setup: Setup,
    orgtop: Orgtop,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    log_file: Path,
) -> None:
    command = ["payments-prod", "--role", "ReadOnly", "--export", "--mfa-keyring"]
    before = setup.count("sts.GetSessionToken")

    first = orgtop("switch", *command)
    after_first = setup.count("sts.GetSessionToken")
    second = orgtop("switch", *command, code=None)
    captured = capsys.readouterr()
    stored = next(iter(memory_keyring.entries.values()))

    assert first == 0
    assert second == 0
    assert after_first - before == 1
    assert setup.count("sts.GetSessionToken") == after_first
    assert captured.out.count(f"export ORGTOP_ACCOUNT_ID={PAYMENTS_PROD}") == 2
    assert '"session_token"' in stored
    assert stored not in log_file.read_text()


def test_unusable_keyring_asks_each_run(
    setup: Setup, orgtop: Orgtop, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    command = ["payments-prod", "--role", "ReadOnly", "--export", "--mfa-keyring"]
    before = setup.count("sts.GetSessionToken")
    try:
        first = orgtop("switch", *command)
        second = orgtop("switch", *command)
    finally:
        keyring.set_keyring(previous)
    err = capsys.readouterr().err

    assert first == second == 0
    assert setup.count("sts.GetSessionToken") - before == 2
    assert err.count("no keyring backend is available") == 2
    assert "the code is asked on every run" in err


def test_missing_code_fails(orgtop: Orgtop, capsys: pytest.CaptureFixture[str]) -> None:
    status = orgtop(
        "switch", "payments-prod", "--role", "ReadOnly", "--export", code=None
    )

    assert status == 2
    assert "an MFA code is needed" in capsys.readouterr().err
