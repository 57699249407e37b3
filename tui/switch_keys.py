"""The account screen's role keys: ``s`` shell, ``c`` console, ``e`` exports.

Each key opens a role picker with the roles offered in the account and
requests a confirmation before a role that may write in production. It then
assumes the role on the backend's loop through the runtime's own source
identity, so the MFA code is requested at most once per source session. ``s`` suspends
the app and runs ``$SHELL`` with the role's environment, ``c`` opens the
console in a browser or shows its sign-in URL, and ``e`` shows export lines
and sends them to the terminal's clipboard.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import weakref
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import SuspendNotSupported
from textual.binding import Binding

from collectors.config import Config
from collectors.errors import CredentialError
from collectors.model import Account
from collectors.switch.roles import (
    OfferedRole,
    SwitchError,
    offered_roles,
    production_question,
)
from collectors.switch.session import RoleSwitch
from tui.runtime import Runtime
from tui.screens.switch_dialogs import (
    ConfirmSwitchScreen,
    RolePickerScreen,
    SecretTextScreen,
)
from tui.switch_cli import open_in_browser
from tui.switch_service import SwitchService, granted_roles

if TYPE_CHECKING:
    from tui.app import OrgtopApp

log = logging.getLogger(__name__)

SWITCH_BINDINGS = [
    Binding("s", "switch_role('shell')", "Shell as role"),
    Binding("c", "switch_role('console')", "Console"),
    Binding("e", "switch_role('exports')", "Exports"),
]
HANGUP_STATUS = 128 + signal.SIGHUP
"""Exit status after the terminal hung up, as a shell reports a SIGHUP death."""
SWITCH_FAILURES = (SwitchError, CredentialError)
"""Failures whose message is written for the person and shown as it is."""

_services: weakref.WeakKeyDictionary[Runtime, SwitchService] = (
    weakref.WeakKeyDictionary()
)


def service_for(runtime: Runtime) -> SwitchService:
    """Return the switch service of a runtime, created on first use.

    The TUI requests the MFA code in its own dialog once per source session,
    so the keyring cache (meant for separate command runs) is not used here.
    """
    service = _services.get(runtime)
    if service is None:
        service = SwitchService(runtime, use_keyring=False)
        _services[runtime] = service
    return service


async def _assume(runtime: Runtime, account: Account, role: OfferedRole) -> RoleSwitch:
    return await service_for(runtime).switch(account, role)


async def _console_url(runtime: Runtime, switched: RoleSwitch) -> str:
    return await service_for(runtime).console_url(switched)


class TerminalHungUp(Exception):
    """The terminal went away while the role's shell ran (its window closed)."""


def terminal_hung_up() -> bool:
    """Return whether standard input's terminal was hung up (EIO on its ioctls).

    Call it only for a standard input that was a terminal before, because a
    hung-up terminal no longer reports itself as one.
    """
    stream = sys.__stdin__
    if stream is None:
        return False
    try:
        os.tcgetpgrp(stream.fileno())
    except OSError:
        return True
    return False


