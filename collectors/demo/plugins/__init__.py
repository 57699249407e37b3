"""Server-side additions to moto, one module per AWS service or source.

Each module registers handlers for the operations moto lacks or answers
wrongly (``@handler``), seeders that fill moto's backends from the scenario
(``@seeder``) and, where it owns one, a scenario section parser. Every
module here is imported by :func:`load_all`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

Response = tuple[int, dict[str, str], bytes]
Handler = Callable[["DemoWorld", "WireRequest"], Response]
Seeder = Callable[["DemoWorld"], None]

HANDLERS: dict[tuple[str, str], Handler] = {}
SEEDERS: list[tuple[int, Seeder]] = []
CONFIGURERS: list[Callable[[DemoWorld, Any], None]] = []
"""Functions that point a collector's settings at the demo (keys, endpoints)."""
STOPPERS: list[Callable[[DemoWorld], None]] = []
"""Functions that stop servers a plugin started beside moto."""


def handler(service: str, operation: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``service`` (botocore name) and ``operation``."""

    def decorate(function: Handler) -> Handler:
        HANDLERS[(service, operation)] = function
        return function

    return decorate


def seeder(order: int = 50) -> Callable[[Seeder], Seeder]:
    """Register a function that seeds moto's backends; lower order runs first."""

    def decorate(function: Seeder) -> Seeder:
        if function not in [s for _, s in SEEDERS]:
            SEEDERS.append((order, function))
        return function

    return decorate


def demo_config(
    function: Callable[[DemoWorld, Any], None],
) -> Callable[[DemoWorld, Any], None]:
    """Register a function that adjusts a :class:`Config` for the demo world."""
    if function not in CONFIGURERS:
        CONFIGURERS.append(function)
    return function


def stopper(function: Callable[[DemoWorld], None]) -> Callable[[DemoWorld], None]:
    """Register a function run when the demo world stops."""
    if function not in STOPPERS:
        STOPPERS.append(function)
    return function


def seeders() -> list[Seeder]:
    """Return the seeders in order."""
    load_all()
    return [function for _, function in sorted(SEEDERS, key=lambda item: item[0])]


def load_all() -> None:
    """Import every plugin module of this package."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def expect(condition: bool, message: str) -> None:
    """Raise a validation error (rendered as AWS's ValidationException)."""
    if not condition:
        raise ValidationError(message)


class ValidationError(Exception):
    """A request the real API would reject as invalid."""


def paginate(
    items: list[Any], token: str | None, max_results: int | None, default: int = 100
) -> tuple[list[Any], str | None]:
    """Page a list as AWS does: opaque ``NextToken``, honouring ``MaxResults``."""
    start = int(token) if token and token.isdigit() else 0
    size = max_results or default
    page = items[start : start + size]
    following = start + size
    return page, (str(following) if following < len(items) else None)
