"""The account screen: the account's facts and its collectors, then the panes."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane

from collectors import registry
from collectors.model import Account, Severity
from collectors.snapshot import Snapshot
from tui.screens.base import DataScreen, RefreshScope
from tui.screens.panes import active_pane, pane_tabs, show_panes
from tui.switch_keys import SWITCH_BINDINGS, RoleSwitchKeys
from tui.text import SEVERITY_STYLE, cell, env_label, format_age, plural
from tui.views import register_view
from tui.widgets.table import Column, KeyedTable, Row

MAX_LISTED_MATCHES = 8
"""Accounts named at most when a prefix is ambiguous; the rest are counted."""


def matching_accounts(snapshot: Snapshot, key: str) -> list[Account]:
    """Return the accounts whose id or name is ``key`` or starts with it.

    Case is ignored. An exact id or name wins over prefixes, the rule that
    ``orgtop switch`` applies to its account argument, and a name in the
    same case wins over names that differ from it only in case.
    """
    key = key.strip()
    query = key.lower()
    if not query:
        return []
    exact = [a for a in snapshot.accounts if key in (a.id, a.name)]
    if exact:
        return exact
    exact = [a for a in snapshot.accounts if query in (a.id, a.name.lower())]
    if exact:
        return exact
    return [
        a
        for a in snapshot.accounts
        if a.name.lower().startswith(query) or a.id.startswith(query)
    ]


def find_account(snapshot: Snapshot, key: str) -> Account | None:
    """Find the one account named by id, name or an unambiguous prefix of either."""
    found = matching_accounts(snapshot, key)
    return found[0] if len(found) == 1 else None


def ambiguity_message(key: str, matches: list[Account]) -> str:
    """Name the accounts an ambiguous ``key`` matches and how to pick one."""
    names = sorted(account.name for account in matches)
    listed = ", ".join(names[:MAX_LISTED_MATCHES])
    if len(names) > MAX_LISTED_MATCHES:
        listed += f" and {len(names) - MAX_LISTED_MATCHES} more"
    return (
        f"{key!r} matches {len(names)} accounts: {listed}. "
        "Type more of the name or the id."
    )


@register_view(
    "account", description="open an account by id or name", argument="ID-or-name"
)
class AccountScreen(RoleSwitchKeys, DataScreen):
    """One account: facts, errors per collector and the collector panes."""

    BINDINGS = SWITCH_BINDINGS

    def __init__(self, argument: str = "") -> None:
        """Open the account whose id or name is ``argument``."""
        super().__init__(argument)
        self.account: Account | None = None

    @classmethod
    def check_argument(cls, snapshot: Snapshot | None, argument: str) -> str | None:
        """Reject a missing, unknown or ambiguous account."""
        if snapshot is None:
            return "No snapshot yet; wait for the first refresh."
        if not argument:
            return "Usage: :account ID-or-name"
        matches = matching_accounts(snapshot, argument)
        if len(matches) > 1:
            return ambiguity_message(argument, matches)
        if not matches:
            return f"No account with id or name {argument!r} in the latest snapshot."
        return None

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the overview tab and one tab per collector pane."""
        with TabbedContent(id="account-tabs"):
            with TabPane("Overview", id="tab-overview"):
                with VerticalScroll(id="account-overview"):
                    yield Static("", id="facts")
                    yield Static("Collectors", classes="section-title")
                    yield KeyedTable(id="collectors", cursor_type="row")
                    yield Static("Errors", id="errors-title", classes="section-title")
                    yield KeyedTable(id="account-errors", cursor_type="row")
            yield from pane_tabs()

    def show(self, snapshot: Snapshot) -> None:
        """Show the account's facts, collectors and errors; feed the panes."""
        account = find_account(snapshot, self.argument)
        if account is not None:
            # A prefix could match a second account in a later snapshot;
            # the id keeps this screen on the account it opened.
            self.argument = account.id
        self.account = account
        if account is None:
            self.set_title(f"Account {self.argument}: not in the latest snapshot.")
            return
        production = self.orgtop.config.is_production(account.env)
        title = Text(f"{account.name} ({account.id}) · {account.team} / ")
        title.append_text(env_label(account.env, production))
        if production:
            title.append(" production", style="bold red")
        self.set_title(title.plain)
        self.query_one("#facts", Static).update(
            self._facts(snapshot, account, production)
        )
        self.query_one("#collectors", KeyedTable).set_rows(
            COLLECTOR_COLUMNS, self._collector_rows(snapshot, account)
        )
        errors = error_rows(snapshot, account)
        table = self.query_one("#account-errors", KeyedTable)
        table.set_rows(ERROR_COLUMNS, errors)
        table.display = bool(errors)
        title = f"Errors: {len(errors)}" if errors else "Errors: none"
        self.query_one("#errors-title", Static).update(title)
        show_panes(self, snapshot, [account])

    def _facts(self, snapshot: Snapshot, account: Account, production: bool) -> Table:
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="ellipsis", no_wrap=True, ratio=1)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="ellipsis", no_wrap=True, ratio=1)

        tags = ", ".join(f"{k}={v}" for k, v in sorted(account.tags.items())) or "-"
        regions = ", ".join(account.regions) or "-"
        disabled = ", ".join(account.disabled_regions) or "-"
        collected = format_age(snapshot.generated_at, self.orgtop.clock())
        env = env_label(account.env, production)
        status = Text(
            account.status.lower(), style="green" if account.active else "dim"
        )

        pairs = [
            ("id", account.id),
            ("name", account.name),
            ("team", account.team),
            ("env", env),
            ("OU path", account.ou_path or "(root)"),
            ("status", status),
            ("mapped by", account.mapped_by),
            ("email", account.email or "-"),
            ("regions", regions),
            ("disabled", disabled),
            ("tags", tags),
            ("collected", collected),
        ]

        for index in range(0, len(pairs), 2):
            (left, left_value), (right, right_value) = pairs[index], pairs[index + 1]
            grid.add_row(left, left_value, right, right_value)
        return grid

    def _collector_rows(self, snapshot: Snapshot, account: Account) -> list[Row]:
        rows = []
        for collector in registry.collectors():
            errors = [
                e
                for e in snapshot.errors_for(account.id)
                if e.collector == collector.name
            ]
            states = [
                s.state
                for s in snapshot.states
                if s.collector == collector.name and s.account_id in (account.id, "")
            ]
            section = snapshot.sections.get(collector.name)
            fetched = section.get("fetched_at", "") if section else ""
            if errors:
                kinds = ", ".join(sorted({str(e.kind) for e in errors}))
                status = cell(
                    f"{plural(len(errors), 'error')}: {kinds}",
                    SEVERITY_STYLE[Severity.UNKNOWN],
                )
            elif states:
                status = cell(", ".join(sorted({str(s) for s in states})), "dim")
            elif section is None:
                status = cell("no data", "dim")
            else:
                status = cell("ok", SEVERITY_STYLE[Severity.OK])
            rows.append(
                Row(
                    collector.name,
                    (
                        cell(collector.title or collector.name),
                        status,
                        cell(_short_time(fetched)),
                    ),
                    collector.name,
                )
            )
        return rows

    def refresh_scope(self) -> RefreshScope | None:
        """Return this account, or None when the app's snapshot lacks it."""
        snapshot = self.orgtop.snapshot
        account = find_account(snapshot, self.argument) if snapshot else None
        if account is None:
            return None
        return RefreshScope(account.name, frozenset({account.id}))

    def apply_filter(self, text: str) -> None:
        """Filter the errors table, or the active pane."""
        pane = active_pane(self)
        if pane is None:
            self.query_one("#account-errors", KeyedTable).set_filter(text)
        else:
            pane.apply_filter(text)

    def focus_body(self) -> None:
        """Put the focus back on the collectors table or the active pane."""
        pane = active_pane(self)
        target = pane if pane is not None else self.query_one("#collectors", KeyedTable)
        if target.focusable:
            target.focus()
        else:
            self.focus_next()


COLLECTOR_COLUMNS = [
    Column("collector", "collector", 16),
    Column("status", "status", 16, flex=1, max_width=60),
    Column("fetched", "collected (UTC)", 19),
]
ERROR_COLUMNS = [
    Column("collector", "collector", 10),
    Column("kind", "kind", 13),
    Column("operation", "operation", 14),
    Column("message", "message", 16, flex=1),
    Column("region", "region", 14),
    Column("at", "at", 20),
]


def error_rows(snapshot: Snapshot, account: Account) -> list[Row]:
    """Return one row per error record of ``account``."""
    rows = []
    for index, error in enumerate(snapshot.errors_for(account.id)):
        cells = (
            cell(error.collector),
            cell(str(error.kind), SEVERITY_STYLE[Severity.UNKNOWN]),
            cell(error.operation or "-"),
            cell(error.message),
            cell(error.region or "-"),
            cell(error.at),
        )
        key = f"{error.collector}/{error.region}/{error.operation}/{index}"
        rows.append(Row(key, cells, " ".join(c.plain for c in cells)))
    return rows


def _short_time(stamp: str) -> str:
    return stamp.replace("T", " ")[:19] if stamp else "-"
