"""``orgtop check``: evaluate every registered alert rule on a snapshot.

Exit codes follow the monitoring-plugin convention: 0 OK, 1 warning,
2 critical, 3 unknown. A failed collection makes the result unknown for the
accounts it hides, but a critical finding elsewhere still wins, because an
operator must see it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collectors import registry
from collectors.config import Config
from collectors.model import Alert, Severity
from collectors.snapshot import Snapshot


@dataclass
class CheckResult:
    """Alerts found and the exit status they give."""

    alerts: list[Alert]

    @property
    def status(self) -> Severity:
        """Return the overall severity: critical, then unknown, then warning."""
        found = {alert.severity for alert in self.alerts}
        for severity in (Severity.CRITICAL, Severity.UNKNOWN, Severity.WARNING):
            if severity in found:
                return severity
        return Severity.OK

    def summary(self) -> str:
        """Return the first output line, as monitoring plugins print it."""
        counts = {s: sum(1 for a in self.alerts if a.severity is s) for s in Severity}
        parts = [
            f"{counts[s]} {s.name.lower()}"
            for s in (Severity.CRITICAL, Severity.WARNING, Severity.UNKNOWN)
            if counts[s]
        ]
        detail = ", ".join(parts) if parts else "no alerts"
        return f"ORGTOP {self.status.name} - {detail}"


def evaluate(snapshot: Snapshot, config: Config) -> CheckResult:
    """Run every collector's alert rules and the collection-failure rule."""
    alerts: list[Alert] = []
    for collector in registry.collectors():
        section = snapshot.sections.get(collector.name)
        if section is None:
            continue
        settings = config.settings_for(collector.name)
        alerts.extend(collector.alerts(section, snapshot.accounts, settings))
    alerts.extend(collection_alerts(snapshot))
    order = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2}
    alerts.sort(key=lambda a: (order.get(a.severity, 3), a.rule, a.summary))
    return CheckResult(alerts)


def collection_alerts(snapshot: Snapshot) -> Sequence[Alert]:
    """Return one unknown alert per account and collector that failed."""
    names = {account.id: account.name for account in snapshot.accounts}
    seen: set[tuple[str, str]] = set()
    alerts = []
    for error in snapshot.errors:
        key = (error.account_id, error.collector)
        if key in seen:
            continue
        seen.add(key)
        name = names.get(error.account_id, error.account_id)
        alerts.append(
            Alert(
                Severity.UNKNOWN,
                "collection",
                f"{error.collector} failed for {name} ({error.account_id}): "
                f"{error.kind} {error.operation} {error.code}".rstrip(),
                error.account_id,
                error.region,
            )
        )
    return alerts
