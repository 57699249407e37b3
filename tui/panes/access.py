"""Access on the team and account screens, and the overview's findings cell.

The pane shows "who can get in, with which role, MFA or not": one row per
grant into the shown accounts, then one per principal outside orgtop's view
that a trust policy admits (another account, anyone, a federated identity),
and the findings of those accounts above the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from collectors.access import grants_into
from collectors.access.queries import findings_for, roles_in
from collectors.model import Account, Severity
from collectors.snapshot import Snapshot
from tui import grants as access_text
from tui.columns import register_cell
from tui.panes import CollectorPane, register_pane
from tui.text import SEVERITY_STYLE, cell, plural
from tui.widgets.table import Column, KeyedTable, Row

COLUMNS = [
    Column("account", "account", 20),
    Column("role", "role", 18),
    Column("level", "level", 11),
    Column("who", "who", 22),
    Column("mfa", "MFA", 7),
    Column("via", "via", 22),
    Column("conditions", "conditions", 40),
]
OUTSIDE_SCOPES = {
    "outside": "outside the organization",
    "anyone": "anyone",
    "federated": "federated",
}
"""Trust rows shown in the pane: principals that are not the organization's users."""


@register_cell("access", title="IAM", order=40)
def findings_cell(
    snapshot: Snapshot, accounts: Sequence[Account]
) -> tuple[str, Severity] | None:
    """Count the critical and warning access findings of the accounts."""
    section = access_text.access_section(snapshot)
    if section is None:
        return None
    ids = {account.id for account in accounts}
    found = [
        f
        for f in section.get("findings", [])
        if f["account_id"] in ids and f["severity"] in ("critical", "warning")
    ]
    if not found:
        return None
    return f"IAM {len(found)}", access_text.worst_finding(found)


@register_pane
class AccessPane(CollectorPane):
    """Grants into the shown accounts, outside trusts and findings."""

    collector = access_text.SECTION
    title = "Access"
    order = 40

    DEFAULT_CSS = """
    AccessPane #access-summary {
        height: auto;
        max-height: 8;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        """Lay out the summary with findings and the grants table."""
        yield Static("", id="access-summary", markup=False)
        yield KeyedTable(id="access-grants", cursor_type="row")

    def show(self, snapshot: Snapshot, accounts: Sequence[Account]) -> None:
        """Paint the grants into ``accounts`` from the snapshot's iam section."""
        section = access_text.access_section(snapshot)
        summary = self.query_one("#access-summary", Static)
        table = self.query_one("#access-grants", KeyedTable)
        if section is None:
            summary.update(access_text.missing_text(snapshot))
            table.set_rows(COLUMNS, [])
            return
        names = {account.id: account.name for account in accounts}
        grants = [g for a in accounts for g in grants_into(section, a.id)]
        rows = [_grant_row(g, names) for g in grants]
        rows += list(_trust_rows(section, accounts))
        findings = [f for a in accounts for f in findings_for(section, a.id)]
        summary.update(_summary(section, grants, findings, accounts))
        table.set_rows(COLUMNS, rows)

    def apply_filter(self, text: str) -> None:
        """Keep the rows that contain ``text``."""
        self.query_one("#access-grants", KeyedTable).set_filter(text)


def _grant_row(grant: Mapping[str, Any], names: Mapping[str, str]) -> Row:
    cells = (
        cell(names.get(grant["account_id"], grant["account_id"]), "bold"),
        cell(grant["role"]),
        access_text.level_cell(grant["level"]),
        cell(grant["principal_name"]),
        access_text.mfa_cell(grant),
        cell(access_text.via_text(grant)),
        cell(access_text.conditions_text(grant["options"])),
    )
    key = f"{grant['account_id']}/{grant['role']}/{grant['principal']}"
    return Row(key, cells, " ".join(c.plain for c in cells))


def _trust_rows(
    section: Mapping[str, Any], accounts: Sequence[Account]
) -> Iterable[Row]:
    for account in accounts:
        for role in roles_in(section, account.id):
            for trusted in role.get("trusted", []):
                scope = OUTSIDE_SCOPES.get(trusted["scope"])
                if scope is None:
                    continue
                who = trusted["account"] or trusted["principal"]
                cells = (
                    cell(account.name, "bold"),
                    cell(role["name"]),
                    access_text.level_cell(role["level"]),
                    cell(f"{who} ({scope})", "yellow"),
                    cell("-"),
                    cell("trust policy"),
                    cell("; ".join(trusted["requirements"]) or "-"),
                )
                key = f"{account.id}/{role['name']}/{trusted['principal']}"
                yield Row(key, cells, " ".join(c.plain for c in cells))


def _summary(
    section: Mapping[str, Any],
    grants: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
    accounts: Sequence[Account],
) -> Text:
    users = {g["principal"] for g in grants}
    without_mfa = sum(1 for g in grants if not g["mfa_required"])
    summary = Text(
        f"{plural(len(grants), 'grant')} to {plural(len(users), 'user')} · "
        f"{without_mfa} usable without MFA",
        style="bold",
    )
    stale = set(section.get("stale_accounts", [])) & {a.id for a in accounts}
    if stale:
        summary.append(
            f" · {plural(len(stale), 'account')} unreadable, shown as last collected",
            style=SEVERITY_STYLE[Severity.UNKNOWN],
        )
    for finding in findings:
        severity = access_text.finding_cell(finding)
        summary.append("\n")
        summary.append(severity.plain, style=severity.style)
        summary.append(f" {finding['summary']}")
    return summary
