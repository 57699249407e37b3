"""The bottom prompt: ``:`` runs a command, ``/`` filters the current table."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label


class PromptBar(Horizontal):
    """A one-line input shown on demand below the screen's body."""

    DEFAULT_CSS = """
    PromptBar {
        height: 1;
        display: none;
        background: $boost;
    }
    PromptBar.-open {
        display: block;
    }
    PromptBar Label {
        width: auto;
        padding: 0 0 0 1;
        color: $accent;
        text-style: bold;
    }
    PromptBar Input {
        height: 1;
        border: none;
        padding: 0 1 0 0;
        background: $boost;
    }
    PromptBar Input:focus {
        border: none;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    @dataclass
    class Submitted(Message):
        """The user pressed enter in the prompt."""

        mode: str
        value: str

    @dataclass
    class Changed(Message):
        """The prompt's text changed."""

        mode: str
        value: str

    @dataclass
    class Cancelled(Message):
        """The user left the prompt with escape."""

        mode: str

    def __init__(self, suggester: Suggester | None = None) -> None:
        """Create the closed prompt; ``suggester`` completes commands."""
        super().__init__()
        self.mode = ""
        self._suggester = suggester

    def compose(self) -> ComposeResult:
        """Lay out the prompt character and the input."""
        yield Label(":", id="prompt-mark")
        field = Input(id="prompt-input", select_on_focus=False)
        # Closed, the input must not take the focus from the screen's body
        # (Textual's auto focus and tab would otherwise find it).
        field.can_focus = False
        yield field

    def open(self, mode: str, value: str = "") -> None:
        """Show the prompt in ``command`` or ``filter`` mode and focus it."""
        self.mode = mode
        self.query_one(Label).update(":" if mode == "command" else "/")
        field = self.query_one(Input)
        field.can_focus = True
        field.suggester = self._suggester if mode == "command" else None
        with field.prevent(Input.Changed):
            field.value = value
        field.cursor_position = len(value)
        self.add_class("-open")
        # Focus at once, not through Widget.focus (which waits for the
        # message queue): keys typed fast after ":" are already queued and
        # must reach the input, not the table.
        self.screen.set_focus(field)

    def close(self) -> None:
        """Hide the prompt."""
        self.remove_class("-open")
        self.query_one(Input).can_focus = False

    @property
    def is_open(self) -> bool:
        """Whether the prompt is shown."""
        return self.has_class("-open")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        self.post_message(self.Submitted(self.mode, event.value.strip()))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.is_open:
            self.post_message(self.Changed(self.mode, event.value))

    def action_cancel(self) -> None:
        """Close the prompt without running anything."""
        self.close()
        self.post_message(self.Cancelled(self.mode))
