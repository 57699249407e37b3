"""The app's screens: overview, team, account, errors and the modal dialogs.

:func:`load_builtin` imports every module of this package, so the built-in
``:`` views (``errors``, ``team``, ``account``) are registered before the
command line or the palette reads the view registry.
"""

from __future__ import annotations

import importlib
import pkgutil

_loaded = False


def load_builtin() -> None:
    """Import the built-in screens once so they register their views."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
