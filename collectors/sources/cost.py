"""Cost: Cost Explorer spend per account, service, team and environment, with spikes.

One task in the management account reads the whole organization's daily
spend (see :mod:`collectors.cost.fetch`), because Cost Explorer bills every
request and its data changes only a few times a day. The section is reused
without any request while it is younger than ``ttl_hours``. The newest
``provisional_days`` days are still filling in and are marked, so spikes are
looked for on the newest complete day. Days are UTC dates, as Cost Explorer
counts them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from collectors.cost.fetch import fetch_costs
from collectors.cost.section import build_section, thresholds
from collectors.cost.settings import CostSettings, parse_settings
from collectors.model import Account, Alert, Severity
from collectors.registry import Collector, Scope, TaskContext, TaskResult, register
from collectors.tomlcheck import Table

RULE = "cost-spike"


@register
class CostCollector(Collector):
    """Reads daily spend from Cost Explorer and finds spikes."""

    name = "cost"
    title = "Cost"
    scope = Scope.ORG
    ttl_seconds = CostSettings().ttl_seconds
    order = 30

    def parse_config(self, table: Table) -> CostSettings:
        """Read the ``[cost]`` section."""
        return parse_settings(table)

    def ttl_for(self, settings: Any) -> float:
        """Return the configured reuse age of the stored section, in seconds."""
        return _settings(settings).ttl_seconds

    def reusable(self, section: dict[str, Any], settings: Any) -> bool:
        """Return whether the stored section used this metric, window and thresholds.

        A changed metric or threshold in the config takes effect at the next
        refresh instead of after ``ttl_hours``.
        """
        current = _settings(settings)
        return (
            section.get("metric") == current.metric
            and len(section.get("days", [])) == current.days
            and len(section.get("provisional", [])) == current.provisional_days
            and section.get("thresholds") == thresholds(current)
        )

    def disabled_reason(self, settings: Any) -> str | None:
        """Return why cost is not collected: only when the config turns it off."""
        if not _settings(settings).enabled:
            return "cost collection is disabled in the config ([cost] enabled = false)"
        return None

    async def collect(self, context: TaskContext) -> Any:
        """Read the last ``days`` complete and provisional days, ending yesterday."""
        settings = _settings(context.settings)
        today = settings.today or context.now.date()
        # The window ends before today (the end date is exclusive): today has
        # only a few hours recorded, and yesterday is already provisional.
        start = today - timedelta(days=settings.days)
        return await fetch_costs(context, settings.metric, start, today)

    def merge(
        self,
        results: Sequence[TaskResult],
        previous: dict[str, Any] | None,
        accounts: Sequence[Account],
        settings: Any,
    ) -> dict[str, Any]:
        """Build the section; keep the previous one when the request failed."""
        if not results:
            if previous:
                return previous
            return {"metric": _settings(settings).metric, "days": [], "spikes": []}
        return build_section(results[0].data, accounts, _settings(settings))

    def alerts(
        self, section: dict[str, Any], accounts: Sequence[Account], settings: Any
    ) -> list[Alert]:
        """Warn once per account with a spike, and per team with no flagged account."""
        by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
        team_spikes = []
        for spike in section.get("spikes", []):
            if spike["level"] == "team":
                team_spikes.append(spike)
            else:
                by_account[spike["account_id"]].append(spike)
        currency = section.get("currency", "USD")
        metric = section.get("metric", "")
        alerts = [
            Alert(
                Severity.WARNING,
                RULE,
                _account_summary(found, currency, metric),
                account_id,
            )
            for account_id, found in by_account.items()
        ]
        covered = {found[0]["team"] for found in by_account.values()}
        for spike in team_spikes:
            if spike["team"] not in covered:
                change = _change(spike, currency, metric)
                summary = f"cost spike in team {spike['team']}: {change}"
                alerts.append(Alert(Severity.WARNING, RULE, summary))
        return alerts


def _settings(settings: Any) -> CostSettings:
    return settings if isinstance(settings, CostSettings) else CostSettings()


def _account_summary(found: list[dict[str, Any]], currency: str, metric: str) -> str:
    """Describe an account's spike: the account total if flagged, else its services."""
    first = found[0]
    where = f"{first['account_name']} ({first['account_id']})"
    total = next((spike for spike in found if spike["level"] == "account"), None)
    if total is not None:
        return f"cost spike in {where}: {_change(total, currency, metric)}"
    parts = [
        f"{spike['service']} {_change(spike, currency, metric)}" for spike in found
    ]
    return f"cost spike in {where}: " + "; ".join(parts)


def _change(spike: dict[str, Any], currency: str, metric: str) -> str:
    percent = spike["increase_percent"]
    relative = f" (+{percent:.0f} %)" if percent is not None else " (new)"
    drivers = ", ".join(
        f"{driver['service']} +{currency} {_amount(driver['increase'])}"
        + (f" in {driver['account_name']}" if spike["level"] == "team" else "")
        for driver in spike["drivers"]
    )
    text = (
        f"+{currency} {_amount(spike['increase'])}{relative} on {spike['day']}, "
        f"{currency} {_amount(spike['amount'])} against a median of "
        f"{currency} {_amount(spike['baseline'])} a day ({metric})"
    )
    if drivers and spike["level"] != "service":
        text += f"; driven by {drivers}"
    return text


def _amount(text: str) -> str:
    return f"{float(text):,.2f}"
