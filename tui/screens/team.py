"""The team screen: a team's accounts by environment, then collector tabs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual import on
from textual.widget import Widget
from textual.widgets import DataTable, TabbedContent, TabPane

from collectors.model import Account, Severity
from collectors.snapshot import Snapshot
from tui.columns import contributors
from tui.matrix import contribute, env_sort_key, errors_by_account
from tui.screens.base import DataScreen, RefreshScope
from tui.screens.panes import active_pane, pane_tabs, show_panes
from tui.text import PRODUCTION_MARK, SEVERITY_STYLE, cell, env_label, plural
from tui.views import register_view
from tui.widgets.table import Column, KeyedTable, Row


def find_team(snapshot: Snapshot, name: str) -> str | None:
    """Return the team called ``name`` (any case), or None."""
    teams = {account.team.lower(): account.team for account in snapshot.accounts}
    return teams.get(name.strip().lower())


@register_view("team", description="open a team's accounts", argument="NAME")
class TeamScreen(DataScreen):
    """One team's accounts, with their status, errors and contributed columns."""

    def __init__(self, argument: str = "", *, env: str = "") -> None:
        """Open the team ``argument``; ``env`` puts the cursor on that environment."""
        super().__init__(argument)
        self.team = argument
        self.env = env
        self.accounts: list[Account] = []

    @classmethod
    def check_argument(cls, snapshot: Snapshot | None, argument: str) -> str | None:
        """Reject a missing or unknown team name, listing the known ones."""
        if snapshot is None:
            return "No snapshot yet; wait for the first refresh."
        if not argument:
            return "Usage: :team NAME"
        if find_team(snapshot, argument) is None:
            teams = ", ".join(sorted({a.team for a in snapshot.accounts}))
            return f"No team named {argument!r}. Teams: {teams}."
        return None

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the accounts tab and one tab per collector pane."""
        with TabbedContent(id="team-tabs"):
            with TabPane("Accounts", id="tab-accounts"):
                yield KeyedTable(id="accounts", cursor_type="row")
            yield from pane_tabs()

    def show(self, snapshot: Snapshot) -> None:
        """Show the team's accounts from ``snapshot`` and pass them to the panes."""
        self.team = find_team(snapshot, self.team) or self.team
        self.accounts = sorted(
            (a for a in snapshot.accounts if a.team == self.team),
            key=lambda a: (env_sort_key(a.env), a.name),
        )
        self.set_title(self._summary(snapshot))
        table = self.query_one("#accounts", KeyedTable)
        table.set_rows(self._columns(), self._rows(snapshot))
        if self.env:
            first = next((a.id for a in self.accounts if a.env == self.env), None)
            if first is not None:
                table.select_key(first)
            self.env = ""
        show_panes(self, snapshot, self.accounts)

    def refresh_scope(self) -> RefreshScope | None:
        """Return the team's accounts in the app's snapshot, or None without any."""
        snapshot = self.orgtop.snapshot
        team = find_team(snapshot, self.team) if snapshot else None
        if snapshot is None or team is None:
            return None
        ids = frozenset(a.id for a in snapshot.accounts if a.team == team)
        return RefreshScope(f"team {team}", ids)

    def _summary(self, snapshot: Snapshot) -> str:
        if not self.accounts:
            return f"Team {self.team}: no accounts in the latest snapshot."
        errors = sum(len(snapshot.errors_for(a.id)) for a in self.accounts)
        production = sum(
            1 for a in self.accounts if self.orgtop.config.is_production(a.env)
        )
        return (
            f"Team {self.team} · {plural(len(self.accounts), 'account')} · "
            f"{production} production {PRODUCTION_MARK} · {plural(errors, 'error')}"
        )

    def _columns(self) -> list[Column]:
        columns = [
            Column("env", "env", 10),
            Column("name", "account", 16, flex=2, max_width=32),
            Column("id", "id", 12),
            Column("status", "status", 9),
            Column("errors", "errors", 8, flex=1, max_width=30),
        ]
        for contributor in contributors():
            key = f"cell-{contributor.name}"
            columns.append(Column(key, contributor.title, 7, flex=1, max_width=14))
        return columns

    def _rows(self, snapshot: Snapshot) -> list[Row]:
        chosen = contributors()
        failures = errors_by_account(snapshot)
        rows = []
        for account in self.accounts:
            production = self.orgtop.config.is_production(account.env)
            cells = [
                env_label(account.env, production),
                cell(account.name, "bold"),
                cell(account.id),
                status_cell(account),
                errors_cell(failures.get(account.id, [])),
            ]
            for contributor in chosen:
                fragment = contribute(contributor, snapshot, [account])
                if fragment is None:
                    cells.append(cell("-", "dim"))
                else:
                    cells.append(cell(fragment.text, SEVERITY_STYLE[fragment.severity]))
            search = f"{account.env} {account.name} {account.id} {account.status}"
            rows.append(Row(account.id, tuple(cells), search))
        return rows

    def apply_filter(self, text: str) -> None:
        """Filter the accounts table, or the active pane."""
        pane = active_pane(self)
        if pane is None:
            self.query_one("#accounts", KeyedTable).set_filter(text)
        else:
            pane.apply_filter(text)

    def focus_body(self) -> None:
        """Put the focus back on the accounts table or the active pane."""
        pane = active_pane(self)
        target = pane if pane is not None else self.query_one("#accounts", KeyedTable)
        if target.focusable:
            target.focus()
        else:
            self.focus_next()

    @on(DataTable.RowSelected, "#accounts")
    def _selected(self, event: DataTable.RowSelected) -> None:
        from tui.screens.account import AccountScreen

        key = self.query_one("#accounts", KeyedTable).current_key
        if key is not None:
            self.app.push_screen(AccountScreen(key))


def status_cell(account: Account) -> Text:
    """Render an account's status: active in green, anything else dimmed."""
    if account.active:
        return cell("active", SEVERITY_STYLE[Severity.OK])
    return cell(account.status.lower(), "dim")


def errors_cell(collectors: Sequence[str]) -> Text:
    """Render an account's error count and the collectors that failed."""
    if not collectors:
        return cell("-", "dim")
    failed = ", ".join(sorted(set(collectors)))
    return cell(f"{len(collectors)} ({failed})", SEVERITY_STYLE[Severity.UNKNOWN])
