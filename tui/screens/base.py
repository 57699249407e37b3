"""The base of every data screen: header, body, prompt bar and footer.

Subclasses compose their body in :meth:`DataScreen.compose_body` and paint a
snapshot in :meth:`DataScreen.show`. The base calls ``show`` when the screen
is mounted and whenever it is on top and the app's snapshot is newer than
the one it last painted, so a screen below the top catches up when it comes
back. ``/`` filters through :meth:`DataScreen.apply_filter`; ``:`` runs a
command through the app; ``escape`` clears the filter first, then goes back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from collectors.snapshot import Snapshot
from tui import logs
from tui.widgets.header import StatusHeader
from tui.widgets.prompt import PromptBar

if TYPE_CHECKING:
    from tui.app import OrgtopApp

log = logging.getLogger(__name__)

COMPACT_FOOTER_WIDTH = 120
"""Below this width the footer drops the spaces between its keys."""


@dataclass(frozen=True)
class RefreshScope:
    """The accounts a refresh started from a screen covers, and their label."""

    label: str
    account_ids: frozenset[str]


class DataScreen(Screen[None]):
    """A screen that paints the app's current snapshot."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        # Priority bindings run while the app reads keys, before it hands
        # the next ones to the focused widget, so ":cost" typed in one burst
        # lands in the prompt instead of the table.
        Binding("slash", "start_filter", "Filter", key_display="/", priority=True),
        Binding("colon", "start_command", "Command", key_display=":", priority=True),
    ]

    def __init__(self, argument: str = "") -> None:
        """Create the screen; ``argument`` is the text after the command name."""
        super().__init__()
        self.argument = argument
        self.filter_text = ""
        self.painted: Snapshot | None = None
        """The snapshot this screen last showed."""
        self._title = ""

    @property
    def orgtop(self) -> OrgtopApp:
        """The running app, typed."""
        return self.app  # type: ignore[return-value]

    @classmethod
    def check_argument(cls, snapshot: Snapshot | None, argument: str) -> str | None:
        """Return why ``argument`` cannot open this screen, or None when it can."""
        return None

    def compose(self) -> ComposeResult:
        """Lay out the header, the screen's body, the prompt and the footer."""
        yield StatusHeader()
        yield Static("", id="screen-title", markup=False)
        yield from self.compose_body()
        yield PromptBar(self.orgtop.suggester)
        yield Footer()

    def compose_body(self) -> Iterable[Widget]:
        """Yield the widgets between header and footer."""
        return ()

    def show(self, snapshot: Snapshot) -> None:
        """Paint ``snapshot``; called again after every refresh."""

    def apply_filter(self, text: str) -> None:
        """Narrow the screen's table to rows containing ``text``."""

    def paint(self) -> None:
        """Show the app's snapshot if this screen has not painted it yet."""
        snapshot = self.orgtop.snapshot
        if snapshot is None or snapshot is self.painted:
            return
        self.painted = snapshot
        try:
            self.show(snapshot)
        except Exception as error:  # noqa: BLE001 - a bad view must not end the app
            log.exception("%s failed to show the snapshot", type(self).__name__)
            self.notify(
                f"This screen failed to show the data: {type(error).__name__}: "
                f"{error}. Details are in {logs.log_path()}.",
                severity="error",
            )

    def on_mount(self) -> None:
        """Paint the current snapshot as soon as the screen exists."""
        self.paint()
        self.call_after_refresh(self._focus_first)

    def on_resize(self, event: Resize) -> None:
        """Tighten the footer on narrow terminals so more keys fit.

        Below :data:`COMPACT_FOOTER_WIDTH` the ``ctrl+p`` hint goes too,
        because Textual draws it over the keys that do not fit; ``?`` lists it.
        """
        footer = self.query_one(Footer)
        narrow = event.size.width < COMPACT_FOOTER_WIDTH
        footer.compact = narrow
        footer.show_command_palette = not narrow

    def refresh_scope(self) -> RefreshScope | None:
        """Return the accounts ``r`` refreshes on this screen; None means all."""
        return None

    def on_screen_resume(self) -> None:
        """Catch up with a refresh that finished while another screen was on top."""
        self.paint()
        self.orgtop.screen_shown(self)

    def action_back(self) -> None:
        """Clear the filter, or else go back to the previous screen."""
        if self.filter_text:
            self._set_filter("")
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Let ``/`` and ``:`` type into an input instead of opening the prompt."""
        if action in ("start_filter", "start_command"):
            return not isinstance(self.focused, Input)
        return True

    def action_start_filter(self) -> None:
        """Open the prompt in filter mode with the current filter."""
        self.query_one(PromptBar).open("filter", self.filter_text)

    def action_start_command(self) -> None:
        """Open the prompt in command mode."""
        self.query_one(PromptBar).open("command")

    @on(PromptBar.Changed)
    def _filter_changed(self, event: PromptBar.Changed) -> None:
        if event.mode == "filter":
            self._set_filter(event.value)

    @on(PromptBar.Submitted)
    def _prompt_submitted(self, event: PromptBar.Submitted) -> None:
        self.focus_body()
        if event.mode == "command":
            self.orgtop.run_command(event.value)

    @on(PromptBar.Cancelled)
    def _prompt_cancelled(self, event: PromptBar.Cancelled) -> None:
        if event.mode == "filter":
            self._set_filter("")
        self.focus_body()

    def set_title(self, title: str) -> None:
        """Set the line under the header, after the active filter if any."""
        self._title = title
        prefix = f"[/{self.filter_text}] " if self.filter_text else ""
        self.query_one("#screen-title", Static).update(prefix + title)

    def _set_filter(self, text: str) -> None:
        self.filter_text = text
        self.apply_filter(text)
        self.set_title(self._title)

    def _focus_first(self) -> None:
        # A ":" typed while the screen was opening has already moved the
        # focus to the prompt; keep it there.
        if not self.query_one(PromptBar).is_open:
            self.focus_body()

    def focus_body(self) -> None:
        """Give the focus back to the screen's main widget after the prompt."""
        self.focus_next()
