"""The orgtop dashboard: a Textual app over the latest snapshot.

On start the app paints the newest stored snapshot, then refreshes on a
:class:`~tui.backend.Backend` thread, never on Textual's event loop. A
refresh runs in an exclusive worker that only awaits the backend's future
and posts :class:`~tui.messages.SnapshotCollected`; the app drops results
whose generation is not the latest it started. Worker failures of every
kind end in :meth:`OrgtopApp.on_worker_state_changed`, which turns them
into notifications, so no traceback reaches the screen.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from collectors.config import Config
from collectors.errors import ConfigError, CredentialError, RefreshError
from collectors.model import utcnow
from collectors.snapshot import Snapshot
from collectors.store import StoreError
from tui import logs
from tui.backend import Backend
from tui.commands import APP_COMMANDS, CommandSuggester, OrgtopCommands
from tui.messages import InventoryCollected, MfaRequested, SnapshotCollected
from tui.runtime import Options, Runtime, SnapshotNotSaved
from tui.screens.base import DataScreen, RefreshScope
from tui.screens.dialogs import KeysScreen, MfaScreen, TooSmallScreen
from tui.screens.overview import OverviewScreen
from tui.text import plural
from tui.views import find_view, views
from tui.widgets.header import HeaderState

log = logging.getLogger(__name__)

MIN_WIDTH = 60
MIN_HEIGHT = 15
"""Below this size the layout cannot show a useful matrix; a notice replaces it."""

PROGRESS_POLL_SECONDS = 0.25
FAILURE_MESSAGES = (CredentialError, RefreshError, StoreError, ConfigError)
"""Exceptions whose message is written for the user and shown as it is."""


class OrgtopApp(App[int]):
    """Team by environment overview with drill-down, refresh and commands."""

    CSS_PATH = "app.tcss"
    TITLE = "orgtop"
    COMMANDS = App.COMMANDS | {OrgtopCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh_now", "Refresh"),
        Binding("R", "refresh_all", "Refresh all", show=False),
        Binding("question_mark", "show_keys", "Keys", key_display="?"),
    ]

    header_state: reactive[HeaderState] = reactive(HeaderState, init=False)

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

    def _header_for(self, snapshot: Snapshot | None, **changes: object) -> HeaderState:
        mode = ""
        if self.offline:
            mode = "offline"
        elif self.demo:
            mode = "demo"
        note = self.paused_reason or ("refresh failed" if self.refresh_failed else "")
        if not note and self.store_problem:
            note = "not saved"
        scope = self.refresh_scope.label if self.refresh_scope else ""
        state = HeaderState(mode=mode, note=note, scope=scope)
        if snapshot is not None:
            state = replace(
                state,
                organization=snapshot.organization_id,
                source=snapshot.source,
                generated_at=snapshot.generated_at,
            )
        return replace(state, **changes)  # type: ignore[arg-type]

    # Refresh -----------------------------------------------------------

    def action_refresh_now(self, force: bool = False) -> None:
        """Refresh what the screen shows (a team, an account or everything) now."""
        scope = None
        if isinstance(self.screen, DataScreen) and self.snapshot is not None:
            scope = self.screen.refresh_scope()
        self._refresh_on_request(force, scope)

    def action_refresh_all(self) -> None:
        """Refresh every account and read again what is cached for hours."""
        self._refresh_on_request(True, None)

    def _refresh_on_request(self, force: bool, scope: RefreshScope | None) -> None:
        if self.offline:
            self.notify(
                "Offline: showing the stored snapshot. "
                "Run without --offline to refresh.",
                severity="warning",
            )
            return
        if self.refreshing:
            self.notify("A refresh is already running.", timeout=3)
            return
        self.paused_reason = ""
        self.start_refresh(force=force, scope=scope)

    def _auto_refresh(self) -> None:
        if not self.refreshing and not self.paused_reason:
            self.start_refresh()

    def start_refresh(
        self, *, force: bool = False, scope: RefreshScope | None = None
    ) -> bool:
        """Start a refresh in the background; False when one is running."""
        if self.refreshing or self.backend is None:
            return False
        self.refreshing = True
        self.refresh_scope = scope
        self.generation += 1
        self.header_state = self._header_for(self.snapshot, refreshing=True)
        accounts = scope.account_ids if scope else frozenset()
        self.refresh_worker = self._refresh(self.generation, force, accounts)
        return True

    def screen_shown(self, screen: DataScreen) -> None:
        """Abandon a refresh of a team or account when its screens are left.

        Its results would land on a screen that no longer shows them, and
        while it runs no refresh of the new screen could start. A screen of
        some of the same accounts, such as one account of the team, keeps it.
        """
        running = self.refresh_scope
        if not self.refreshing or running is None:
            return
        shown = screen.refresh_scope()
        if shown is not None and shown.account_ids <= running.account_ids:
            return
        log.info("abandoning the refresh of %s", running.label)
        self.cancel_refresh()
        self.notify(f"Refresh of {running.label} abandoned.", timeout=3)

    def cancel_refresh(self) -> None:
        """Abandon the running refresh; its results, if any arrive, are dropped."""
        self.generation += 1
        if self.refresh_worker is not None:
            # A worker cancelled before its task first ran never reports a
            # state change, so the flag is cleared here.
            self.refresh_worker.cancel()
            self.refresh_worker = None
        self.refreshing = False
        self.refresh_scope = None
        self.header_state = self._header_for(self.snapshot)

    @work(exclusive=True, group="refresh", exit_on_error=False)
    async def _refresh(
        self, generation: int, force: bool, accounts: frozenset[str]
    ) -> None:
        assert self.backend is not None

        def inventory_collected(snapshot: Snapshot) -> None:
            self.post_message(InventoryCollected(snapshot, generation))

        future = self.backend.refresh(
            self.snapshot,
            force=force,
            on_inventory=inventory_collected,
            accounts=accounts,
        )
        not_saved = ""
        try:
            snapshot = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except SnapshotNotSaved as error:
            snapshot, not_saved = error.snapshot, str(error)
        self.post_message(SnapshotCollected(snapshot, generation, not_saved))

    def _poll_progress(self) -> None:
        if not self.refreshing or self.backend is None:
            return
        done, total = self.backend.progress
        state = self.header_state
        if (state.done, state.total) != (done, total):
            self.header_state = replace(state, done=done, total=total)

    def on_inventory_collected(self, message: InventoryCollected) -> None:
        """Show the accounts early when there is nothing to show yet."""
        if message.generation == self.generation and self.snapshot is None:
            self.apply_snapshot(message.snapshot)

    def on_snapshot_collected(self, message: SnapshotCollected) -> None:
        """Show a finished refresh's snapshot unless a newer refresh replaced it."""
        if message.generation != self.generation:
            log.info("dropping the result of abandoned refresh %d", message.generation)
            return
        self.started = True
        self.refresh_failed = False
        self._report_store_problem(message.not_saved)
        self.apply_snapshot(message.snapshot)
        self._report_errors(message.snapshot)

    def _report_store_problem(self, problem: str) -> None:
        # Auto-refresh would repeat the same notice every interval; the
        # header's "not saved" stays while the problem lasts.
        if problem and problem != self.store_problem:
            self.notify(
                f"{problem}. The new data is shown but not saved.",
                title="Snapshot not saved",
                severity="error",
                timeout=15,
            )
        elif self.store_problem and not problem:
            self.notify("The store is writable again; snapshots are saved.", timeout=5)
        self.store_problem = problem

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Make ``snapshot`` current and repaint the screen on top."""
        self.snapshot = snapshot
        freeze_heap()
        self.header_state = self._header_for(snapshot, refreshing=self.refreshing)
        if isinstance(self.screen, DataScreen):
            self.screen.paint()

    def _report_errors(self, snapshot: Snapshot) -> None:
        failing = {(error.account_id, error.collector) for error in snapshot.errors}
        if not failing or failing == self._reported_errors:
            return
        self._reported_errors = failing
        accounts = len({account_id for account_id, _ in failing})
        self.notify(
            f"{plural(len(snapshot.errors), 'collection error')} in "
            f"{plural(accounts, 'account')}; type :errors to list them.",
            title="Refresh finished with errors",
            severity="warning",
            timeout=8,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Turn the end of any worker into state, and its failure into a notice."""
        worker = event.worker
        finished = event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        )
        is_refresh = worker is self.refresh_worker
        if finished and is_refresh:
            self.refresh_worker = None
            self.refreshing = False
            self.refresh_scope = None
            self.header_state = self._header_for(self.snapshot)
        if event.state is WorkerState.ERROR and worker.error is not None:
            if is_refresh:
                self.report_refresh_failure(worker.error)
            else:
                self.report_failure(worker.error, f"{worker.name or 'A task'} failed")

    def report_refresh_failure(self, error: BaseException) -> None:
        """Explain a refresh that failed as a whole; the last snapshot stays."""
        if isinstance(error, ConfigError) and not self.started:
            log.error("refresh failed: %s", error)
            self.exit(return_code=2, message=f"orgtop: error: {error}")
            return
        if isinstance(error, CredentialError) and self.paused_reason:
            log.info("refresh stopped: %s", error)
            self.header_state = self._header_for(self.snapshot)
            self.notify(
                "No MFA code given: showing the last snapshot. Press r to try again.",
                title="Refresh stopped",
                severity="warning",
                timeout=8,
            )
            return
        self.refresh_failed = True
        self.header_state = self._header_for(self.snapshot)
        if self.snapshot is None and isinstance(self.screen, OverviewScreen):
            self.screen.set_title(
                "No data: the refresh failed. Fix the cause in the notification, "
                "then press r."
            )
        self.report_failure(error, "Refresh failed")

    def report_failure(self, error: BaseException, title: str) -> None:
        """Show a failure as a notification and log it with its traceback."""
        log.error("%s: %s", title, error, exc_info=error)
        if isinstance(error, FAILURE_MESSAGES):
            text = str(error)
        else:
            text = f"{type(error).__name__}: {error}. Details are in {logs.log_path()}."
        self.notify(text, title=title, severity="error", timeout=10)

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


def freeze_heap() -> None:
    """Exclude the objects alive now, such as a loaded snapshot, from cyclic GC.

    A stored snapshot of 1,000 accounts is millions of small objects (its
    quota section alone is about 25 MB of JSON); every full collection
    scanned them all, which showed as pauses of 100 ms and more between
    key presses. Frozen objects are still freed by reference counting when
    the snapshot is replaced; only garbage cycles among them would stay.
    """
    gc.freeze()


def run_app(options: Options) -> int:
    """Run the dashboard and return the exit status.

    The config and the stored snapshot are read before the screen opens, so
    a config error exits with its message and the first frame has data.
    """
    probe = Runtime(replace(options, offline=True))
    probe.read_only_store = options.offline
    try:
        snapshot = probe.latest()
        warnings = list(probe.store_warnings)
        if probe.store is not None:
            warnings += probe.store.warnings
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
