"""The overview: one row per team, one column per environment.

Each cell shows its account count, collection errors and what registered
contributors add (cost, quota utilization, alerts), coloured by the worst
severity inside. The line under the table spells out the highlighted cell in
full, because cells are only a dozen characters wide at 80 columns.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import DataTable

from collectors.model import Severity
from collectors.snapshot import Snapshot
from tui.matrix import OTHER, Matrix, Summary, build_matrix
from tui.screens.base import DataScreen
from tui.text import (
    PRODUCTION_MARK,
    SEVERITY_STYLE,
    cell,
    env_label,
    plural,
)
from tui.widgets.detail import DetailLine
from tui.widgets.table import Column, KeyedTable, Row

TEAM_COLUMN = "team"
MIN_CELL_WIDTH = 9
MAX_CELL_WIDTH = 40
MAX_TEAM_WIDTH = 18
TWO_LINE_MIN_HEIGHT = 30
"""Screens shorter than this keep one line per team and cut long cells."""


class OverviewScreen(DataScreen):
    """Team by environment matrix of the whole organization."""

    def __init__(self, argument: str = "") -> None:
        """Create the screen; the matrix is built on the first paint."""
        super().__init__(argument)
        self.matrix = Matrix()
        self.longest_cell = 0
        """Length of the longest cell on one line, which decides the row height."""
        self.filled_shape = (0, 0)
        """Cell width and row height the table was last filled with."""

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the matrix and the detail line of the highlighted cell."""
        yield KeyedTable(
            id="matrix",
            cursor_type="cell",
            fixed_columns=1,
            on_cursor=self._describe_cursor,
        )
        yield DetailLine(id="cell-detail")

    def on_mount(self) -> None:
        """Say what is missing when there is no snapshot yet.

        Textual then runs :meth:`DataScreen.on_mount`, which paints.
        """
        if self.orgtop.snapshot is None:
            self.set_title(self._waiting_text())

    def _waiting_text(self) -> str:
        if self.orgtop.offline:
            return f"No snapshot stored in {self.orgtop.store_path}."
        return "No stored snapshot yet: collecting the organization..."

    def show(self, snapshot: Snapshot) -> None:
        """Rebuild the matrix model and update the table's cells in place."""
        self.matrix = build_matrix(snapshot)
        self.longest_cell = max(
            (len(render_cell(summary).plain) for summary in self.matrix.cells.values()),
            default=0,
        )
        self.set_title(self._summary(snapshot))
        self._fill(changed=True)

    def _fill(self, changed: bool = False) -> None:
        table = self.query_one("#matrix", KeyedTable)
        columns = self._columns()
        widths = [w for w in table.column_widths(columns)[1:] if w]
        width = min(widths, default=MIN_CELL_WIDTH)
        height = self._row_height(width)
        if not changed and (width, height) == self.filled_shape:
            return
        self.filled_shape = (width, height)
        table.set_rows(columns, self._rows(height, width))
        self._describe_cursor()

    def on_resize(self, event: Resize) -> None:
        """Choose one or two lines per team again for the new size."""
        if self.matrix.rows:
            self._fill()

    def _row_height(self, width: int) -> int:
        """Return 2 when cells do not fit one line and the screen has the room."""
        if self.longest_cell <= width or self.size.height < TWO_LINE_MIN_HEIGHT:
            return 1
        return 2

    def apply_filter(self, text: str) -> None:
        """Keep the teams whose name or accounts contain ``text``."""
        self.query_one("#matrix", KeyedTable).set_filter(text)
        self._describe_cursor()

    def focus_body(self) -> None:
        """Put the focus back on the matrix."""
        self.query_one("#matrix", KeyedTable).focus()

    def _summary(self, snapshot: Snapshot) -> str:
        accounts = snapshot.accounts
        suspended = sum(1 for account in accounts if not account.active)
        failing = len({error.account_id for error in snapshot.errors})
        teams = len(
            [row for row in self.matrix.rows if row not in ("org", "unassigned")]
        )
        return (
            f"{plural(len(accounts), 'account')} · {plural(teams, 'team')} · "
            f"{suspended} suspended · {failing} with errors · "
            f"{PRODUCTION_MARK} production"
        )

    def _columns(self) -> list[Column]:
        team_width = min(
            MAX_TEAM_WIDTH, max([4, *(len(row) for row in self.matrix.rows)])
        )
        columns = [Column(TEAM_COLUMN, Text("team", style="bold"), team_width)]
        for env in self.matrix.columns:
            production = env != OTHER and self.orgtop.config.is_production(env)
            label = env_label(env, production)
            columns.append(Column(env, label, MIN_CELL_WIDTH, 1, MAX_CELL_WIDTH))
        return columns

    def _rows(self, height: int, width: int) -> list[Row]:
        rows = []
        for team in self.matrix.rows:
            cells = [cell(team, "italic" if team in ("org", "unassigned") else "bold")]
            for env in self.matrix.columns:
                summary = self.matrix.cell(team, env)
                cells.append(render_cell(summary, width, height))
            names = " ".join(a.name for a in self.matrix.teams.get(team, []))
            ids = " ".join(a.id for a in self.matrix.teams.get(team, []))
            rows.append(Row(team, tuple(cells), f"{team} {names} {ids}", height))
        return rows

    def _describe_cursor(self) -> None:
        table = self.query_one("#matrix", KeyedTable)
        detail = self.query_one("#cell-detail", DetailLine)
        team, column = table.current_key, table.current_column
        if team is None:
            detail.update("No team matches the filter." if table.filter_text else "")
            return
        if column in (None, TEAM_COLUMN):
            members = self.matrix.teams.get(team, [])
            count = plural(len(members), "account")
            detail.update(Text(f"{team}: {count}. Enter opens the team."))
            return
        detail.update(describe_cell(team, column, self.matrix.cell(team, column)))

    @on(DataTable.CellSelected, "#matrix")
    def _selected(self, event: DataTable.CellSelected) -> None:
        table = self.query_one("#matrix", KeyedTable)
        team, column = table.current_key, table.current_column
        if team is None:
            return
        from tui.screens.team import TeamScreen

        env = column if column not in (None, TEAM_COLUMN, OTHER) else ""
        self.app.push_screen(TeamScreen(team, env=env))


