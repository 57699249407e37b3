"""A DataTable whose rows have stable keys and change in place on refresh.

Screens hand it the full list of rows after every refresh. When the visible
rows keep their keys and order, only the cells whose content changed are
updated, so the cursor, the scroll position and the rendering cache stay as
they were. When rows appear, vanish or move (a new account, a filter), the
table is rebuilt and the cursor goes back to the row it was on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable


@dataclass(frozen=True, slots=True)
class Column:
    """A column's key, header label and fixed width (None: fit the content)."""

    key: str
    label: Text | str
    width: int | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """A row's key, its cells in column order and the text ``/`` searches."""

    key: str
    cells: tuple[Text, ...]
    search: str = ""


class KeyedTable(DataTable[Text]):
    """DataTable fed with keyed rows; keeps cursor and scroll across updates."""

    DEFAULT_CSS = """
    KeyedTable {
        height: 1fr;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        """Create an empty table; arguments go to :class:`DataTable`."""
        kwargs.setdefault("zebra_stripes", True)
        kwargs.setdefault("cursor_foreground_priority", "renderable")
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._columns: tuple[Column, ...] = ()
        self._rows: list[Row] = []
        self._visible: list[str] = []
        self.filter_text = ""

    @property
    def current_key(self) -> str | None:
        """Return the key of the row under the cursor, or None when empty."""
        if not self._visible or not self.is_valid_row_index(self.cursor_row):
            return None
        return self._visible[self.cursor_row]

    @property
    def current_column(self) -> str | None:
        """Return the key of the column under the cursor."""
        if not self._columns or not self.is_valid_column_index(self.cursor_column):
            return None
        return self._columns[self.cursor_column].key

    @property
    def visible_keys(self) -> list[str]:
        """Return the keys of the rows shown, in order."""
        return list(self._visible)

    def set_rows(self, columns: Sequence[Column], rows: Sequence[Row]) -> None:
        """Show ``rows`` under ``columns``, in place when only cells changed."""
        self._rows = list(rows)
        shown = [row for row in self._rows if self._matches(row)]
        keys = [row.key for row in shown]
        if tuple(columns) != self._columns or keys != self._visible:
            self._rebuild(tuple(columns), shown)
            return
        for row in shown:
            current = self.get_row(row.key)
            for column, old, new in zip(self._columns, current, row.cells, strict=False):
                if old != new:
                    self.update_cell(row.key, column.key, new)

    def set_filter(self, text: str) -> None:
        """Show only rows whose search text contains ``text`` (any case)."""
        self.filter_text = text.lower()
        shown = [row for row in self._rows if self._matches(row)]
        self._rebuild(self._columns, shown)

    def select_key(self, key: str, column: str | None = None) -> bool:
        """Move the cursor to the row ``key`` (and column); False when hidden."""
        if key not in self._visible:
            return False
        row = self._visible.index(key)
        keys = [c.key for c in self._columns]
        col = keys.index(column) if column in keys else self.cursor_column
        self.move_cursor(row=row, column=col, animate=False)
        return True

    def _matches(self, row: Row) -> bool:
        return not self.filter_text or self.filter_text in row.search.lower()

    def _rebuild(self, columns: tuple[Column, ...], shown: list[Row]) -> None:
        cursor_key = self.current_key
        cursor = self.cursor_coordinate
        scroll = (self.scroll_x, self.scroll_y)
        if columns != self._columns:
            self.clear(columns=True)
            for column in columns:
                self.add_column(column.label, width=column.width, key=column.key)
            self._columns = columns
        else:
            self.clear()
        for row in shown:
            self.add_row(*row.cells, key=row.key)
        self._visible = [row.key for row in shown]
        if not shown:
            return
        target = cursor.row
        if cursor_key in self._visible:
            target = self._visible.index(cursor_key)
        target = min(target, len(shown) - 1)
        column = min(cursor.column, len(columns) - 1)
        self.cursor_coordinate = Coordinate(target, column)
        self.call_after_refresh(self._restore_scroll, *scroll)

    def _restore_scroll(self, x: float, y: float) -> None:
        # The rebuilt table's size is known only after a refresh; put the
        # scroll back where it was, then make sure the cursor is in view.
        self.scroll_to(x, y, animate=False, immediate=True)
        if self.is_valid_row_index(self.cursor_row):
            self._scroll_cursor_into_view(animate=False)
