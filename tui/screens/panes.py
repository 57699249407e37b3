"""Tabs shared by the team and account screens: a first tab, then the panes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from collectors.model import Account
from collectors.snapshot import Snapshot
from tui.panes import CollectorPane, pane_classes

log = logging.getLogger(__name__)


def pane_tabs() -> Iterable[TabPane]:
    """Yield one tab per registered collector pane."""
    for pane_class in pane_classes():
        yield TabPane(
            pane_class.title,
            pane_class(id=f"pane-{pane_class.collector}"),
            id=f"tab-{pane_class.collector}",
        )


def show_panes(root: Widget, snapshot: Snapshot, accounts: Sequence[Account]) -> None:
    """Call every pane's ``show``; a failing pane becomes a notification."""
    for pane in root.query(CollectorPane):
        try:
            pane.show(snapshot, accounts)
        except Exception as error:  # noqa: BLE001 - one pane must not break the screen
            log.exception("pane %s failed to show the snapshot", pane.collector)
            root.notify(
                f"The {pane.title} tab failed: {type(error).__name__}: {error}",
                severity="error",
            )


def active_pane(root: Widget) -> CollectorPane | None:
    """Return the collector pane of the active tab, or None for the first tab."""
    tabs = root.query_one(TabbedContent)
    active = tabs.active_pane
    if active is None:
        return None
    found = active.query(CollectorPane)
    return found.first() if found else None
