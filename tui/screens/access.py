"""``:access``, the organization's grants matrix, and ``:grants``, one user's roles.

``:access`` shows users by accounts with the highest level each user can
reach in each account (``!`` marks a level usable without MFA), filtered by
``user=``, ``group=``, ``team=`` and ``env=``, and the findings below it.
``enter`` on a row opens that user's ``:grants``.

``:grants [USER]`` is "where can I go": every role the user can assume,
in which account, at which level and on what conditions. Without a name it
shows the IAM user orgtop itself runs as. ``enter`` opens the account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from textual import on
from textual.widget import Widget
from textual.widgets import DataTable, Static

from collectors.access import grants_for, matrix
from collectors.access.queries import AccessMatrix, user_arn
from collectors.model import Account
from collectors.snapshot import Snapshot
from tui import grants as access_text
from tui.screens.base import DataScreen
from tui.text import cell, env_label, plural
from tui.views import register_view
from tui.widgets.table import Column, KeyedTable, Row

USER_COLUMN = "user"
FINDING_COLUMNS = [
    Column("severity", "severity", 9),
    Column("kind", "kind", 22),
    Column("summary", "finding", 90),
]
GRANT_COLUMNS = [
    Column("account", "account", 20),
    Column("id", "id", 12),
    Column("team", "team", 12),
    Column("env", "env", 10),
    Column("role", "role", 18),
    Column("level", "level", 11),
    Column("mfa", "MFA", 7),
    Column("via", "via", 22),
    Column("conditions", "conditions", 40),
]


@register_view(
    "access",
    description="grants matrix and findings; filter with user= group= team= env=",
    argument="FILTERS",
)
class AccessScreen(DataScreen):
    """Users by accounts with the highest level, and the access findings."""

    DEFAULT_CSS = """
    AccessScreen #access-matrix {
        height: 2fr;
    }
    AccessScreen #access-findings {
        height: 1fr;
    }
    """

    def __init__(self, argument: str = "") -> None:
        """Open the matrix with the filters in ``argument``."""
        super().__init__(argument)
        self.filters, _ = access_text.parse_filters(argument)
        self.built = AccessMatrix()

    @classmethod
    def check_argument(cls, snapshot: Snapshot | None, argument: str) -> str | None:
        """Reject a filter that is not ``user=``, ``group=``, ``team=`` or ``env=``."""
        return access_text.parse_filters(argument)[1]

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the matrix and the findings table."""
        yield KeyedTable(id="access-matrix", cursor_type="row", fixed_columns=1)
        yield Static("Findings", classes="section-title")
        yield KeyedTable(id="access-findings", cursor_type="row")

    def show(self, snapshot: Snapshot) -> None:
        """Build the matrix and the findings from the snapshot's iam section."""
        section = access_text.access_section(snapshot)
        grid = self.query_one("#access-matrix", KeyedTable)
        findings = self.query_one("#access-findings", KeyedTable)
        if section is None:
            self.set_title(f"Access · {access_text.missing_text(snapshot)}")
            grid.set_rows([Column(USER_COLUMN, "user", 20)], [])
            findings.set_rows(FINDING_COLUMNS, [])
            return
        self.built = matrix(section, snapshot.accounts, **self.filters)
        grid.set_rows(self._columns(), self._rows())
        kept = _filter_findings(section, snapshot.accounts, self.filters)
        findings.set_rows(
            FINDING_COLUMNS, [_finding_row(f, i) for i, f in enumerate(kept)]
        )
        self.set_title(self._heading(len(kept)))

    def _columns(self) -> list[Column]:
        widths = [len(name) for _, name in self.built.principals]
        columns = [Column(USER_COLUMN, "user", min(24, max([4, *widths])))]
        for account in self.built.accounts:
            production = self.orgtop.config.is_production(account.env)
            label = env_label(account.name, production)
            columns.append(Column(account.id, label, max(len(account.name) + 2, 11)))
        return columns

    def _rows(self) -> list[Row]:
        rows = []
        for arn, name in self.built.principals:
            cells = [cell(name, "bold")]
            for account in self.built.accounts:
                found = self.built.cells.get((arn, account.id))
                if found is None:
                    cells.append(cell("·", "dim"))
                else:
                    cells.append(
                        access_text.level_cell(found.level, found.mfa_required)
                    )
            rows.append(Row(arn, tuple(cells), name))
        return rows

    def _heading(self, findings: int) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.filters.items())
        where = f" · {shown}" if shown else ""
        users = plural(len(self.built.principals), "user")
        accounts = plural(len(self.built.accounts), "account")
        return (
            f"Access{where} · {users} by {accounts}, highest level "
            f"({access_text.NO_MFA_MARK} = without MFA) · "
            f"{plural(findings, 'finding')} · enter shows the user's grants"
        )

    def apply_filter(self, text: str) -> None:
        """Keep the users and findings whose row contains ``text``."""
        self.query_one("#access-matrix", KeyedTable).set_filter(text)
        self.query_one("#access-findings", KeyedTable).set_filter(text)

    def focus_body(self) -> None:
        """Put the focus back on the matrix."""
        self.query_one("#access-matrix", KeyedTable).focus()

    @on(DataTable.RowSelected, "#access-matrix")
    def _selected(self, event: DataTable.RowSelected) -> None:
        key = self.query_one("#access-matrix", KeyedTable).current_key
        if key is not None:
            self.app.push_screen(GrantsScreen(key))


