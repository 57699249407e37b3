"""Service quotas: how close every account and region is to its limits.

Per account and enabled region, one task merges applied and default quota
values from Service Quotas, cached for ``value_ttl_hours``. It reads usage
and its daily history from CloudWatch in one ``GetMetricData`` call, counts
the few resources that have no usage metric, and computes utilization and
time to exhaustion in the client. A steady refresh therefore costs about one
request per account and region. :mod:`collectors.quotas` holds the parts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from collectors.model import Account, Alert, Severity
from collectors.quotas import counting, rows, usage, values
from collectors.quotas.settings import DEFAULT_SERVICES, QuotaSettings, parse_settings
from collectors.registry import Collector, Scope, TaskContext, TaskResult, register
from collectors.tomlcheck import Table

log = logging.getLogger(__name__)

ALERT_SEVERITIES = {"warning": Severity.WARNING, "critical": Severity.CRITICAL}


@register
class QuotasCollector(Collector):
    """Reads quota values and usage in every account and enabled region."""

    name = "quotas"
    title = "Quotas"
    scope = Scope.REGION
    order = 30
    partial = True

    def parse_config(self, table: Table) -> QuotaSettings:
        """Read the ``[quotas]`` section (see :mod:`collectors.quotas.settings`)."""
        return parse_settings(table)

    async def prepare(self, context: TaskContext) -> None:
        """Read each region's default quotas once, under the management role."""
        await values.prepare_catalogs(context, context.settings or QuotaSettings())

    async def collect(self, context: TaskContext) -> Any:
        """Collect one account and region's quota rows and the caches behind them."""
        settings = context.settings or QuotaSettings()
        account_id = context.account.id if context.account else ""
        catalog = await values.region_catalog(context, settings)
        quotas = _quotas_here(context, catalog)
        services = sorted({quota["service"] for quota in quotas})
        applied = await values.applied_values(context, settings, services)
        quotas += _applied_only(applied, catalog, quotas)
        counted = await counting.counted_usage(
            context, settings, {quota["code"] for quota in quotas}
        )
        measured = [
            quota
            for quota in quotas
            if quota["metric"] and quota["code"] not in counted["values"]
        ]
        found = await usage.read_usage(context, measured, settings.horizon_days)
        quota_rows = rows.build_rows(
            account_id, context.region, quotas, applied, found, counted, settings
        )
        return {
            "catalog": catalog,
            "applied": applied,
            "counted": counted,
            "rows": quota_rows,
        }

    def merge(
        self,
        results: Sequence[TaskResult],
        previous: dict[str, Any] | None,
        accounts: Sequence[Account],
        settings: Any,
    ) -> dict[str, Any]:
        """Gather rows ranked by utilization, and keep the caches for the next refresh.

        Caches of tasks that failed this time are carried over from the
        previous snapshot, so one failed refresh does not cost a full re-read.
        """
        settings = settings or QuotaSettings()
        prior = previous or {}
        catalogs = dict(prior.get("catalogs", {}))
        applied = {k: dict(v) for k, v in prior.get("applied", {}).items()}
        counted = {k: dict(v) for k, v in prior.get("counted", {}).items()}
        quota_rows = []
        collected: dict[str, list[str]] = {}
        for result in results:
            data = result.data
            catalogs[result.region] = data["catalog"]
            applied.setdefault(result.account_id, {})[result.region] = data["applied"]
            counted.setdefault(result.account_id, {})[result.region] = data["counted"]
            quota_rows.extend(data["rows"])
            collected.setdefault(result.account_id, []).append(result.region)
        quota_rows.sort(key=rows.rank_key)
        return {
            "thresholds": {
                "warning": settings.thresholds.warning,
                "critical": settings.thresholds.critical,
                "per_quota": {
                    code: {"warning": t.warning, "critical": t.critical}
                    for code, t in settings.per_quota.items()
                },
            },
            "horizon_days": settings.horizon_days,
            "rows": quota_rows,
            "collected": {k: sorted(v) for k, v in sorted(collected.items())},
            "disabled_regions": {
                a.id: list(a.disabled_regions) for a in accounts if a.disabled_regions
            },
            "catalogs": catalogs,
            "applied": applied,
            "counted": counted,
        }

    def keep_outside(
        self,
        section: dict[str, Any],
        previous: dict[str, Any],
        refreshed: frozenset[str],
    ) -> dict[str, Any]:
        """Add the previous rows and collected regions of the other accounts."""
        kept_rows = [
            row
            for row in previous.get("rows", [])
            if row["account_id"] not in refreshed
        ]
        collected = {
            account_id: regions
            for account_id, regions in previous.get("collected", {}).items()
            if account_id not in refreshed
        }
        collected.update(section.get("collected", {}))
        return {
            **section,
            "rows": sorted(kept_rows + section.get("rows", []), key=rows.rank_key),
            "collected": dict(sorted(collected.items())),
        }

    def alerts(
        self, section: dict[str, Any], accounts: Sequence[Account], settings: Any
    ) -> list[Alert]:
        """Return one alert per quota at warning or critical utilization."""
        settings = settings or QuotaSettings()
        by_id = {account.id: account for account in accounts}
        found = []
        for row in section.get("rows", []):
            level = rows.verdict(row, settings.thresholds_for(row["code"]))
            if level not in ALERT_SEVERITIES:
                continue
            account = by_id.get(row["account_id"])
            found.append(
                Alert(
                    ALERT_SEVERITIES[level],
                    "quota",
                    rows.alert_summary(row, account),
                    row["account_id"],
                    row["region"],
                )
            )
        found.extend(_coverage_alerts(section, accounts, settings))
        return found


def _coverage_alerts(
    section: dict[str, Any], accounts: Sequence[Account], settings: QuotaSettings
) -> list[Alert]:
    """Return unknown alerts when quotas that should be watched could not be read.

    Without them a typo in ``services`` or a Service Quotas outage would look
    like an organization with no quota near its limit.
    """
    catalogs = section.get("catalogs", {})
    alerts = []
    if catalogs:
        missing_everywhere = set(settings.services)
        for catalog in catalogs.values():
            missing_everywhere &= set(catalog.get("missing", []))
        explicit = settings.services != DEFAULT_SERVICES
        for service in sorted(missing_everywhere if explicit else ()):
            alerts.append(
                Alert(
                    Severity.UNKNOWN,
                    "quota",
                    f"quota service {service!r} was not found in any region; "
                    "check [quotas] services",
                )
            )
    active = any(account.active for account in accounts)
    if active and not section.get("rows"):
        alerts.append(
            Alert(Severity.UNKNOWN, "quota", "no quota could be read in any account")
        )
    return alerts


def _quotas_here(context: TaskContext, catalog: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the catalog quotas this task reads; global ones in the first region."""
    read_global = values.global_region(context)
    chosen = [q for q in catalog["quotas"].values() if read_global or not q["global"]]
    return sorted(chosen, key=lambda q: (q["service"], q["code"]))


def _applied_only(
    applied: dict[str, Any], catalog: dict[str, Any], quotas: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return quotas that have an applied value but no default in the catalog."""
    known = {quota["code"] for quota in quotas} | set(catalog["quotas"])
    services = {quota["service"] for quota in quotas}
    extra = []
    for code, record in sorted(applied["values"].items()):
        if code not in known and record["service"] in services:
            extra.append(record["info"])
    return extra
