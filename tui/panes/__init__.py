"""Collector panes: one tab per collector on the team and account screens.

A source adds its pane by dropping one module into this package; every module
here is imported by :func:`load_all`, the same way ``collectors/sources/`` is.
The module subclasses :class:`CollectorPane` and decorates it with
:func:`register_pane`::

    @register_pane
    class CostPane(CollectorPane):
        collector = "cost"
        title = "Cost"
        order = 10

        def compose(self) -> ComposeResult:
            yield DataTable(id="cost-table")

        def show(self, snapshot: Snapshot, accounts: Sequence[Account]) -> None:
            section = self.section(snapshot)
            ...

Contract:

- The screen builds each pane with no arguments, puts it in a tab titled
  ``title`` and calls :meth:`CollectorPane.show` once the pane is mounted and
  again after every refresh. ``accounts`` is the team's accounts on the team
  screen and a one-element list on the account screen.
- ``show`` runs on the UI thread and must not block or reach AWS; it reads the
  snapshot only. It should update its widgets in place (``update_cell``,
  ``Static.update``) rather than remove and mount them, so that a refresh
  keeps the cursor and the scroll position.
- ``show`` may be called with a snapshot that has no section for the
  collector (not configured, not yet collected, an older stored snapshot):
  it shows a short notice instead of raising. An exception from ``show`` is
  logged and turned into a notification; the other tabs keep working.
- ``self.app.config`` is the loaded :class:`~collectors.config.Config`
  (collector settings through ``config.settings_for(name)``).
- :meth:`CollectorPane.apply_filter` receives the ``/`` filter text while the
  pane's tab is active; the default ignores it.

Modules in this package may also register overview cell contributors
(:mod:`tui.columns`) and org-wide ``:name`` views (:mod:`tui.views`), because
importing this package is what loads every TUI plugin.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from typing import Any, ClassVar

from textual.widget import Widget

from collectors.model import Account
from collectors.snapshot import Snapshot

_PANES: dict[str, type[CollectorPane]] = {}
_loaded = False


class CollectorPane(Widget):
    """Base class of a collector's tab on the team and account screens."""

    DEFAULT_CSS = """
    CollectorPane {
        height: 1fr;
    }
    """

    collector: ClassVar[str] = ""
    """Name of the collector whose snapshot section the pane reads."""
    title: ClassVar[str] = ""
    """Tab label."""
    order: ClassVar[int] = 100
    """Tab position; lower comes first, after the built-in first tab."""

    def show(self, snapshot: Snapshot, accounts: Sequence[Account]) -> None:
        """Paint the pane for ``accounts`` from ``snapshot``."""
        raise NotImplementedError

    def apply_filter(self, text: str) -> None:
        """Narrow the pane's rows to those containing ``text``; ignored by default."""

    def section(self, snapshot: Snapshot) -> dict[str, Any] | None:
        """Return this collector's section of the snapshot, or None."""
        return snapshot.sections.get(self.collector)


def register_pane(cls: type[CollectorPane]) -> type[CollectorPane]:
    """Class decorator adding a pane to the team and account screens."""
    if not cls.collector or not cls.title:
        raise ValueError(f"{cls.__name__} needs both collector and title")
    _PANES[cls.collector] = cls
    return cls


def load_all() -> None:
    """Import every module of this package once, so each registers itself."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def pane_classes() -> list[type[CollectorPane]]:
    """Return the registered pane classes in tab order."""
    load_all()
    return sorted(_PANES.values(), key=lambda cls: (cls.order, cls.title))
