"""Take the README's screenshots from the demo organization.

Collects the default demo scenario once into a temporary store and opens
the dashboard on that snapshot at a fixed size and clock. It writes an SVG
and a PNG (through ``rsvg-convert``) of the overview, a team screen and an
account screen next to this file. Run from the repository root::

    python -m screenshots.capture
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from collectors.config import load_config
from collectors.store import Store
from tui.app import OrgtopApp
from tui.runtime import Options

HERE = Path(__file__).resolve().parent
SIZE = (130, 34)
TO_PAYMENTS_PROD = ["down"] * 6 + ["right"] * 3
SHOTS = {
    "overview": [],
    "team": [*TO_PAYMENTS_PROD, "enter"],
    "account": [*TO_PAYMENTS_PROD, "enter", "enter"],
}
"""Keys from the overview to each screen: the payments team, payments-prod."""


def collect(store: Path, env: dict[str, str]) -> None:
    """Run ``orgtop collect --demo`` into ``store``."""
    command = [
        sys.executable,
        "-m",
        "tui.cli",
        "collect",
        "--demo",
        "--store",
        str(store),
    ]
    subprocess.run(command, env=env, check=False, capture_output=True)


async def shoot(store: Path, name: str, keys: list[str]) -> Path:
    """Open the app on the stored snapshot, press ``keys``, save an SVG."""
    opened = Store(store)
    snapshot = opened.latest()
    opened.close()
    assert snapshot is not None, f"no snapshot in {store}"
    now = snapshot.generated_at + timedelta(minutes=2)
    app = OrgtopApp(
        Options(offline=True, store=store),
        config=load_config(None),
        snapshot=snapshot,
        clock=lambda: now,
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause(0.5)
        return Path(app.save_screenshot(f"{name}.svg", str(HERE)))


def to_png(svg: Path) -> Path:
    """Convert an SVG screenshot to PNG with rsvg-convert.

    Rich writes spaces as non-breaking spaces, which rsvg renders narrower
    than a cell, so text after a run of them drifts left. The copy given to
    rsvg therefore uses plain spaces and preserves them.
    """
    text = svg.read_text().replace("&#160;", " ")
    text = re.sub(r"<svg ", '<svg xml:space="preserve" ', text, count=1)
    png = svg.with_suffix(".png")
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as fixed:
        fixed.write(text)
    try:
        subprocess.run(["rsvg-convert", fixed.name, "-o", str(png)], check=True)
    finally:
        os.unlink(fixed.name)
    return png


def main() -> int:
    """Collect the demo once and write every screenshot."""
    if shutil.which("rsvg-convert") is None:
        sys.stderr.write("rsvg-convert is missing (Debian package librsvg2-bin)\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="orgtop-shots-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))}
        env["XDG_CONFIG_HOME"] = str(Path(home) / "config")
        env["ORGTOP_LOG_FILE"] = str(Path(home) / "orgtop.log")
        os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]
        store = Path(home) / "demo.sqlite3"
        collect(store, env)
        for name, keys in SHOTS.items():
            svg = asyncio.run(shoot(store, name, keys))
            sys.stdout.write(f"wrote {svg.name} and {to_png(svg).name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
