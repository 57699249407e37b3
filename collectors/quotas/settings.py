"""The ``[quotas]`` config section: watched services, thresholds, cache times.

Example::

    [quotas]
    services = ["ec2", "lambda", "vpc"]   # Service Quotas service codes
    warning = 80                          # percent of the quota's value
    critical = 95
    value_ttl_hours = 24                  # how long quota values are reused
    count_ttl_minutes = 60                # how long counted usage is reused
    horizon_days = 14                     # usage history for time to exhaustion

    [quotas.thresholds.L-1216C47A]        # per quota code; either key may be left out
    warning = 70
    critical = 90
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors.tomlcheck import Table

DEFAULT_SERVICES = (
    "ec2",
    "ebs",
    "vpc",
    "elasticloadbalancing",
    "lambda",
    "dynamodb",
    "rds",
    "ecs",
    "fargate",
    "eks",
    "cloudformation",
    "iam",
    "s3",
    "kms",
    "sns",
    "sqs",
    "apigateway",
    "autoscaling",
)
"""Service codes watched when the config names none: compute, network, data
stores, containers, deployment, identity and messaging quotas that stop
deploys or scaling when they run out."""

SERVICE_CODE = re.compile(r"^[a-z][a-z0-9-]*$")
QUOTA_CODE = re.compile(r"^L-[0-9A-F]{8}$")
MAX_HORIZON_DAYS = 90


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Utilization percentages at which a quota is at warning and critical."""

    warning: float = 80.0
    critical: float = 95.0


@dataclass(frozen=True)
class QuotaSettings:
    """Parsed ``[quotas]`` section."""

    services: tuple[str, ...] = DEFAULT_SERVICES
    thresholds: Thresholds = Thresholds()
    per_quota: dict[str, Thresholds] = field(default_factory=dict)
    value_ttl_hours: float = 24.0
    count_ttl_minutes: float = 60.0
    """0 turns counting off: quotas without a usage metric then show usage n/a."""
    horizon_days: int = 14

    def thresholds_for(self, code: str) -> Thresholds:
        """Return the thresholds of a quota code: its own, else the global ones."""
        return self.per_quota.get(code, self.thresholds)


def parse_settings(table: Table) -> QuotaSettings:
    """Read and validate the ``[quotas]`` section."""
    services = tuple(table.strings("services", list(DEFAULT_SERVICES)))
    for service in services:
        if not SERVICE_CODE.match(service):
            raise table.error(
                "services", f"{service!r} is not a Service Quotas service code like ec2"
            )
    thresholds = _thresholds(table, Thresholds())
    per_quota = {}
    overrides = table.table("thresholds")
    for code in overrides.data:
        if not QUOTA_CODE.match(code):
            raise overrides.error(code, "keys must be quota codes like L-1216C47A")
        entry = overrides.table(code)
        per_quota[code] = _thresholds(entry, thresholds)
        entry.done()
    overrides.done()
    settings = QuotaSettings(
        services=services,
        thresholds=thresholds,
        per_quota=per_quota,
        value_ttl_hours=_at_least(table, "value_ttl_hours", 24.0, 0.0),
        count_ttl_minutes=_at_least(table, "count_ttl_minutes", 60.0, 0.0),
        horizon_days=table.get("horizon_days", int, 14),
    )
    if not 3 <= settings.horizon_days <= MAX_HORIZON_DAYS:
        raise table.error(
            "horizon_days", f"must be between 3 and {MAX_HORIZON_DAYS} days"
        )
    table.done()
    return settings


def _thresholds(table: Table, defaults: Thresholds) -> Thresholds:
    warning = table.get("warning", float, defaults.warning)
    critical = table.get("critical", float, defaults.critical)
    if not 0 < warning <= critical:
        key = "warning" if table.has("warning") else "critical"
        raise table.error(
            key,
            f"needs 0 < warning <= critical, got warning {warning} and "
            f"critical {critical} (percent)",
        )
    return Thresholds(warning, critical)


def _at_least(table: Table, key: str, default: float, minimum: float) -> float:
    value = table.get(key, float, default)
    if value < minimum:
        raise table.error(key, f"must be {minimum:g} or more")
    return value
