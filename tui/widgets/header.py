"""The header line: source identity, organization, data age and progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from tui.text import format_age, short_identity

AGE_TICK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class HeaderState:
    """Contents of the header; the app replaces it as a whole."""

    organization: str = ""
    source: str = ""
    generated_at: datetime | None = None
    mode: str = ""
    """``demo``, ``offline`` or empty."""
    refreshing: bool = False
    scope: str = ""
    """The team or account being refreshed, or empty for every account."""
    done: int = 0
    total: int = 0
    note: str = ""
    """A short condition such as ``MFA cancelled`` or ``refresh failed``."""


class StatusHeader(Horizontal):
    """One line at the top of every screen, following ``app.header_state``."""

    DEFAULT_CSS = """
    StatusHeader {
        height: 1;
        dock: top;
        background: $panel;
        color: $text;
    }
    StatusHeader Label {
        height: 1;
        padding: 0 1 0 0;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StatusHeader #brand {
        text-style: bold;
        color: $accent;
        padding: 0 1;
    }
    StatusHeader #mode {
        color: $warning;
        text-style: bold;
    }
    StatusHeader #org {
        text-style: bold;
    }
    StatusHeader #source {
        width: 1fr;
        color: $text-muted;
    }
    StatusHeader #note {
        color: $error;
    }
    StatusHeader #count {
        padding: 0 1;
    }
    StatusHeader #progress {
        width: 14;
        display: none;
    }
    StatusHeader #progress Bar {
        width: 14;
    }
    StatusHeader.-refreshing #progress {
        display: block;
    }
    """

    age_text = ""
    """The data age shown, kept to skip updates that change nothing."""

    def compose(self) -> ComposeResult:
        """Lay out the header's labels and the progress bar."""
        yield Label("orgtop", id="brand")
        yield Label("", id="mode")
        yield Label("", id="org")
        yield Label("", id="source")
        yield Label("", id="note")
        yield Label("", id="age")
        yield ProgressBar(show_eta=False, show_percentage=False, id="progress")
        yield Label("", id="count")

    def on_mount(self) -> None:
        """Follow the app's header state and keep the data age current."""
        self.watch(self.app, "header_state", self._apply, init=True)
        self.set_interval(AGE_TICK_SECONDS, self._tick)

    def _apply(self, state: HeaderState) -> None:
        self.query_one("#mode", Label).update(state.mode.upper())
        self.query_one("#org", Label).update(state.organization or "no data yet")
        self.query_one("#source", Label).update(short_identity(state.source))
        self.query_one("#note", Label).update(state.note)
        self.set_class(state.refreshing, "-refreshing")
        bar = self.query_one("#progress", ProgressBar)
        count = self.query_one("#count", Label)
        if state.refreshing:
            bar.update(total=state.total or None, progress=state.done)
            progress = f"{state.done}/{state.total}" if state.total else "starting"
            count.update(f"{state.scope} {progress}" if state.scope else progress)
        else:
            count.update("")
        self._tick()

    def _tick(self) -> None:
        state: HeaderState = self.app.header_state  # type: ignore[attr-defined]
        text = ""
        if state.generated_at is not None:
            now: datetime = self.app.clock()  # type: ignore[attr-defined]
            text = f"data {format_age(state.generated_at, now)}"
        # An update lays out the whole screen; the text changes once a minute.
        if text != self.age_text:
            self.age_text = text
            self.query_one("#age", Label).update(text)
