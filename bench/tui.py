"""Benchmark the dashboard on a stored 1,000-account snapshot.

The snapshot is collected once from the demo world (``orgtop collect
--demo-accounts N``) and kept in a cache file, so the demo world's own
start-up and moto's request cost never enter the figures. The benchmark then
starts ``orgtop --offline --store FILE`` in a pseudo-terminal, the way a user
does, and measures from outside the process:

- time from spawning the process to the end of the first frame that shows
  the organization's data;
- time from writing a key (down or up) to the end of the next frame, on the
  overview and on a team screen;
- the process's peak resident memory (``VmHWM`` in ``/proc``).

A frame ends where Textual closes its synchronized-output block
(``ESC [ ? 2026 l``). The benchmark replies to Textual's query for that mode
as a terminal that supports it would. Run from the repository root::

    python -m bench.tui            # reuses the cached store when present
    python -m bench.tui --rebuild  # collects the snapshot again
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

from collectors.store import Store

FIRST_FRAME_TARGET = 1.5
KEY_MEDIAN_TARGET = 0.050
MEMORY_TARGET_MB = 250.0

SYNC_QUERY = b"\x1b[?2026$p"
SYNC_SUPPORTED = b"\x1b[?2026;2$y"
FRAME_END = b"\x1b[?2026l"
DOWN, UP, ENTER, QUIT = b"\x1b[B", b"\x1b[A", b"\r", b"q"
QUIET_SECONDS = 0.4
"""Output silence taken to mean the app has finished painting."""
SETTLE_SECONDS = 0.15
"""Silence after a key's first frame taken to mean it caused no more frames."""
FRAME_TIMEOUT = 10.0


Row = tuple[str, float, float | None, str]
"""A report line: figure, value, target (None: no target) and unit."""


@dataclass
class Figures:
    """Figures of one run."""

    accounts: int = 0
    first_frame: float = 0.0
    first_frame_cpu: float = 0.0
    overview_keys: list[tuple[float, float]] = field(default_factory=list)
    team_keys: list[tuple[float, float]] = field(default_factory=list)
    peak_memory_mb: float = 0.0


class PtyApp:
    """A process running in a pseudo-terminal of a given size."""

    def __init__(self, command: list[str], size: tuple[int, int], env: dict[str, str]):
        columns, rows = size
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.output = bytearray()

    def read(self, timeout: float) -> bytes:
        """Return what the app wrote within ``timeout`` seconds (maybe nothing)."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return b""
        if SYNC_QUERY in chunk:
            os.write(self.master, SYNC_SUPPORTED)
        self.output.extend(chunk)
        return chunk

    def until(self, marker: bytes, timeout: float = FRAME_TIMEOUT) -> float:
        """Read until ``marker`` appears in new output; return when it did."""
        start = len(self.output)
        deadline = time.perf_counter() + timeout
        while marker not in self.output[start:]:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no {marker!r} from the app within {timeout} s")
            self.read(0.05)
        return time.perf_counter()

    def settle(self) -> None:
        """Read until the app has been silent for :data:`QUIET_SECONDS`."""
        while self.read(QUIET_SECONDS):
            pass

    def key_to_frame(self, key: bytes) -> tuple[float, float]:
        """Send ``key``; return seconds to the end of the next and of the last frame.

        One key can cause several frames: the cursor moves in the first, and
        what follows from it (the detail line) may come in later ones.
        """
        self.settle()
        sent = time.perf_counter()
        os.write(self.master, key)
        first = self.until(FRAME_END)
        last = first
        while True:
            start = len(self.output)
            if not self.read(SETTLE_SECONDS):
                break
            if FRAME_END in self.output[start:]:
                last = time.perf_counter()
        return first - sent, last - sent

    def cpu_seconds(self) -> float:
        """Return the CPU time (user and system) the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1]
        user, system = fields.split()[11:13]
        return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")

    def peak_memory_mb(self) -> float:
        """Return the process's peak resident set size in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> int:
        """Quit with ``q`` and return the exit status (killing it if it hangs)."""
        try:
            os.write(self.master, QUIT)
            deadline = time.perf_counter() + 10
            while self.process.poll() is None and time.perf_counter() < deadline:
                self.read(0.1)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self.master)
        return self.process.wait()


def isolated_env(home: Path) -> dict[str, str]:
    """Return an environment with no AWS or Datadog settings and temp XDG dirs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "DD_", "ORGTOP_"))
    }
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        env[f"XDG_{kind}_HOME"] = str(home / kind.lower())
    env["ORGTOP_LOG_FILE"] = str(home / "orgtop.log")
    env["TERM"] = "xterm-256color"
    return env


