"""Data side of orgtop: inventory, credentials, fan-out, collectors and the store.

Nothing in this package imports Textual, Rich or the ``tui`` package; the
architecture test in ``tests/collectors/test_architecture.py`` enforces it.
"""

__version__ = "0.1.0"
