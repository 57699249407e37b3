"""The app's refresh cycle: start, abandon, show results and report failures.

:class:`RefreshingApp` is the base of :class:`~tui.app.OrgtopApp`. A refresh
runs in an exclusive worker that only awaits the backend's future and posts
messages. Results of a refresh older than the latest one started are dropped.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import replace
from pathlib import Path

from textual import work
from textual.app import App
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

from collectors.config import Config
from collectors.errors import ConfigError, CredentialError, RefreshError
from collectors.snapshot import Snapshot
from collectors.store import StoreError
from tui import logs
from tui.backend import Backend
from tui.messages import InventoryCollected, SectionsCollected, SnapshotCollected
from tui.runtime import SnapshotNotSaved
from tui.screens.base import DataScreen, RefreshScope
from tui.screens.overview import OverviewScreen
from tui.text import plural
from tui.widgets.header import HeaderState

log = logging.getLogger(__name__)

FAILURE_MESSAGES = (CredentialError, RefreshError, StoreError, ConfigError)
"""Exceptions whose message is written for the user and shown as it is."""


class RefreshingApp(App[int]):
    """Refresh state and handlers; the subclass sets the attributes below."""

    header_state: reactive[HeaderState] = reactive(HeaderState, init=False)

    config: Config
    snapshot: Snapshot | None
    store_path: Path | None
    backend: Backend | None
    offline: bool
    demo: bool
    refreshing: bool
    refresh_worker: Worker[None] | None
    refresh_scope: RefreshScope | None
    generation: int
    paused_reason: str
    refresh_failed: bool
    store_problem: str
    started: bool
    _reported_errors: set[tuple[str, str]]

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
                # The account list alone, shown while the first refresh
                # runs, is no data to give an age.
                generated_at=snapshot.generated_at if snapshot.sections else None,
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
        screen_scope = screen.refresh_scope()
        if screen_scope is not None and screen_scope.account_ids <= running.account_ids:
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

        def sections_collected(snapshot: Snapshot) -> None:
            self.post_message(SectionsCollected(snapshot, generation))

        future = self.backend.refresh(
            self.snapshot,
            force=force,
            on_inventory=inventory_collected,
            on_sections=sections_collected,
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

    def on_sections_collected(self, message: SectionsCollected) -> None:
        """Show each collector's data as soon as it is in, during the refresh."""
        if message.generation == self.generation and self.refreshing:
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


def freeze_heap() -> None:
    """Exclude the objects alive now, such as a loaded snapshot, from cyclic GC.

    A stored snapshot of 1,000 accounts is millions of small objects (its
    quota section alone is about 25 MB of JSON); every full collection
    scanned them all, which showed as pauses of 100 ms and more between
    key presses. Frozen objects are still freed by reference counting when
    the snapshot is replaced; only garbage cycles among them would stay.
    """
    gc.freeze()