def build_store(path: Path, accounts: int, env: dict[str, str]) -> None:
    """Collect a demo organization of ``accounts`` accounts into ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    print(f"collecting {accounts} demo accounts into {path} (once)...", flush=True)
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "tui.cli",
        "collect",
        "--demo-accounts",
        str(accounts),
        "--store",
        str(path),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"collect failed ({done.returncode}): {done.stderr.strip()}")
    print(f"  {done.stdout.strip()} ({time.perf_counter() - started:.0f} s)")


def describe_store(path: Path) -> tuple[str, int]:
    """Return the organization id and account count of the newest snapshot."""
    store = Store(path)
    try:
        snapshot = store.latest()
    finally:
        store.close()
    if snapshot is None:
        raise SystemExit(f"no snapshot in {path}; run with --rebuild")
    return snapshot.organization_id, len(snapshot.accounts)


def measure(
    store: Path, size: tuple[int, int], samples: int, env: dict[str, str]
) -> Figures:
    """Run the app once and measure start-up, key latency and memory."""
    organization, accounts = describe_store(store)
    figures = Figures(accounts=accounts)
    marker = organization.encode()
    command = [sys.executable, "-m", "tui.cli", "--offline", "--store", str(store)]
    app = PtyApp(command, size, env)
    try:
        app.until(marker)
        figures.first_frame = app.until(FRAME_END) - app.started
        figures.first_frame_cpu = app.cpu_seconds()
        for index in range(samples):
            figures.overview_keys.append(
                app.key_to_frame(DOWN if index % 2 == 0 else UP)
            )
        app.key_to_frame(ENTER)
        for index in range(samples):
            figures.team_keys.append(app.key_to_frame(DOWN if index % 2 == 0 else UP))
        figures.peak_memory_mb = app.peak_memory_mb()
    finally:
        status = app.close()
    if status != 0:
        raise SystemExit(f"orgtop exited with {status}")
    return figures


def key_rows(screen: str, samples: list[tuple[float, float]]) -> list[Row]:
    """Return the median and worst latencies of one screen's key presses."""
    first = [sample[0] * 1000 for sample in samples]
    last = [sample[1] * 1000 for sample in samples]
    target = KEY_MEDIAN_TARGET * 1000
    return [
        (f"{screen} key to next frame, median", statistics.median(first), target, "ms"),
        (f"{screen} key to next frame, worst", max(first), None, "ms"),
        (f"{screen} key to last frame, median", statistics.median(last), target, "ms"),
        (f"{screen} key to last frame, worst", max(last), None, "ms"),
    ]


def report(figures: Figures, size: tuple[int, int]) -> bool:
    """Print each figure beside its target; return whether all are met."""
    rows: list[Row] = [
        (
            "first frame with data",
            figures.first_frame * 1000,
            FIRST_FRAME_TARGET * 1000,
            "ms",
        ),
        ("  CPU time until then", figures.first_frame_cpu * 1000, None, "ms"),
        *key_rows("overview", figures.overview_keys),
        *key_rows("team", figures.team_keys),
        ("peak memory (VmHWM)", figures.peak_memory_mb, MEMORY_TARGET_MB, "MB"),
    ]
    print(
        f"\norgtop --offline, {figures.accounts} accounts, "
        f"{size[0]}x{size[1]} terminal, "
        f"{len(figures.overview_keys)} keys per screen"
    )
    print(f"{'figure':36} {'measured':>12} {'target':>12}  result")
    passed = True
    for name, value, target, unit in rows:
        if target is None:
            print(f"{name:36} {value:9.1f} {unit:2} {'-':>12}")
            continue
        met = value < target
        passed = passed and met
        verdict = "ok" if met else "MISSED"
        limit = f"< {target:.0f} {unit}"
        print(f"{name:36} {value:9.1f} {unit:2} {limit:>12}  {verdict}")
    return passed


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the store, run the app, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--accounts", type=int, default=1000, help="accounts in the demo org"
    )
    parser.add_argument("--store", type=Path, help="snapshot store to use or build")
    parser.add_argument(
        "--rebuild", action="store_true", help="collect the snapshot again"
    )
    parser.add_argument(
        "--samples", type=int, default=40, help="key presses per screen"
    )
    parser.add_argument("--size", default="160x48", help="terminal size, COLUMNSxROWS")
    args = parser.parse_args(argv)
    columns, rows = (int(part) for part in args.size.split("x"))
    cache = Path(tempfile.gettempdir()) / "orgtop-bench"
    store = args.store or cache / f"tui-{args.accounts}.sqlite3"
    with tempfile.TemporaryDirectory(prefix="orgtop-bench-") as home:
        env = isolated_env(Path(home))
        if args.rebuild or not store.exists():
            build_store(store, args.accounts, env)
        figures = measure(store, (columns, rows), args.samples, env)
    return 0 if report(figures, (columns, rows)) else 1


if __name__ == "__main__":
    sys.exit(main())
