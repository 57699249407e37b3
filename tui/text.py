"""Small text helpers shared by the screens: ages, identities, severities."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from collectors.model import Severity

SEVERITY_STYLE = {
    Severity.OK: "green",
    Severity.WARNING: "yellow",
    Severity.UNKNOWN: "magenta",
    Severity.CRITICAL: "bold red",
}
"""Colour of each severity; unknown is what collection errors show as."""

PRODUCTION_MARK = "⚑"
PRODUCTION_STYLE = "bold red"


def cell(text: str, style: str = "") -> Text:
    """Return a one-line table cell that ends in an ellipsis when cut."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


def format_age(then: datetime, now: datetime) -> str:
    """Format how long ago ``then`` was: ``just now``, ``4 min ago``, ``2 h ago``."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def short_identity(arn: str) -> str:
    """Shorten an IAM or STS ARN to ``name (account)`` for the header."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn
    account, resource = parts[4], parts[5]
    kind, _, path = resource.partition("/")
    if kind == "user":
        name = path.rsplit("/", 1)[-1]
    elif kind == "assumed-role":
        name = path
    else:
        name = resource
    return f"{name} ({account})" if account else name


def env_label(env: str, production: bool) -> Text:
    """Return an environment name, with the production mark when it is one."""
    label = Text(env, no_wrap=True, overflow="ellipsis", end="")
    if production:
        label.append(f" {PRODUCTION_MARK}", style=PRODUCTION_STYLE)
    return label


def plural(count: int, noun: str) -> str:
    """Return ``1 error`` or ``2 errors``: the count and the noun in agreement."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
