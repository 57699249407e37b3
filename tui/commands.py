"""Command palette entries and command-line completion.

Both read the same list: the app's own actions, every registered ``:`` view,
and one entry per team and per account of the current snapshot, so a person
can jump anywhere with ``ctrl+p`` or ``:`` and a few letters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.suggester import Suggester

from tui.matrix import team_sort_key
from tui.views import views

if TYPE_CHECKING:
    from tui.app import OrgtopApp

APP_COMMANDS = {
    "refresh": "refresh now",
    "quit": "quit orgtop",
    "help": "show the keys and commands",
}
"""Commands the app runs itself, besides the registered views."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One palette entry: what it shows and the command line it runs."""

    label: str
    command: str
    help: str


def entries(app: OrgtopApp) -> Iterator[Entry]:
    """Yield every palette entry: actions, views, teams, then accounts."""
    for name, description in APP_COMMANDS.items():
        yield Entry(f":{name}", name, description)
    for view in views():
        if not view.argument:
            yield Entry(f":{view.name}", view.name, view.description)
    snapshot = app.snapshot
    if snapshot is None:
        return
    for team in sorted({a.team for a in snapshot.accounts}, key=team_sort_key):
        yield Entry(f"team {team}", f"team {team}", "open the team screen")
    for account in sorted(snapshot.accounts, key=lambda a: a.name):
        yield Entry(
            f"account {account.name} ({account.id})",
            f"account {account.id}",
            f"{account.team} / {account.env}",
        )


class OrgtopCommands(Provider):
    """Palette provider for orgtop's commands, teams and accounts."""

    @property
    def orgtop(self) -> OrgtopApp:
        """The running app, typed."""
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        """List the actions and views before anything is typed."""
        for entry in entries(self.orgtop):
            if entry.label.startswith(":"):
                yield DiscoveryHit(entry.label, self._runner(entry), help=entry.help)

    async def search(self, query: str) -> Hits:
        """Match ``query`` against every entry."""
        matcher = self.matcher(query)
        for entry in entries(self.orgtop):
            score = matcher.match(entry.label)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(entry.label),
                    self._runner(entry),
                    help=entry.help,
                )

    def _runner(self, entry: Entry) -> Callable[[], None]:
        app = self.orgtop
        return lambda: app.run_command(entry.command)


class CommandSuggester(Suggester):
    """Completes ``:`` commands, and team or account names after them."""

    def __init__(self, app: OrgtopApp) -> None:
        """Complete against ``app``'s views and current snapshot."""
        super().__init__(use_cache=False, case_sensitive=False)
        self.orgtop = app

    async def get_suggestion(self, value: str) -> str | None:
        """Return the first known command line that starts with ``value``."""
        name, space, rest = value.partition(" ")
        if not space:
            names = [*APP_COMMANDS, *(view.name for view in views())]
            return next((n for n in sorted(names) if n.startswith(name)), None)
        for candidate in self._arguments(name):
            if candidate.lower().startswith(rest):
                return f"{name} {candidate}"
        return None

    def _arguments(self, name: str) -> list[str]:
        snapshot = self.orgtop.snapshot
        if snapshot is None:
            return []
        if name == "team":
            return sorted({a.team for a in snapshot.accounts})
        if name == "account":
            return sorted(a.name for a in snapshot.accounts)
        return []
