"""Usage of quotas that have no usage metric, counted with a Describe call.

AWS publishes no CloudWatch usage metric for some quotas that run out in
practice, such as Elastic IP addresses, so their usage is counted with one
request per quota, account and region. These resources change slowly, so a
count is reused from the previous snapshot for ``count_ttl_minutes``
(default 60). A count that fails leaves the usage n/a and the task goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from collectors.quotas.settings import QuotaSettings
from collectors.quotas.values import fresh, partial_failure
from collectors.registry import TaskContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Counter:
    """How to count one quota's resources: service, operation and counting rule."""

    service: str
    operation: str
    count: Callable[[dict[str, Any]], float]


COUNTERS: dict[str, Counter] = {
    # EC2-VPC Elastic IPs. DescribeAddresses is not paginated: it returns every
    # address of the region, and EC2-Classic addresses no longer exist.
    "L-0263D0A3": Counter("ec2", "describe_addresses", lambda a: len(a["Addresses"])),
}


async def counted_usage(
    context: TaskContext, settings: QuotaSettings, codes: set[str]
) -> dict[str, Any]:
    """Return counted usage for the watched quotas that have a counter."""
    watched = sorted(code for code in codes if code in COUNTERS)
    if not watched or settings.count_ttl_minutes <= 0:
        return {"fetched_at": context.now.isoformat(), "values": {}}
    cached = _cached(context, settings)
    if cached is not None and set(watched) <= set(cached["values"]):
        return cached
    values: dict[str, float | None] = {}
    for code in watched:
        values[code] = await _count(context, code)
    return {"fetched_at": context.now.isoformat(), "values": values}


def _cached(context: TaskContext, settings: QuotaSettings) -> dict[str, Any] | None:
    if context.force or not context.previous or context.account is None:
        return None
    entry = (
        context.previous.get("counted", {})
        .get(context.account.id, {})
        .get(context.region)
    )
    ttl = timedelta(minutes=settings.count_ttl_minutes)
    if not entry or not fresh(entry, context.now, ttl):
        return None
    return entry  # type: ignore[no-any-return]


async def _count(context: TaskContext, code: str) -> float | None:
    counter = COUNTERS[code]
    client = await context.client(counter.service)
    try:
        answer = await context.call(client, counter.operation)
    except ClientError as error:
        result = partial_failure(error)
        log.warning(
            "counting usage of %s failed in account %s region %s: %s",
            code,
            context.account.id if context.account else "",
            context.region,
            result.code,
        )
        return None
    return counter.count(answer)
