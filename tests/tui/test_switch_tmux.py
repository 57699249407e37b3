"""``s`` on the account screen in a real terminal: a shell as the role, then back."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SMALL
from tests.tui import test_tmux as tmux_terminal
from tests.tui.switch_support import ACCESS_GRANTS

REPO = Path(__file__).resolve().parents[2]
SESSION = tmux_terminal.SESSION

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal(tmux_terminal.Terminal):
    """The dashboard test's tmux terminal, plus typing text literally."""

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", SESSION, "-l", text)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    running = Terminal(f"orgtop-switch-{os.getpid()}")
    try:
        yield running
    finally:
        running.tmux("kill-server")


def start_orgtop(
    terminal: Terminal, folder: Path, first: str, then: str, shell: str = "/bin/sh"
) -> None:
    """Run orgtop on the small organization, where jdoe reads payments-prod.

    ``first`` runs in the terminal before orgtop, ``then`` once it exited.
    The shell orgtop starts is ``/bin/sh``, and the test's isolated
    environment is passed on.
    """
    scenario = folder / "small-access.toml"
    scenario.write_text(SMALL.read_text() + ACCESS_GRANTS)
    variables = {
        name: os.environ[name]
        for name in os.environ
        if name.startswith(("XDG_", "AWS_", "ORGTOP_"))
    }
    variables["SHELL"] = shell
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(variables.items()))
    orgtop = f"{shlex.quote(sys.executable)} -m tui.cli --demo-scenario {scenario}"
    script = f"cd {shlex.quote(str(REPO))}; export {exports}; {first}; {orgtop}; {then}"
    terminal.tmux("new-session", "-d", "-s", SESSION, "-x", "110", "-y", "32", script)


def open_role_shell(terminal: Terminal, started: str = "exit to return") -> None:
    """Enter the MFA code, open payments-prod and start a shell as ReadOnly."""
    terminal.wait_for(lambda s: "MFA code needed" in s, "the MFA dialog")
    terminal.send(*"123456", "Enter")
    terminal.wait_for(lambda s: "payments" in s and "o-small00test" in s, "data")
    terminal.send(":")
    terminal.type("account payments-prod")
    terminal.send("Enter")
    terminal.wait_for(
        lambda s: "payments-prod (" in s and re.search(r"IAM access +ok", s),
        "the account with its access map",
    )
    terminal.send("s")
    picker = terminal.wait_for(
        lambda s: "Shell in payments-prod: choose a role" in s, "the role picker"
    )
    assert "Developer" not in picker
    terminal.send("Enter")
    terminal.wait_for(lambda s: started in s, "the role's shell")


def test_shell_key_runs_role_shell(terminal: Terminal, tmp_path: Path) -> None:
    dump = tmp_path / "env.txt"
    exit_file = tmp_path / "exit"
    before, after = tmp_path / "stty-before", tmp_path / "stty-after"
    start_orgtop(
        terminal,
        tmp_path,
        f"stty -g > {before}",
        f"echo $? > {exit_file}; stty -g > {after}; echo orgtop-ended; sleep 60",
    )

    open_role_shell(terminal)
    terminal.type(f"env | grep -E '^(AWS|ORGTOP)_' | sort > {dump}; exit")
    terminal.send("Enter")
    screen = terminal.wait_for(
        lambda s: "Left the payments-prod shell" in s, "the dashboard again"
    )
    shell_env = dict(line.split("=", 1) for line in dump.read_text().splitlines())
    terminal.send("q")
    ended = terminal.wait_for(lambda s: "orgtop-ended" in s, "the end of orgtop")

    assert "payments-prod (" in screen
    assert "Shell as role" in screen
    assert shell_env["ORGTOP_ACCOUNT"] == "payments-prod"
    assert shell_env["ORGTOP_ENV"] == "prod"
    assert shell_env["ORGTOP_ROLE"] == "ReadOnly"
    assert shell_env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert shell_env["AWS_SESSION_TOKEN"]
    assert shell_env["AWS_REGION"] == shell_env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert shell_env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert exit_file.read_text().strip() == "0"
    assert after.read_text() == before.read_text()
    assert "Traceback" not in ended


def test_closed_terminal_ends_orgtop(terminal: Terminal, tmp_path: Path) -> None:
    pid_file = tmp_path / "orgtop.pid"
    start_orgtop(terminal, tmp_path, "true", "sleep 60")
    open_role_shell(terminal)
    terminal.type(f"echo $PPID > {pid_file}.new && mv {pid_file}.new {pid_file}")
    terminal.send("Enter")
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    orgtop = int(pid_file.read_text())

    terminal.tmux("kill-server")
    deadline = time.monotonic() + 60
    while Path(f"/proc/{orgtop}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = Path(f"/proc/{orgtop}").exists() and "Z" not in process_state(orgtop)
    if alive:
        os.kill(orgtop, signal.SIGKILL)

    assert not alive


def process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return "Z"


def test_missing_shell_returns_to_dashboard(terminal: Terminal, tmp_path: Path) -> None:
    start_orgtop(
        terminal, tmp_path, "true", "echo orgtop-ended; sleep 60", shell="/nonexistent/sh"
    )
    open_role_shell(terminal, started="Cannot start /nonexistent/sh")
    terminal.send("q")
    ended = terminal.wait_for(lambda s: "orgtop-ended" in s, "the end of orgtop")
    assert "Traceback" not in ended