def _filter_findings(
    section: Mapping[str, Any], accounts: Sequence[Account], filters: Mapping[str, str]
) -> list[Mapping[str, Any]]:
    by_id = {account.id: account for account in accounts}
    members: set[str] | None = None
    if "group" in filters:
        members = {
            u["arn"]
            for u in section.get("users", [])
            if filters["group"] in u["groups"]
        }
    kept = []
    for finding in section.get("findings", []):
        account = by_id.get(finding["account_id"])
        principal = finding["principal"]
        if "user" in filters and filters["user"] not in (principal, _name(principal)):
            continue
        if members is not None and principal not in members:
            continue
        if "team" in filters and (account is None or account.team != filters["team"]):
            continue
        if "env" in filters and (account is None or account.env != filters["env"]):
            continue
        kept.append(finding)
    order = {"critical": 0, "warning": 1}
    return sorted(kept, key=lambda f: (order.get(f["severity"], 2), f["kind"]))


def _finding_row(finding: Mapping[str, Any], index: int) -> Row:
    cells = (
        access_text.finding_cell(finding),
        cell(finding["kind"]),
        cell(finding["summary"]),
    )
    return Row(f"finding-{index}", cells, " ".join(c.plain for c in cells))


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@register_view(
    "grants", description="where a user can go: roles by account", argument="USER"
)
class GrantsScreen(DataScreen):
    """Every role one user can assume: account, level, MFA and conditions."""

    def __init__(self, argument: str = "") -> None:
        """Show the grants of ``argument`` (a user name or ARN; empty: the caller)."""
        super().__init__(argument)
        self.user = argument

    @classmethod
    def check_argument(cls, snapshot: Snapshot | None, argument: str) -> str | None:
        """Reject an unknown user, or no name when orgtop does not run as a user."""
        if snapshot is None:
            return None
        if not argument:
            if user_arn(snapshot.source):
                return None
            return "Name a user: :grants USER (orgtop does not run as an IAM user)."
        section = access_text.access_section(snapshot)
        if section is None or known_principal(section, argument):
            return None
        return (
            f"No user or principal named {argument!r} in the IAM access data; "
            ":access lists the users."
        )

    def compose_body(self) -> Iterable[Widget]:
        """Lay out the grants table."""
        yield KeyedTable(id="user-grants", cursor_type="row")

    def show(self, snapshot: Snapshot) -> None:
        """List the user's grants from the snapshot's iam section."""
        table = self.query_one("#user-grants", KeyedTable)
        section = access_text.access_section(snapshot)
        user = self.user or user_arn(snapshot.source)
        if section is None:
            self.set_title(f"Grants · {access_text.missing_text(snapshot)}")
            table.set_rows(GRANT_COLUMNS, [])
            return
        if self.user and not known_principal(section, self.user):
            self.set_title(
                f"Grants of {self.user} · no user or principal by that name "
                "in the IAM access data"
            )
            table.set_rows(GRANT_COLUMNS, [])
            return
        found = grants_for(section, user)
        by_id = {account.id: account for account in snapshot.accounts}

        def order(grant: Mapping[str, Any]) -> tuple[str, str, str, str]:
            account = by_id.get(grant["account_id"])
            if account is None:
                return ("", "", grant["account_id"], grant["role"])
            return (account.team, account.env, account.name, grant["role"])

        rows = [
            self._row(g, by_id.get(g["account_id"])) for g in sorted(found, key=order)
        ]
        table.set_rows(GRANT_COLUMNS, rows)
        self.set_title(_grants_title(section, user, found))

    def _row(self, grant: Mapping[str, Any], account: Account | None) -> Row:
        name = account.name if account else grant["account_id"]
        team = account.team if account else "-"
        env = account.env if account else "-"
        production = self.orgtop.config.is_production(env)
        cells = (
            cell(name, "bold"),
            cell(grant["account_id"]),
            cell(team),
            env_label(env, production),
            cell(grant["role"]),
            access_text.level_cell(grant["level"]),
            access_text.mfa_cell(grant),
            cell(access_text.via_text(grant)),
            cell(access_text.conditions_text(grant["options"])),
        )
        search = " ".join(c.plain for c in cells)
        return Row(f"{grant['account_id']}/{grant['role']}", cells, search)

    def apply_filter(self, text: str) -> None:
        """Keep the grants whose row contains ``text``."""
        self.query_one("#user-grants", KeyedTable).set_filter(text)

    def focus_body(self) -> None:
        """Put the focus back on the grants table."""
        self.query_one("#user-grants", KeyedTable).focus()

    @on(DataTable.RowSelected, "#user-grants")
    def _selected(self, event: DataTable.RowSelected) -> None:
        from tui.screens.account import AccountScreen

        key = self.query_one("#user-grants", KeyedTable).current_key
        if key is not None:
            self.app.push_screen(AccountScreen(key.split("/", 1)[0]))


def known_principal(section: Mapping[str, Any], name: str) -> bool:
    """Return whether ``name`` is the name or ARN of a user or grant principal."""
    users = section.get("users", [])
    if any(name in (user["arn"], user["name"]) for user in users):
        return True
    grants = section.get("grants", [])
    return any(name in (g["principal"], g["principal_name"]) for g in grants)


def _grants_title(
    section: Mapping[str, Any], user: str, found: Sequence[Mapping[str, Any]]
) -> str:
    name = _name(user)
    if not found:
        return f"Grants of {name} · none: no role in the organization admits this user"
    accounts = len({g["account_id"] for g in found})
    users = [u for u in section.get("users", []) if user in (u["arn"], u["name"])]
    devices = sum(u["mfa_devices"] for u in users)
    mfa = "has an MFA device" if devices else "has no MFA device"
    return (
        f"Where {name} can go · {plural(len(found), 'role')} in "
        f"{plural(accounts, 'account')} · {name} {mfa} · enter opens the account"
    )
