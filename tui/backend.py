"""The runtime's own thread: collectors run off the UI's event loop.

botocore parses every response in Python (about 10 ms of CPU per request on
the 2-core machine the design measured), so a refresh of hundreds of
accounts would freeze the screen if it ran on Textual's loop. A
:class:`Backend` owns one asyncio loop in a daemon thread for the life of the
app; the :class:`~tui.runtime.Runtime` (demo world, store, clients, role
sessions) is created, used and closed only there. The UI submits coroutines
and awaits the returned futures; it never touches the runtime directly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Collection, Coroutine
from typing import Any, TypeVar

from collectors.credentials import MfaCallback
from collectors.snapshot import Snapshot
from tui.runtime import Options, Runtime

log = logging.getLogger(__name__)

T = TypeVar("T")

CLOSE_TIMEOUT_SECONDS = 10.0


class Backend:
    """A background asyncio loop that owns the runtime."""

    def __init__(self, options: Options, mfa_callback: MfaCallback | None) -> None:
        """Prepare the loop; nothing runs until :meth:`start`."""
        self.options = options
        self.mfa_callback = mfa_callback
        self.runtime: Runtime | None = None
        self.progress: tuple[int, int] = (0, 0)
        """Tasks done and total of the running refresh, written by the loop."""
        self._loop = asyncio.new_event_loop()
        self._one_refresh = asyncio.Lock()
        self._thread = threading.Thread(
            target=self._run_loop, name="orgtop-runtime", daemon=True
        )

    def start(self) -> None:
        """Start the loop's thread."""
        self._thread.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coroutine`` on the background loop; cancelling the future stops it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def refresh(
        self,
        previous: Snapshot | None,
        *,
        force: bool = False,
        on_inventory: Callable[[Snapshot], None] | None = None,
        on_sections: Callable[[Snapshot], None] | None = None,
        accounts: Collection[str] = (),
    ) -> concurrent.futures.Future[Snapshot]:
        """Start one refresh (creating the runtime first) and store its snapshot.

        The callbacks run on the backend's thread, and with ``accounts`` mean
        what they mean for :meth:`~collectors.refresh.Refresher.run`.
        Cancelling the future abandons the refresh; the next one waits until
        it has unwound.
        """
        return self.submit(
            self._refresh(previous, force, on_inventory, on_sections, accounts)
        )

    async def _refresh(
        self,
        previous: Snapshot | None,
        force: bool,
        on_inventory: Callable[[Snapshot], None] | None,
        on_sections: Callable[[Snapshot], None] | None,
        accounts: Collection[str],
    ) -> Snapshot:
        async with self._one_refresh:
            if self.runtime is None:
                # Starting the demo world takes about a second of CPU; it
                # happens here so the UI has already painted the stored snapshot.
                self.runtime = Runtime(self.options, mfa_callback=self.mfa_callback)
            self.progress = (0, 0)
            return await self.runtime.refresh(
                previous,
                force=force,
                progress=self._on_progress,
                on_inventory=on_inventory,
                on_sections=on_sections,
                accounts=accounts,
            )

    def _on_progress(self, done: int, total: int) -> None:
        self.progress = (done, total)

    def close(self) -> None:
        """Cancel what runs, close the runtime and stop the loop's thread."""
        if not self._thread.is_alive():
            return
        try:
            self.submit(self._close()).result(CLOSE_TIMEOUT_SECONDS)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            log.warning(
                "closing the runtime timed out after %s s", CLOSE_TIMEOUT_SECONDS
            )
        except Exception:  # noqa: BLE001 - closing must not stop the exit
            log.exception("closing the runtime failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT_SECONDS)

    async def _close(self) -> None:
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None
