"""The account screen's role keys against a live demo world, under Pilot."""

from __future__ import annotations

import asyncio
import concurrent.futures
import urllib.request
import webbrowser
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, TextArea

from collectors.snapshot import Snapshot
from tests.conftest import SMALL
from tests.tui.conftest import live_app, running, wait_until
from tui.app import OrgtopApp
from tui.backend import Backend
from tui.runtime import Runtime
from tui.screens.account import AccountScreen
from tui.screens.dialogs import MfaScreen
from tui.screens.switch_dialogs import (
    ConfirmSwitchScreen,
    RolePickerScreen,
    SecretTextScreen,
)


class WorldOnlyBackend(Backend):
    """A backend that starts the runtime and its demo world but collects nothing.

    The keys need the runtime and an account on screen, not a refresh; a
    refresh running beside the switches would only compete for the CPU.
    """

    def refresh(
        self, previous: Snapshot | None, **options: Any
    ) -> concurrent.futures.Future[Snapshot]:
        return self.submit(self._start(previous))

    async def _start(self, previous: Snapshot | None) -> Snapshot:
        if self.runtime is None:
            self.runtime = Runtime(self.options, mfa_callback=self.mfa_callback)
        assert previous is not None
        return previous


@pytest.fixture
async def app(
    tmp_path: Path, stored_snapshot: Snapshot
) -> AsyncIterator[tuple[OrgtopApp, Pilot]]:
    """A demo app showing the stored snapshot, with a running demo world."""
    built = live_app(SMALL, tmp_path / "store.sqlite3", snapshot=stored_snapshot)
    built.backend = WorldOnlyBackend(built.options, built.ask_mfa)
    built.backend.start()
    async with running(built) as pilot:
        await wait_until(pilot, lambda: built.started)
        yield built, pilot


async def open_account(app: OrgtopApp, pilot: Pilot, name: str) -> AccountScreen:
    app.run_command(f"account {name}")
    await wait_until(pilot, lambda: shown_account(app) == name)
    assert isinstance(app.screen, AccountScreen)
    return app.screen


def shown_account(app: OrgtopApp) -> str:
    """Return the name of the account on screen once painted, else ``""``."""
    screen = app.screen
    if isinstance(screen, AccountScreen) and screen.account is not None:
        return screen.account.name
    return ""


def server_counts(app: OrgtopApp) -> dict[str, int]:
    assert app.backend is not None and app.backend.runtime is not None
    return app.backend.runtime.world.counts()  # type: ignore[no-any-return]


def role_names(app: OrgtopApp) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


async def pick(pilot: Pilot, app: OrgtopApp, key: str, role: str) -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, RolePickerScreen))
    index = role_names(app).index(role)
    await pilot.press(*["down"] * index, "enter")


async def secret_text(pilot: Pilot, app: OrgtopApp) -> str:
    await wait_until(pilot, lambda: isinstance(app.screen, SecretTextScreen))
    return app.screen.query_one(TextArea).text


async def test_exports_key_shows_and_copies(
    app: tuple[OrgtopApp, Pilot],
) -> None:
    orgtop, pilot = app
    await open_account(orgtop, pilot, "search-dev")

    await pick(pilot, orgtop, "e", "Developer")
    text = await secret_text(pilot, orgtop)

    assert "export ORGTOP_ACCOUNT=search-dev\n" in text
    assert "export ORGTOP_ROLE=Developer\n" in text
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in text
    assert orgtop.clipboard == text


async def test_picker_offers_configured_roles(app: tuple[OrgtopApp, Pilot]) -> None:
    orgtop, pilot = app
    await open_account(orgtop, pilot, "payments-prod")

    await pilot.press("c")
    await wait_until(pilot, lambda: isinstance(orgtop.screen, RolePickerScreen))
    names = role_names(orgtop)
    await pilot.press("escape")

    assert names == ["ReadOnly", "Developer", "Admin"]
    assert isinstance(orgtop.screen, AccountScreen)


async def test_switches_share_one_mfa_session(app: tuple[OrgtopApp, Pilot]) -> None:
    orgtop, pilot = app
    screen = await open_account(orgtop, pilot, "search-staging")

    for role in ("ReadOnly", "Developer", "Admin", "ReadOnly"):
        await pick(pilot, orgtop, "e", role)
        await secret_text(pilot, orgtop)
        await pilot.press("escape")
        await wait_until(pilot, lambda: orgtop.screen is screen)
    counts = server_counts(orgtop)

    assert counts["sts.GetSessionToken"] == 1
    assert counts["sts.AssumeRole"] == 3
    assert not any(isinstance(s, MfaScreen) for s in orgtop.screen_stack)


async def test_prod_writer_asks_then_cancels(app: tuple[OrgtopApp, Pilot]) -> None:
    orgtop, pilot = app
    screen = await open_account(orgtop, pilot, "payments-prod")
    before = server_counts(orgtop).get("sts.AssumeRole", 0)

    await pick(pilot, orgtop, "e", "Admin")
    await wait_until(pilot, lambda: isinstance(orgtop.screen, ConfirmSwitchScreen))
    question = orgtop.screen.question  # type: ignore[attr-defined]
    await pilot.press("n")
    await pilot.pause(0.2)

    assert "payments-prod" in question
    assert "(environment prod)" in question
    assert orgtop.screen is screen
    assert server_counts(orgtop).get("sts.AssumeRole", 0) == before


