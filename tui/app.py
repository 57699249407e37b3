"""The orgtop dashboard: a Textual app over the latest snapshot.

On start the app paints the newest stored snapshot, then refreshes on a
:class:`~tui.backend.Backend` thread, never on Textual's event loop. A
refresh runs in an exclusive worker that only awaits the backend's future
and posts :class:`~tui.messages.SnapshotCollected`; the app drops results
whose generation is not the latest it started. Worker failures of every
kind end in :meth:`RefreshingApp.on_worker_state_changed`, which turns them
into notifications, so no traceback reaches the screen.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.worker import Worker

from collectors.config import Config
from collectors.model import utcnow
from collectors.snapshot import Snapshot
from collectors.store import StoreError
from tui import logs
from tui.backend import Backend
from tui.commands import APP_COMMANDS, CommandSuggester, OrgtopCommands
from tui.messages import (
    MfaRequested,
)
from tui.refreshing import RefreshingApp, freeze_heap
from tui.runtime import Options, Runtime
from tui.screens.base import RefreshScope
from tui.screens.dialogs import KeysScreen, MfaScreen, TooSmallScreen
from tui.screens.overview import OverviewScreen
from tui.views import find_view, views

log = logging.getLogger(__name__)

MIN_WIDTH = 60
MIN_HEIGHT = 15
"""Below this size the layout cannot show a useful matrix; a notice replaces it."""

PROGRESS_POLL_SECONDS = 0.25


class OrgtopApp(RefreshingApp):
    """Team by environment overview with drill-down, refresh and commands."""

    CSS_PATH = "app.tcss"
    TITLE = "orgtop"
    COMMANDS = App.COMMANDS | {OrgtopCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh_now", "Refresh"),
        # Out of the footer, which has no room left at 80 columns on an
        # account screen; the keys screen lists it.
        Binding(
            "R",
            "refresh_all",
            "Refresh every account, reading cached cost and quotas again",
            show=False,
        ),
        Binding("question_mark", "show_keys", "Keys", key_display="?"),
    ]

    def __init__(
        self,
        options: Options,
        *,
        config: Config,
        snapshot: Snapshot | None = None,
        store_path: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
        backend: Backend | None = None,
    ) -> None:
        """Build the app around a loaded config and the stored snapshot, if any.

        Args:
            options: The command line's options.
            config: The loaded config (refresh interval, production envs).
            snapshot: The newest stored snapshot, painted at once.
            store_path: Where snapshots are stored, shown when none is.
            clock: Source of "now" for data ages; tests freeze it.
            backend: Runs refreshes; created on mount unless offline.
        """
        super().__init__()
        self.options = options
        self.config = config
        self.snapshot = snapshot
        self.store_path = store_path
        self.clock = clock
        self.backend = backend
        self.offline = options.offline
        self.demo = bool(options.demo or options.demo_scenario or options.demo_accounts)
        self.suggester = CommandSuggester(self)
        self.refreshing = False
        self.refresh_worker: Worker[None] | None = None
        self.refresh_scope: RefreshScope | None = None
        """The accounts the running refresh covers; None for the organization."""
        self.generation = 0
        self.paused_reason = ""
        """Why auto-refresh waits for ``r`` (a cancelled MFA prompt), or empty."""
        self.refresh_failed = False
        """Whether the latest refresh failed as a whole (shown in the header)."""
        self.store_problem = ""
        """The store error that kept the latest snapshot out of the store, or empty."""
        self.started = False
        """Whether a refresh has finished since the app started."""
        self._reported_errors: set[tuple[str, str]] = set()

    def get_default_screen(self) -> Screen[object]:
        """Open on the overview."""
        return OverviewScreen()

    def on_mount(self) -> None:
        """Paint the stored snapshot, then start the first refresh."""
        self.header_state = self._header_for(self.snapshot)
        self.check_size()
        if self.offline:
            return
        if self.backend is None:
            self.backend = Backend(self.options, self.ask_mfa)
            self.backend.start()
        self.set_interval(PROGRESS_POLL_SECONDS, self._poll_progress)
        if self.config.refresh_interval > 0:
            self.set_interval(self.config.refresh_interval, self._auto_refresh)
        self.start_refresh()

    # MFA ---------------------------------------------------------------

    async def ask_mfa(self, serial: str) -> str | None:
        """Ask for an MFA code on the UI thread; called on the backend's loop."""
        answer: concurrent.futures.Future[str | None] = concurrent.futures.Future()
        self.post_message(MfaRequested(serial, answer))
        return await asyncio.wrap_future(answer)

    def on_mfa_requested(self, message: MfaRequested) -> None:
        """Show the MFA dialog and hand its result back to the backend."""

        def resolve(code: str | None) -> None:
            if code is None:
                # Auto-refresh would ask again every interval; wait for r.
                self.paused_reason = "MFA cancelled"
            if not message.answer.done():
                message.answer.set_result(code)

        if isinstance(self.screen, TooSmallScreen):
            self.pop_screen()
        self.push_screen(MfaScreen(message.serial, demo=self.demo), resolve)

    # Commands ----------------------------------------------------------

    def run_command(self, text: str) -> None:
        """Run a ``:`` command line such as ``team payments`` or ``errors``."""
        name, _, argument = text.strip().lstrip(":").partition(" ")
        name, argument = name.lower(), argument.strip()
        if not name:
            return
        if name in ("q", "quit"):
            self.exit(0)
            return
        if name in ("help", "?"):
            self.action_show_keys()
            return
        if name == "refresh":
            self.action_refresh_now()
            return
        view = find_view(name)
        if view is None:
            known = ", ".join([*APP_COMMANDS, *(v.name for v in views())])
            self.notify(
                f"Unknown command :{name}. Known commands: {known}.", severity="error"
            )
            return
        problem = view.screen.check_argument(self.snapshot, argument)
        if problem:
            self.notify(problem, severity="error")
            return
        self.push_screen(view.screen(argument))

    def action_show_keys(self) -> None:
        """Show the keys of the current screen and the ``:`` commands."""
        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.screen))

    # Size --------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        """Swap in the "terminal too small" notice, or take it away."""
        # App.size is still the old size while this event is handled.
        self.check_size(event.size.width, event.size.height)

    def check_size(self, width: int | None = None, height: int | None = None) -> None:
        """Show the size notice below the minimum size and hide it above."""
        if width is None or height is None:
            width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen(MIN_WIDTH, MIN_HEIGHT))
        elif not small and showing:
            self.pop_screen()

    def _fatal_error(self) -> None:
        # NOTE: overrides a private Textual hook (textual 8.2) so a bug shows
        # one line and a log path instead of a traceback on the terminal.
        log.critical("unhandled error in the UI", exc_info=self._exception)
        self.panic(
            f"orgtop: internal error: {self._exception!r}; the traceback is in "
            f"{logs.log_path()}"
        )

    def close_backend(self) -> None:
        """Stop the background runtime (clients, store, demo world)."""
        if self.backend is not None:
            self.backend.close()
            self.backend = None


def run_app(options: Options) -> int:
    """Run the dashboard and return the exit status.

    The config and the stored snapshot are read before the screen opens, so
    a config error exits with its message and the first frame has data.
    """
    probe = Runtime(replace(options, offline=True))
    probe.read_only_store = options.offline
    try:
        snapshot = probe.latest()
        warnings = probe.warnings()
    finally:
        if probe.store is not None:
            probe.store.close()
    freeze_heap()
    if options.offline and snapshot is None:
        raise StoreError(
            f"no snapshot in {probe.store_path}; run `orgtop collect` first"
        )
    app = OrgtopApp(
        options, config=probe.config, snapshot=snapshot, store_path=probe.store_path
    )
    for warning in warnings:
        app.notify(warning, severity="warning", timeout=10)
    try:
        app.run()
    finally:
        app.close_backend()
    return app.return_code or 0
