"""A DataTable whose rows have stable keys and change in place on refresh.

Screens hand it the full list of rows after every refresh. When the visible
rows keep their keys and order, only the cells whose content changed are
updated, so the cursor, the scroll position and the rendering cache stay as
they were. When rows appear, vanish or move (a new account, a filter), the
table is rebuilt and the cursor goes back to the row it was on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


@dataclass(frozen=True, slots=True)
class Column:
    """A column's key, header label and width.

    ``width`` is fixed; None fits the content. A column with ``flex`` takes
    that share of the width the fixed columns leave, between ``width`` (the
    minimum) and ``max_width``, and is resized with the table.
    """

    key: str
    label: Text | str
    width: int | None = None
    flex: int = 0
    max_width: int = 200


@dataclass(frozen=True, slots=True)
class Row:
    """A row's key, its cells in column order, the text ``/`` searches, its height."""

    key: str
    cells: tuple[Text, ...]
    search: str = ""
    height: int = 1


CELL_PADDING = 2
"""DataTable pads every cell with one column on each side."""
SCROLLBAR_WIDTH = 2
FALLBACK_WIDTH = 80
"""Width assumed for flexible columns before the table has a size."""


def resolve_widths(columns: Sequence[Column], available: int) -> list[int | None]:
    """Return each column's width, sharing ``available`` among flexible ones."""
    fixed = sum((c.width or 0) + CELL_PADDING for c in columns if not c.flex)
    flexible = [c for c in columns if c.flex]
    room = available - fixed - CELL_PADDING * len(flexible)
    shares = sum(c.flex for c in flexible) or 1
    widths: list[int | None] = []
    for column in columns:
        if not column.flex:
            widths.append(column.width)
            continue
        share = room * column.flex // shares
        widths.append(max(column.width or 1, min(column.max_width, share)))
    return widths


class KeyedTable(DataTable[Text]):
    """DataTable fed with keyed rows; keeps cursor and scroll across updates."""

    DEFAULT_CSS = """
    KeyedTable {
        height: 1fr;
    }
    """

    def __init__(
        self, *, on_cursor: Callable[[], None] | None = None, **kwargs: object
    ) -> None:
        """Create an empty table; other arguments go to :class:`DataTable`.

        Args:
            on_cursor: Called as soon as the cursor moves, before the frame
                that shows the move is painted, so a detail line drawn from
                it appears in the same frame.
            **kwargs: Passed to :class:`DataTable`.
        """
        kwargs.setdefault("zebra_stripes", True)
        kwargs.setdefault("cursor_foreground_priority", "renderable")
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.on_cursor = on_cursor
        self._columns: tuple[Column, ...] = ()
        self._widths: list[int | None] = []
        self._rows: list[Row] = []
        self._visible: list[str] = []
        self._shape: list[tuple[str, int]] = []
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
        visible_rows = [row for row in self._rows if self._matches(row)]
        keys = [(row.key, row.height) for row in visible_rows]
        if tuple(columns) != self._columns or keys != self._shape:
            self._rebuild(tuple(columns), visible_rows)
            return
        self._fit_widths()
        for row in visible_rows:
            current = self.get_row(row.key)
            for column, old, new in zip(
                self._columns, current, row.cells, strict=False
            ):
                if old != new:
                    self.update_cell(row.key, column.key, new)

    def set_filter(self, text: str) -> None:
        """Show only rows whose search text contains ``text`` (any case)."""
        self.filter_text = text.lower()
        visible_rows = [row for row in self._rows if self._matches(row)]
        self._rebuild(self._columns, visible_rows)

    def select_key(self, key: str, column: str | None = None) -> bool:
        """Move the cursor to the row ``key`` (and column); False when hidden."""
        if key not in self._visible:
            return False
        row = self._visible.index(key)
        keys = [c.key for c in self._columns]
        col = keys.index(column) if column in keys else self.cursor_column
        self.move_cursor(row=row, column=col, animate=False)
        return True

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        """Repaint the cursor and tell ``on_cursor`` at once."""
        super().watch_cursor_coordinate(old, new)
        if old != new and self.on_cursor is not None:
            self.on_cursor()

    def on_resize(self) -> None:
        """Share the new width among flexible columns."""
        self._fit_widths()

    def _fit_widths(self) -> None:
        """Give the columns the widths of the current size, keeping the rows."""
        widths = resolve_widths(self._columns, self._available_width())
        if widths == self._widths:
            return
        self._widths = widths
        for column, width in zip(self._columns, widths, strict=True):
            self.columns[ColumnKey(column.key)].width = width or 0
        # NOTE: DataTable has no public call to resize a column; these are the
        # steps its own add_column takes (textual 8.2). Rebuilding instead
        # would add every row again, a visible cost on 1,000 accounts.
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()

    def column_widths(self, columns: Sequence[Column]) -> list[int | None]:
        """Return the widths ``columns`` would get at the table's current size."""
        return resolve_widths(columns, self._available_width())

    def _available_width(self) -> int:
        # Before its first layout the table has no size; the app's width is
        # the best guess, since tables here span the screen.
        width = self.size.width or self.app.size.width or FALLBACK_WIDTH
        return width - SCROLLBAR_WIDTH

    def _matches(self, row: Row) -> bool:
        return not self.filter_text or self.filter_text in row.search.lower()

    def _rebuild(self, columns: tuple[Column, ...], visible_rows: list[Row]) -> None:
        cursor_key = self.current_key
        cursor = self.cursor_coordinate
        scroll = (self.scroll_x, self.scroll_y)
        widths = resolve_widths(columns, self._available_width())
        if columns != self._columns or widths != self._widths:
            self.clear(columns=True)
            for column, width in zip(columns, widths, strict=True):
                self.add_column(column.label, width=width, key=column.key)
            self._columns = columns
            self._widths = widths
        else:
            self.clear()
        for row in visible_rows:
            self.add_row(*row.cells, key=row.key, height=row.height)
        self._visible = [row.key for row in visible_rows]
        self._shape = [(row.key, row.height) for row in visible_rows]
        if not visible_rows:
            return
        target = cursor.row
        if cursor_key in self._visible:
            target = self._visible.index(cursor_key)
        target = min(target, len(visible_rows) - 1)
        column = min(cursor.column, len(columns) - 1)
        self.cursor_coordinate = Coordinate(target, column)
        self.call_after_refresh(self._restore_scroll, *scroll)

    def _restore_scroll(self, x: float, y: float) -> None:
        # The rebuilt table's size is known only after a refresh; put the
        # scroll back where it was, then make sure the cursor is in view.
        self.scroll_to(x, y, animate=False, immediate=True)
        if self.is_valid_row_index(self.cursor_row):
            self._scroll_cursor_into_view(animate=False)