class RoleSwitchKeys:
    """Actions behind :data:`SWITCH_BINDINGS` for a screen showing ``account``.

    Mix into a :class:`~textual.screen.Screen` that sets ``account`` and
    add :data:`SWITCH_BINDINGS` to its ``BINDINGS``.
    """

    account: Account | None
    app: Any

    @property
    def _orgtop(self) -> OrgtopApp:
        return self.app  # type: ignore[no-any-return]

    def action_switch_role(self, action: str) -> None:
        """Pick a role in the shown account, then run ``action`` as that role."""
        app = self._orgtop
        account = self.account
        if account is None:
            return
        if app.offline or app.backend is None or app.backend.runtime is None:
            app.notify(
                "No credentials yet: switching needs a running refresh, not --offline.",
                title="Cannot switch",
                severity="warning",
            )
            return

        # The runtime's config, unlike the app's, is pointed at the demo world.
        config = app.backend.runtime.config
        granted = granted_roles(app.snapshot, account, config.switch.roles)
        roles = offered_roles(config, account, granted)
        if not roles:
            reason = (
                f"The access map grants you no role in {account.name}."
                if granted is not None
                else f"No role is known for {account.name}; add [[switch.role]] "
                "entries to the config or collect the access map."
            )
            app.notify(reason, title="Cannot switch", severity="warning")
            return

        production = config.is_production(account.env)
        picker = RolePickerScreen(account, roles, action, production)
        app.push_screen(
            picker, lambda role: self._role_picked(action, account, role, config)
        )

    def _role_picked(
        self, action: str, account: Account, role: OfferedRole | None, config: Config
    ) -> None:
        if role is None:
            return
        question = production_question(config, account, role)
        if question is None:
            self._switch(action, account, role)
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._switch(action, account, role)

        self._orgtop.push_screen(ConfirmSwitchScreen(question), answered)

    @work(group="switch", exclusive=True, exit_on_error=False)
    async def _switch(self, action: str, account: Account, role: OfferedRole) -> None:
        app = self._orgtop
        backend = app.backend
        assert backend is not None and backend.runtime is not None
        runtime = backend.runtime
        try:
            switched = await asyncio.wrap_future(
                backend.submit(_assume(runtime, account, role))
            )
            for notice in switched.notices:
                app.notify(notice, title="Session length", timeout=8)
            if action == "shell":
                self._run_shell(switched)
            elif action == "console":
                url = await asyncio.wrap_future(
                    backend.submit(_console_url(runtime, switched))
                )
                await self._open_console(switched, url)
            else:
                self._show_exports(switched)
        except SWITCH_FAILURES as error:
            log.warning("switch into %s as %s failed: %s", account.id, role.name, error)
            app.notify(str(error), title="Switch failed", severity="error", timeout=10)

    def _run_shell(self, switched: RoleSwitch) -> None:
        app = self._orgtop
        shell = os.environ.get("SHELL") or "/bin/sh"
        environment = switched.child_environment(os.environ)
        banner = (
            f"orgtop: {shell} as {switched.role.name} in {switched.account.name} "
            f"({switched.account.id}, {switched.account.env}) until "
            f"{switched.expires_at}; exit to return to orgtop\n"
        )
        # A Python handler (unlike SIG_IGN) is reset to the default in the
        # child, so Ctrl-C reaches the shell and leaves orgtop running.
        on_terminal = sys.__stdin__ is not None and sys.__stdin__.isatty()
        previous = signal.signal(signal.SIGINT, lambda *_: None)
        failure: OSError | None = None
        try:
            with app.suspend():
                os.write(2, banner.encode())
                try:
                    status = subprocess.call([shell], env=environment)
                except OSError as error:
                    # Leave the block normally: an exception escaping
                    # suspend() left the screen blank and the keys unread.
                    failure, status = error, -1
                if on_terminal and terminal_hung_up():
                    # Resuming would leave orgtop reading a dead terminal
                    # forever, so leave the suspend block without resuming.
                    raise TerminalHungUp
        except TerminalHungUp:
            log.warning("the terminal hung up while the shell ran; exiting")
            app.exit(return_code=HANGUP_STATUS)
            return
        except SuspendNotSupported:
            app.notify(
                "This terminal cannot hand over to a shell; run `orgtop switch "
                f"{switched.account.name} --role {switched.role.name}` instead.",
                title="Cannot start a shell",
                severity="warning",
            )
            return
        finally:
            signal.signal(signal.SIGINT, previous)
        if failure is not None:
            log.warning("cannot start the shell %s: %s", shell, failure)
            app.notify(
                f"Cannot start {shell}: {failure.strerror}; set SHELL to a shell "
                "that exists.",
                title="Cannot start a shell",
                severity="error",
            )
            return
        app.notify(
            f"Left the {switched.account.name} shell (exit status {status}).", timeout=5
        )

    async def _open_console(self, switched: RoleSwitch, url: str) -> None:
        app = self._orgtop
        target = f"{switched.role.name} in {switched.account.name}"
        if await asyncio.to_thread(open_in_browser, url):
            app.notify(f"Opened the AWS console as {target} in the browser.")
            return
        app.copy_to_clipboard(url)
        app.push_screen(
            SecretTextScreen(
                f"Console sign-in URL: {target}",
                url,
                "No browser found. The URL was sent to the terminal's clipboard; "
                "it signs in without a password for 15 minutes, so share it with "
                "no one. escape closes.",
            )
        )

    def _show_exports(self, switched: RoleSwitch) -> None:
        app = self._orgtop
        text = switched.export_lines()
        app.copy_to_clipboard(text)
        app.push_screen(
            SecretTextScreen(
                f"Exports: {switched.role.name} in {switched.account.name} "
                f"until {switched.expires_at}",
                text,
                "Sent to the terminal's clipboard; paste into a shell. Long lines "
                "scroll sideways (arrows, end). escape closes.",
                soft_wrap=False,
            )
        )
