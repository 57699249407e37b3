"""The overview's model: accounts grouped by team and environment.

Rows are the teams in name order, then the organization's own accounts
(``org``) and then ``unassigned``. Columns are the environments that team
accounts use, in the usual promotion order, and ``other`` for any account
whose environment is not one of them (the management, identity and
log-archive accounts, accounts with no environment). Nothing here imports
Textual, so the model is tested and benchmarked without a screen.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from collectors.config import ORG_TEAM
from collectors.inventory import UNASSIGNED
from collectors.model import Account, Severity
from collectors.snapshot import Snapshot
from tui.columns import CellContributor, contributors, worst

log = logging.getLogger(__name__)

OTHER = "other"
ENV_ORDER = (
    "dev",
    "development",
    "test",
    "qa",
    "staging",
    "stage",
    "uat",
    "prod",
    "production",
    "prd",
    "ops",
)
"""Environments in promotion order; others follow alphabetically."""


@dataclass(frozen=True, slots=True)
class Fragment:
    """One contributor's text for a group of accounts."""

    title: str
    text: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class Summary:
    """What a group of accounts (a cell, or one account) adds up to."""

    accounts: tuple[Account, ...]
    active: int
    suspended: int
    errors: int
    failed_collectors: tuple[str, ...]
    fragments: tuple[Fragment, ...]
    severity: Severity

    @property
    def count(self) -> int:
        """Number of accounts in the group."""
        return len(self.accounts)


@dataclass
class Matrix:
    """Summaries by (team, column), with row and column order."""

    rows: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], Summary] = field(default_factory=dict)
    teams: dict[str, list[Account]] = field(default_factory=dict)

    def cell(self, team: str, column: str) -> Summary | None:
        """Return the summary of one cell, or None when it has no account."""
        return self.cells.get((team, column))


def env_sort_key(env: str) -> tuple[int, str]:
    """Order environments by promotion, then by name."""
    if env in ENV_ORDER:
        return ENV_ORDER.index(env), env
    if env == UNASSIGNED:
        return len(ENV_ORDER) + 2, env
    return len(ENV_ORDER) + 1, env


def team_sort_key(team: str) -> tuple[int, str]:
    """Order teams by name, with ``org`` and then ``unassigned`` last."""
    if team == ORG_TEAM:
        return 1, team
    if team == UNASSIGNED:
        return 2, team
    return 0, team


def summarise(
    snapshot: Snapshot,
    accounts: Sequence[Account],
    errors_by_account: dict[str, list[str]],
    cell_contributors: Sequence[CellContributor] | None = None,
) -> Summary:
    """Summarise a group of accounts: counts, errors, fragments, worst severity."""
    chosen = contributors() if cell_contributors is None else cell_contributors
    failed: set[str] = set()
    errors = 0
    for account in accounts:
        collectors = errors_by_account.get(account.id, [])
        errors += len(collectors)
        failed.update(collectors)
    fragments = tuple(
        fragment
        for contributor in chosen
        if (fragment := contribute(contributor, snapshot, accounts)) is not None
    )
    severities = [fragment.severity for fragment in fragments]
    if errors:
        severities.append(Severity.UNKNOWN)
    suspended = sum(1 for account in accounts if not account.active)
    return Summary(
        accounts=tuple(accounts),
        active=len(accounts) - suspended,
        suspended=suspended,
        errors=errors,
        failed_collectors=tuple(sorted(failed)),
        fragments=fragments,
        severity=worst(severities),
    )


def contribute(
    contributor: CellContributor, snapshot: Snapshot, accounts: Sequence[Account]
) -> Fragment | None:
    """Call one contributor; a failing one shows ``?`` instead of breaking the view."""
    try:
        result = contributor.function(snapshot, accounts)
    except Exception:  # noqa: BLE001 - one bad contributor must not hide the rest
        log.exception("cell contributor %s failed", contributor.name)
        return Fragment(contributor.title, "?", Severity.UNKNOWN)
    if result is None:
        return None
    text, severity = result
    return Fragment(contributor.title, text, severity)


def errors_by_account(snapshot: Snapshot) -> dict[str, list[str]]:
    """Map each account id to the collector of each of its error records."""
    found: dict[str, list[str]] = defaultdict(list)
    for error in snapshot.errors:
        found[error.account_id].append(error.collector)
    return found


def build_matrix(snapshot: Snapshot) -> Matrix:
    """Group the snapshot's accounts by team and environment column."""
    teams: dict[str, list[Account]] = defaultdict(list)
    for account in snapshot.accounts:
        teams[account.team].append(account)
    regular_envs = {
        account.env
        for team, members in teams.items()
        if team not in (ORG_TEAM, UNASSIGNED)
        for account in members
    }
    columns = sorted(regular_envs, key=env_sort_key)
    groups: dict[tuple[str, str], list[Account]] = defaultdict(list)
    for account in snapshot.accounts:
        column = account.env if account.env in regular_envs else OTHER
        groups[(account.team, column)].append(account)
    if any(column == OTHER for _, column in groups):
        columns.append(OTHER)
    chosen = contributors()
    errors = errors_by_account(snapshot)
    cells = {
        key: summarise(snapshot, sorted(members, key=lambda a: a.name), errors, chosen)
        for key, members in groups.items()
    }
    return Matrix(
        rows=sorted(teams, key=team_sort_key),
        columns=columns,
        cells=cells,
        teams=dict(teams),
    )
