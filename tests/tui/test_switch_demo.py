"""``switch`` and ``exec`` with ``--demo``: the demo endpoint reaches the child."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from collectors.demo.scenario import load_scenario
from tests.conftest import SMALL
from tests.tui.switch_support import save_inventory
from tui.cli import main


@pytest.fixture(scope="module")
def stored_accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_inventory(tmp_path_factory.mktemp("stored"), scenario=SMALL)


def demo(command: str, store: Path, *argv: str) -> int:
    return main([command, "--demo-scenario", str(SMALL), "--store", str(store), *argv])


def test_exec_default_demo_prints_account_id() -> None:
    probe = "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"
    default = load_scenario()

    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "exec", "--demo", "payments-prod",
         "--role", "ReadOnly", "--", sys.executable, "-c", probe],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == default.account("payments-prod").id  # type: ignore[union-attr]


def test_shell_reaches_demo_endpoint(
    stored_accounts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = tmp_path / "account.txt"
    shell = tmp_path / "fake-shell"
    probe = "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"
    shell.write_text(f'#!/bin/sh\n"{sys.executable}" -c "{probe}" > {dump}\n')
    shell.chmod(0o755)
    monkeypatch.setenv("SHELL", str(shell))

    status = demo("switch", stored_accounts, "search-prod", "--role", "ReadOnly")

    assert status == 0
    assert dump.read_text().strip() == load_scenario(SMALL).account("search-prod").id  # type: ignore[union-attr]


def test_demo_export_names_endpoint(
    stored_accounts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = demo(
        "switch", stored_accounts, "search-dev", "--role", "ReadOnly", "--export"
    )
    captured = capsys.readouterr()

    assert status == 0
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in captured.out
    assert "demo world stops when this command ends" in captured.err


class FetchingBrowser:
    """A browser stand-in that loads the URL at once, while orgtop still serves it."""

    name = "firefox"

    def __init__(self) -> None:
        self.pages: list[str] = []

    def open(self, url: str, new: int = 0) -> bool:
        with urllib.request.urlopen(url, timeout=10) as answer:
            self.pages.append(answer.read().decode())
        return True


def test_demo_console_uses_stand_in(
    stored_accounts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = FetchingBrowser()
    monkeypatch.setattr("webbrowser.get", lambda: browser)

    status = demo(
        "switch", stored_accounts, "payments-prod", "--role", "ReadOnly", "--console"
    )

    assert status == 0
    assert "Signed in as arn:aws:iam::" in browser.pages[0]
