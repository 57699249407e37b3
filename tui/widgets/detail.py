"""A fixed-height line of text that repaints without a layout pass."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class DetailLine(Widget):
    """Text under a table describing its highlighted row or cell.

    ``Static.update`` requests a layout of the whole screen, because new
    content may change its size. This widget's size is fixed by CSS, so a
    change only repaints it, which keeps cursor moves on a large table cheap.
    """

    DEFAULT_CSS = """
    DetailLine {
        height: 2;
        padding: 0 1;
        background: $boost;
    }
    """

    text: reactive[Text] = reactive(Text(""), layout=False)

    def update(self, text: Text | str) -> None:
        """Show ``text``; markup in a plain string is not interpreted."""
        self.text = text if isinstance(text, Text) else Text(text)

    def render(self) -> RenderableType:
        """Render the current text."""
        return self.text