async def test_prod_writer_confirmed_switches(app: tuple[OrgtopApp, Pilot]) -> None:
    orgtop, pilot = app
    await open_account(orgtop, pilot, "payments-prod")

    await pick(pilot, orgtop, "e", "Developer")
    await wait_until(pilot, lambda: isinstance(orgtop.screen, ConfirmSwitchScreen))
    await pilot.press("y")
    text = await secret_text(pilot, orgtop)

    assert "export ORGTOP_ROLE=Developer\n" in text


@pytest.mark.parametrize(
    ("account", "role"), [("payments-prod", "ReadOnly"), ("payments-dev", "Admin")]
)
async def test_no_confirmation_elsewhere(
    app: tuple[OrgtopApp, Pilot], account: str, role: str
) -> None:
    orgtop, pilot = app
    await open_account(orgtop, pilot, account)

    await pick(pilot, orgtop, "e", role)
    text = await secret_text(pilot, orgtop)

    assert f"export ORGTOP_ROLE={role}\n" in text


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read().decode()


def no_browser() -> webbrowser.BaseBrowser:
    raise webbrowser.Error("no browser")


async def test_console_without_browser_shows_url(
    app: tuple[OrgtopApp, Pilot],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    orgtop, pilot = app
    monkeypatch.setattr(webbrowser, "get", no_browser)
    await open_account(orgtop, pilot, "payments-prod")

    await pick(pilot, orgtop, "c", "ReadOnly")
    url = await secret_text(pilot, orgtop)
    page = await asyncio.to_thread(fetch, url)

    assert "Signed in as arn:aws:iam::" in page
    assert ":role/ReadOnly" in page
    assert orgtop.clipboard == url
    assert url.rsplit("SigninToken=", 1)[1] not in caplog.text


CONSOLE_WARNING = (
    "No browser found. The URL was sent to the terminal's clipboard; it signs "
    "in without a password for 15 minutes, so share it with no one. escape closes."
)
FRAME = " █▀▄▊▎▔▁▂▃▄▅▆▇"
"""Border, padding and scrollbar characters around the text of a dialog."""


def screen_rows(app: OrgtopApp) -> list[str]:
    """Return the rows of the top screen as painted, without their frame."""
    # NOTE: reads Textual's private compositor (textual 8.2), because the
    # public export_screenshot() returns SVG, whose rows would need parsing.
    strips = app.screen._compositor.render_strips()
    return [strip.text.strip(FRAME) for strip in strips]


def shown_words(app: OrgtopApp) -> str:
    """Return the words on screen in reading order, row breaks as spaces."""
    return " ".join(" ".join(screen_rows(app)).split())


async def test_console_warning_fits_80_and_160(
    app: tuple[OrgtopApp, Pilot], monkeypatch: pytest.MonkeyPatch
) -> None:
    orgtop, pilot = app
    monkeypatch.setattr(webbrowser, "get", no_browser)
    await pilot.resize_terminal(80, 24)
    await open_account(orgtop, pilot, "payments-prod")

    await pick(pilot, orgtop, "c", "ReadOnly")
    await secret_text(pilot, orgtop)
    await pilot.pause()
    small = shown_words(orgtop)
    await pilot.resize_terminal(160, 48)
    await pilot.pause()
    large = shown_words(orgtop)

    assert CONSOLE_WARNING in small
    assert CONSOLE_WARNING in large


async def test_exports_keep_each_line_whole(app: tuple[OrgtopApp, Pilot]) -> None:
    orgtop, pilot = app
    await pilot.resize_terminal(80, 24)
    await open_account(orgtop, pilot, "search-dev")

    await pick(pilot, orgtop, "e", "Developer")
    text = await secret_text(pilot, orgtop)
    await pilot.pause()
    area = orgtop.screen.query_one(TextArea)
    rows = screen_rows(orgtop)
    token_rows = [row for row in rows if "AWS_SESSION_TOKEN=" in row]
    secret_rows = [row for row in rows if "AWS_SECRET_ACCESS_KEY=" in row]

    assert area.wrapped_document.height == area.document.line_count
    assert len(token_rows) == 1
    assert token_rows[0].startswith("export AWS_SESSION_TOKEN=")
    assert len(secret_rows) == 1
    assert secret_rows[0].startswith("export AWS_SECRET_ACCESS_KEY=")
    assert "export" not in rows
    assert orgtop.clipboard == text


async def test_picker_spells_power_user(app: tuple[OrgtopApp, Pilot]) -> None:
    orgtop, pilot = app
    await open_account(orgtop, pilot, "payments-dev")

    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(orgtop.screen, RolePickerScreen))
    options = orgtop.screen.query_one(OptionList)
    labels = {
        str(option.id): str(option.prompt)
        for option in (
            options.get_option_at_index(i) for i in range(options.option_count)
        )
    }
    await pilot.press("escape")

    assert labels["Developer"].split()[1] == "power-user"
    assert labels["ReadOnly"].split()[1] == "read-only"


async def test_shell_key_without_terminal_notifies(
    app: tuple[OrgtopApp, Pilot],
) -> None:
    orgtop, pilot = app
    await open_account(orgtop, pilot, "search-dev")

    await pick(pilot, orgtop, "s", "ReadOnly")
    await wait_until(
        pilot,
        lambda: any(
            "Cannot start a shell" in (n.title or "") for n in orgtop._notifications
        ),
    )

    assert isinstance(orgtop.screen, AccountScreen)


async def test_offline_app_cannot_switch(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        offline_app.run_command("account payments-dev")
        await wait_until(pilot, lambda: shown_account(offline_app) == "payments-dev")
        await pilot.press("e")
        await pilot.pause()
        titles = [n.title for n in offline_app._notifications]

        assert isinstance(offline_app.screen, AccountScreen)
        assert "Cannot switch" in titles