def render_cell(summary: Summary | None, width: int = 0, lines: int = 1) -> Text:
    """Render one cell: status mark, account count, errors, then fragments.

    With two lines, fragments that do not fit on the first line of
    ``width`` characters move whole to the second, never split inside.
    """
    if summary is None:
        return cell("·", "dim")
    if summary.active == 0:
        return cell(f"○ {summary.count} susp", "dim")
    style = SEVERITY_STYLE[summary.severity]
    words = [str(summary.count)]
    problems = []
    if summary.errors:
        problems.append(f"{summary.errors} err")
    if summary.suspended:
        problems.append(f"{summary.suspended} susp")
    if problems:
        words[0] += f" ({', '.join(problems)})"
    words.extend(fragment.text for fragment in summary.fragments)
    body = " ".join(words)
    if lines > 1:
        body = _two_lines(words, width - 2)
    text = cell("")
    text.append("● ", style=style)
    text.append(body, style="" if summary.severity is Severity.OK else style)
    return text


def _two_lines(words: list[str], width: int) -> str:
    first = words[0]
    index = 1
    while index < len(words) and len(first) + 1 + len(words[index]) <= width:
        first += " " + words[index]
        index += 1
    rest = " ".join(words[index:])
    return f"{first}\n{rest}" if rest else first


def describe_cell(team: str, column: str, summary: Summary | None) -> Text:
    """Spell out a cell in full for the detail line."""
    where = f"{team} / {column}"
    if summary is None:
        return Text(f"{where}: no accounts.")
    names = ", ".join(account.name for account in summary.accounts)
    text = Text(f"{where}: {plural(summary.count, 'account')} ({names})")
    if summary.suspended:
        text.append(f", {summary.suspended} suspended")
    if summary.errors:
        failed = ", ".join(summary.failed_collectors)
        text.append(
            f". {plural(summary.errors, 'error')} from {failed}",
            style=SEVERITY_STYLE[Severity.UNKNOWN],
        )
    for fragment in summary.fragments:
        text.append(". ")
        text.append(
            f"{fragment.title} {fragment.text}", style=SEVERITY_STYLE[fragment.severity]
        )
    text.append(".")
    return text
