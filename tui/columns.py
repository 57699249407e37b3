"""Overview cell contributors: what each source adds to a team x env cell.

A source registers a function that summarises a group of accounts as a short
text fragment and a severity::

    @register_cell("cost", title="MTD", order=10)
    def month_to_date(
        snapshot: Snapshot, accounts: Sequence[Account]
    ) -> tuple[str, Severity] | None:
        section = snapshot.sections.get("cost")
        if section is None:
            return None
        return f"${total:,.0f}", Severity.OK

Contract:

- The function is called on the UI thread for every overview cell (the
  accounts of one team and environment) and, on the team screen, once per
  account row, so it must be cheap: no I/O, no AWS call.
- It returns None when it has nothing to show (no section, no data for these
  accounts); the cell then shows nothing for it. An exception is logged and
  shown as ``?`` with severity unknown, and the other fragments still show.
- The text should be short (about 8 characters); cells are narrow at 80
  columns and cut long text with an ellipsis.
- The severity (:class:`~collectors.model.Severity`) colours the cell
  together with collection errors: the worst one wins, in the order
  critical, unknown, warning, ok (the order ``orgtop check`` uses).
- ``title`` heads the contributor's column on the team screen's accounts
  table.

Register from a module in ``tui/panes/`` (imported by
:func:`tui.panes.load_all`), typically the source's own pane module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from collectors.model import Account, Severity
from collectors.snapshot import Snapshot

CellFunction = Callable[[Snapshot, Sequence[Account]], "tuple[str, Severity] | None"]

SEVERITY_RANK = {
    Severity.OK: 0,
    Severity.WARNING: 1,
    Severity.UNKNOWN: 2,
    Severity.CRITICAL: 3,
}
"""Rank of each severity when colouring a cell: higher wins."""


@dataclass(frozen=True, slots=True)
class CellContributor:
    """A registered function and where its fragment goes."""

    name: str
    title: str
    function: CellFunction
    order: int = 100


_CONTRIBUTORS: dict[str, CellContributor] = {}


def register_cell(
    name: str, *, title: str = "", order: int = 100
) -> Callable[[CellFunction], CellFunction]:
    """Register a cell function under ``name``; a later one replaces it."""

    def decorate(function: CellFunction) -> CellFunction:
        _CONTRIBUTORS[name] = CellContributor(name, title or name, function, order)
        return function

    return decorate


def contributors() -> list[CellContributor]:
    """Return every registered contributor, in cell order."""
    from tui.panes import load_all

    load_all()
    return sorted(_CONTRIBUTORS.values(), key=lambda c: (c.order, c.name))


def worst(severities: Iterable[Severity]) -> Severity:
    """Return the severity that colours a cell: critical, unknown, warning, ok."""
    return max(severities, key=SEVERITY_RANK.__getitem__, default=Severity.OK)
