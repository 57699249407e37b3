"""No issued secret or sign-in URL leaks after the TUI refreshed and switched roles.

One app against a live demo world refreshes, builds a console sign-in URL
and shows role exports. The person requested those secrets, so the two
dialogs that show them are not scanned. After they close, the DEBUG log,
every table of the store, the ``collect --json --offline`` output of that
store and screenshots of the account screen and the dashboard must contain
none of them.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import shlex
import sqlite3
import webbrowser
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from textual.pilot import Pilot

from collectors.demo.server import DemoWorld
from collectors.refresh import Refresher
from collectors.snapshot import Snapshot
from tests.conftest import SMALL
from tests.tui.conftest import live_app, wait_until
from tests.tui.switch_support import ACCESS_GRANTS
from tests.tui.test_switch_keys import open_account, pick, secret_text
from tui.app import OrgtopApp
from tui.cli import main
from tui.screens.account import AccountScreen
from tui.screens.overview import OverviewScreen
from tui.screens.switch_dialogs import SecretTextScreen

FRAGMENT_LENGTH = 16
"""Length of the pieces of a secret that count as a leak wherever they appear.

The screen wraps a long value and cuts it at a column's edge, and a URL
encodes ``+``, ``/`` and ``=``, so a leaked secret is often not present
whole. Sixteen random base64 characters (96 bits) do not occur by chance.
"""
SVG_TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.DOTALL)


@asynccontextmanager
async def running_with_toasts(app: OrgtopApp) -> AsyncIterator[Pilot]:
    """Run ``app`` as ``tests.tui.conftest.running`` does, with notifications shown.

    ``App.run_test`` leaves notifications off the screen unless asked, and a
    notification is a place where a secret could leak.
    """
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            yield pilot
    finally:
        app.close_backend()


def fragments(secret: str) -> set[str]:
    """Return every substring of :data:`FRAGMENT_LENGTH` characters of ``secret``."""
    if len(secret) <= FRAGMENT_LENGTH:
        return {secret}
    last = len(secret) - FRAGMENT_LENGTH
    return {secret[i : i + FRAGMENT_LENGTH] for i in range(last + 1)}


def find_leaks(secrets: list[str], urls: list[str], **places: str) -> list[str]:
    """List each secret with a fragment in a place, and each URL found whole.

    A fragment that two secrets share is a fixed part of their format (moto
    5.2 starts every session token with the same 17 characters), so it is not
    searched for. A URL is matched whole because its scheme, host and path
    are not secret. Each finding names one fragment, to search the place for.
    """
    unique = list(dict.fromkeys(secrets))
    counts = Counter(piece for secret in unique for piece in fragments(secret))
    found = []
    for place, text in places.items():
        for secret in unique:
            pieces = sorted(p for p in fragments(secret) if counts[p] == 1)
            matched = [piece for piece in pieces if piece in text]
            if matched:
                found.append(f"{matched[0]!r} of a secret in {place}")
        found.extend(f"sign-in URL in {place}" for url in urls if url in text)
    return found


def screen_text(svg: str) -> str:
    """Return the characters a screenshot shows, its ``<text>`` runs in order."""
    runs = [html.unescape(run) for run in SVG_TEXT.findall(svg)]
    return "".join(runs).replace("\xa0", " ")


def store_text(path: Path) -> str:
    """Return every value of every table in a store, zlib bodies decompressed."""
    db = sqlite3.connect(path)
    try:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = [row[0] for row in db.execute(query)]
        values = [
            column_text(value)
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')
            for value in row
        ]
    finally:
        db.close()
    assert "snapshots" in tables
    return "\n".join(values)


def column_text(value: object) -> str:
    if not isinstance(value, bytes):
        return str(value)
    try:
        return zlib.decompress(value).decode()
    except zlib.error:
        return value.decode(errors="replace")


def export_value(exports: str, name: str) -> str:
    """Return the value that an ``export NAME=...`` line in ``exports`` sets."""
    for line in exports.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            variable, _, value = words[1].partition("=")
            if variable == name:
                return value
    raise AssertionError(f"no export of {name} in the exports dialog")


def no_browser() -> webbrowser.BaseBrowser:
    raise webbrowser.Error("no browser")


async def close_dialog(pilot: Pilot, app: OrgtopApp) -> None:
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, AccountScreen))


def secret_dialogs(app: OrgtopApp) -> list[SecretTextScreen]:
    return [s for s in app.screen_stack if isinstance(s, SecretTextScreen)]


async def test_switch_flow_leaks_nothing(
    tmp_path: Path,
    debug_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(webbrowser, "get", no_browser)
    # The access grants offer jdoe ReadOnly in payments-prod and Developer
    # in payments-dev, and neither role requires a confirmation.
    scenario = tmp_path / "small-access.toml"
    scenario.write_text(SMALL.read_text() + ACCESS_GRANTS)
    store = tmp_path / "store.sqlite3"
    app = live_app(scenario, store)

    async with running_with_toasts(app) as pilot:
        await wait_until(pilot, lambda: app.started)
        assert app.backend is not None and app.backend.runtime is not None
        world = app.backend.runtime.world

        await open_account(app, pilot, "payments-prod")
        await pick(pilot, app, "c", "ReadOnly")
        url = await secret_text(pilot, app)
        await close_dialog(pilot, app)
        await pilot.press("escape")

        await open_account(app, pilot, "payments-dev")
        await pick(pilot, app, "e", "Developer")
        exports = await secret_text(pilot, app)
        dialog_shot = app.export_screenshot()
        await close_dialog(pilot, app)
        account_shot = app.export_screenshot()
        account_dialogs = secret_dialogs(app)

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen))
        dashboard_shot = app.export_screenshot()
        dashboard_dialogs = secret_dialogs(app)

        issued = world.issued_secrets()
        signin_tokens = list(world.extra["federation"].tokens)

    # A second demo world would issue secrets of its own, so the command
    # prints the snapshot that the app's refresh stored. main() runs its own
    # event loop, which cannot run inside the test's loop.
    collect = ["collect", "--json", "--offline", "--store", str(store)]
    assert await asyncio.to_thread(main, collect) == 0
    collect_json = capsys.readouterr().out
    log_text = debug_log.read_text()
    snapshot = Snapshot.from_document(json.loads(collect_json))
    session_token = export_value(exports, "AWS_SESSION_TOKEN")
    signin_query = parse_qs(urlsplit(url).query)
    assert "SigninToken" in signin_query
    signin_token = signin_query["SigninToken"][0]
    secrets = [*issued, *signin_tokens, signin_token, session_token]
    payments_dev = world.scenario.account("payments-dev")
    assert payments_dev is not None

    assert len(issued) > 10
    assert session_token in issued
    assert signin_token in signin_tokens
    assert "refresh 1 finished" in log_text
    assert len(snapshot.accounts) == 12
    assert find_leaks([session_token], [], dialog=screen_text(dialog_shot)) != []
    assert f"payments-dev ({payments_dev.id})" in screen_text(account_shot)
    assert "12 accounts" in screen_text(dashboard_shot)
    assert account_dialogs == []
    assert dashboard_dialogs == []

    leaks = find_leaks(
        secrets,
        [url],
        log=log_text,
        store=store_text(store),
        collect_json=collect_json,
        account_screen=screen_text(account_shot),
        dashboard=screen_text(dashboard_shot),
    )
    assert leaks == []


async def test_planted_screen_leak_caught(
    world: DemoWorld, refresher: Refresher, offline_app: OrgtopApp
) -> None:
    account = world.scenario.account("payments-dev")
    assert account is not None
    role_arn = f"arn:aws:iam::{account.id}:role/{world.scenario.collector_role}"
    credentials, _ = await refresher.roles.credentials(role_arn)
    session_token = credentials.session_token
    assert session_token is not None

    async with running_with_toasts(offline_app) as pilot:
        offline_app.notify(session_token, title="Planted")
        await wait_until(pilot, lambda: bool(offline_app.screen.query("Toast")))
        await pilot.pause()
        screen = screen_text(offline_app.export_screenshot())

    # The notification wraps the token, so only its fragments are on screen.
    assert session_token not in screen
    found = find_leaks(world.issued_secrets(), [], dashboard=screen)
    assert len(found) == 1
    assert found[0].endswith(" of a secret in dashboard")
