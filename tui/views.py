"""Org-wide views reached from the command line with ``:name``.

A view is a :class:`~tui.screens.base.DataScreen` subclass registered under a
command name::

    @register_view("quotas", description="quotas by utilization, highest first")
    class QuotasView(DataScreen):
        def compose_body(self) -> ComposeResult:
            yield DataTable(id="quotas")

        def show(self, snapshot: Snapshot) -> None:
            ...

Contract:

- ``:quotas`` (and the command palette) builds the screen as
  ``QuotasView(argument)``, where ``argument`` is the rest of the command line
  (``""`` when none; ``:team payments`` passes ``"payments"``). Set
  ``argument="NAME"`` when registering to show it in help.
- Before the screen is pushed, the app calls the class method
  ``check_argument(snapshot, argument)``; a returned string is shown as an
  error and the screen is not opened.
- The app calls ``show(snapshot)`` when the screen is mounted, after every
  refresh while it is on top, and when it comes back on top after a refresh.
  ``show`` must update its widgets in place and read the snapshot only.
- The screen inherits the header, the footer, the ``:`` command line, the
  ``/`` filter (``apply_filter(text)``) and ``escape`` to go back.

Register from a module in ``tui/panes/`` (imported by
:func:`tui.panes.load_all`). The built-in ``:errors``, ``:team`` and
``:account`` use this registry too, so a name given twice replaces the
earlier view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.screens.base import DataScreen


@dataclass(frozen=True, slots=True)
class View:
    """A command name and the screen it opens."""

    name: str
    screen: type[DataScreen]
    description: str = ""
    argument: str = ""
    """Placeholder of the argument in help (``NAME``); empty when none is taken."""


_VIEWS: dict[str, View] = {}


def register_view(
    name: str, *, description: str = "", argument: str = ""
) -> Callable[[type[DataScreen]], type[DataScreen]]:
    """Class decorator registering a screen as the view ``:name``."""

    def decorate(screen: type[DataScreen]) -> type[DataScreen]:
        _VIEWS[name] = View(name, screen, description, argument)
        return screen

    return decorate


def views() -> list[View]:
    """Return every registered view, sorted by name."""
    from tui.panes import load_all
    from tui.screens import load_builtin

    load_builtin()
    load_all()
    return sorted(_VIEWS.values(), key=lambda view: view.name)


def find_view(name: str) -> View | None:
    """Return the view registered as ``name``, or None."""
    for view in views():
        if view.name == name:
            return view
    return None
