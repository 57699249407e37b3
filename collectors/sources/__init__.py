"""Built-in collectors, one module per source.

Every module in this package is imported by :func:`load_all`, and each
registers its collector class with :func:`collectors.registry.register`, so a
new source is one new module and no edit elsewhere.
"""

import importlib
import pkgutil


def load_all() -> None:
    """Import every module of this package."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


load_all()
