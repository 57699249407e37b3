"""The real ``orgtop --demo`` in a real terminal (tmux): start, use, quit."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SESSION = "orgtop-test"

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal:
    """A tmux server of its own, so the test never touches the user's sessions."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        command = ["tmux", "-L", self.socket, "-f", "/dev/null", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", SESSION)

    def send(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", SESSION, key)
            time.sleep(0.15)

    def wait_for(
        self, found: Callable[[str], bool], what: str, timeout: float = 60
    ) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if found(text):
                return text
            time.sleep(0.2)
        raise AssertionError(
            f"{what} not on screen within {timeout} s:\n{self.screen()}"
        )


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    running = Terminal(f"orgtop-test-{os.getpid()}")
    try:
        yield running
    finally:
        running.tmux("kill-server")


def test_demo_in_tmux(terminal: Terminal, tmp_path: Path) -> None:
    exit_file = tmp_path / "exit"
    before, after = tmp_path / "stty-before", tmp_path / "stty-after"
    orgtop = f"{shlex.quote(sys.executable)} -m tui.cli --demo"
    script = (
        f"cd {shlex.quote(str(REPO))}; stty -g > {before}; {orgtop}; "
        f"echo $? > {exit_file}; stty -g > {after}; echo orgtop-ended; sleep 60"
    )
    terminal.tmux("new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30", script)

    terminal.wait_for(lambda s: "MFA code needed" in s, "the MFA dialog")
    terminal.send(*"123456", "Enter")
    screen = terminal.wait_for(
        lambda s: "payments" in s and "o-acme4demo7" in s, "data"
    )
    assert "prod ⚑" in screen

    terminal.send("Enter")
    terminal.wait_for(lambda s: "Team catalog" in s, "the team screen")
    terminal.send("Escape")
    terminal.wait_for(lambda s: "accounts ·" in s and "teams" in s, "the overview")
    terminal.send(":errors", "Enter")  # one burst, as a fast typist sends it
    terminal.wait_for(lambda s: "Errors ·" in s, "the errors list")
    terminal.send("Escape")
    terminal.wait_for(lambda s: "teams" in s, "the overview again")
    terminal.send("q")

    screen = terminal.wait_for(lambda s: "orgtop-ended" in s, "the end of orgtop")
    assert exit_file.read_text().strip() == "0"
    assert after.read_text() == before.read_text()
    assert (
        terminal.tmux("display", "-p", "-t", SESSION, "#{alternate_on}").strip() == "0"
    )
    assert "Traceback" not in screen
