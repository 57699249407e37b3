"""Text for the access screens: levels, MFA, conditions, findings and filters.

The access pane, ``:access`` and ``:grants`` all read the ``iam`` section
through :mod:`collectors.access` and format it with these helpers, so one
grant reads the same wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from collectors.model import Severity
from collectors.snapshot import Snapshot
from tui.text import SEVERITY_STYLE, cell

SECTION = "iam"
LEVEL_STYLE = {
    "admin": "bold red",
    "power-user": "yellow",
    "custom": "cyan",
    "read-only": "green",
}
NO_MFA_MARK = "!"
"""Appended to a level that can be used without MFA."""
FINDING_SEVERITY = {
    "critical": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.OK,
}
FILTER_KEYS = ("user", "group", "team", "env")


def access_section(snapshot: Snapshot) -> dict[str, Any] | None:
    """Return the snapshot's ``iam`` section, or None when it has none."""
    return snapshot.sections.get(SECTION)


def missing_text(snapshot: Snapshot) -> str:
    """Explain why a snapshot has no access data."""
    states = [s for s in snapshot.states if s.collector == SECTION]
    if states:
        return f"IAM access is not collected: {states[0].detail or states[0].state}."
    failed = [e for e in snapshot.errors if e.collector == SECTION]
    if failed:
        return f"IAM access could not be read: {failed[0].kind} {failed[0].operation}."
    return "No IAM access data in this snapshot yet; press r to refresh."


def level_cell(level: str, mfa_required: bool = True) -> Text:
    """Return a level, coloured, marked when it is usable without MFA."""
    text = level if mfa_required else f"{level}{NO_MFA_MARK}"
    return cell(text, LEVEL_STYLE.get(level, ""))


def mfa_cell(grant: Mapping[str, Any]) -> Text:
    """Return ``MFA`` or ``no MFA``; red for an admin role without MFA."""
    if grant["mfa_required"]:
        return cell("MFA", "green")
    style = "bold red" if grant["level"] == "admin" else "yellow"
    return cell("no MFA", style)


def conditions_text(options: Sequence[Sequence[Mapping[str, Any]]]) -> str:
    """Describe a grant's options: ``MFA + source IP in ... or external id ...``."""
    described = [" + ".join(r["text"] for r in option) for option in options]
    if not any(described):
        return "-"
    return " or ".join(text or "nothing" for text in described)


def via_text(grant: Mapping[str, Any]) -> str:
    """Name the groups or the user's own policies the grant comes through."""
    names = []
    for origin in grant.get("via", []):
        if origin.startswith("group:"):
            names.append(origin.split(":", 1)[1])
        elif origin == "user":
            names.append("own policy")
        elif origin == "trust":
            names.append("trust names user")
    return ", ".join(names) or "-"


def finding_cell(finding: Mapping[str, Any]) -> Text:
    """Return a finding's severity, coloured as alerts are."""
    severity = FINDING_SEVERITY.get(str(finding["severity"]), Severity.UNKNOWN)
    return cell(str(finding["severity"]), SEVERITY_STYLE[severity])


def worst_finding(findings: Sequence[Mapping[str, Any]]) -> Severity:
    """Return the severity that colours a group of findings."""
    found = {FINDING_SEVERITY.get(str(f["severity"]), Severity.OK) for f in findings}
    for severity in (Severity.CRITICAL, Severity.WARNING):
        if severity in found:
            return severity
    return Severity.OK


def parse_filters(argument: str) -> tuple[dict[str, str], str | None]:
    """Read ``user=NAME group=NAME team=NAME env=NAME``; a bare word is a user.

    Returns the filters and, for an invalid one, the message to show.
    """
    filters: dict[str, str] = {}
    for token in argument.split():
        key, sign, value = token.partition("=")
        if not sign:
            key, value = "user", token
        if key not in FILTER_KEYS or not value:
            keys = ", ".join(f"{k}=NAME" for k in FILTER_KEYS)
            return {}, f"Invalid filter {token!r}; use {keys}."
        filters[key] = value
    return filters, None
