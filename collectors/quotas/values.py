"""Quota values from Service Quotas, read rarely and cached in the snapshot.

``ListServiceQuotas`` returns only the quotas that have an applied value in
the calling account and region, so the values are merged with
``ListAWSDefaultServiceQuotas``. Defaults are the same for every account: a
region's defaults are read once per refresh by whichever task gets there
first, and reused from the previous snapshot while they are younger than
``value_ttl_hours``. Applied values are cached per account and region the
same way. A service whose quotas are all global is read once per account,
in the account's first enabled region.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from collectors.errors import Classified, classify
from collectors.model import ErrorKind
from collectors.quotas.settings import QuotaSettings
from collectors.registry import TaskContext

log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""Largest ``MaxResults`` Service Quotas accepts."""
UNREADABLE_RETRY = timedelta(hours=1)
"""How long a denied ``ListServiceQuotas`` is remembered before it is tried again."""
GLOBAL_REGION = "global"
"""Region label of rows for global quotas, which apply to the whole account."""


def quota_info(document: dict[str, Any]) -> dict[str, Any]:
    """Convert a ``ServiceQuota`` document to the catalog entry kept in the snapshot."""
    metric = document.get("UsageMetric") or {}
    usage = None
    if metric.get("MetricNamespace") and metric.get("MetricName"):
        usage = {
            "namespace": metric["MetricNamespace"],
            "name": metric["MetricName"],
            "dimensions": dict(metric.get("MetricDimensions") or {}),
            "statistic": metric.get("MetricStatisticRecommendation") or "Maximum",
        }
    return {
        "service": document["ServiceCode"],
        "code": document["QuotaCode"],
        "name": document.get("QuotaName", document["QuotaCode"]),
        "unit": document.get("Unit") or "None",
        "global": bool(document.get("GlobalQuota")),
        "adjustable": bool(document.get("Adjustable")),
        "default": document.get("Value"),
        "metric": usage,
    }


async def prepare_catalogs(context: TaskContext, settings: QuotaSettings) -> None:
    """Read the defaults of every region the accounts use, before the tasks run.

    Runs under the management account's role, outside the tasks' timeouts: a
    region's 18 default services take about 2 s at 10 requests a second. A
    region that fails here is read by its first task instead.
    """
    regions = sorted({r for a in context.accounts if a.active for r in a.regions})
    outcomes = await asyncio.gather(
        *(region_catalog(context, settings, region) for region in regions),
        return_exceptions=True,
    )
    for region, outcome in zip(regions, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            log.warning(
                "quota defaults in %s not read before the tasks: %s", region, outcome
            )


async def region_catalog(
    context: TaskContext, settings: QuotaSettings, region: str = ""
) -> dict[str, Any]:
    """Return the default quotas of a region (the task's by default), read once.

    Tasks of one refresh share the entry through ``context.scratch``. A lock
    per region makes the others wait for the first reader, and if that reader
    fails, the next one tries under its own role.
    """
    region = region or context.region
    key = f"catalog:{region}"
    lock = context.scratch.setdefault(f"catalog-lock:{region}", asyncio.Lock())
    async with lock:
        entry = context.scratch.get(key)
        if entry is None:
            entry = _cached_catalog(context, settings, region)
        if entry is None:
            entry = await _read_defaults(context, settings.services, region)
        context.scratch[key] = entry
    return entry  # type: ignore[no-any-return]


def _cached_catalog(
    context: TaskContext, settings: QuotaSettings, region: str
) -> dict[str, Any] | None:
    if context.force or not context.previous:
        return None
    entry = context.previous.get("catalogs", {}).get(region)
    if not entry or entry.get("services") != list(settings.services):
        return None
    if not fresh(entry, context.now, timedelta(hours=settings.value_ttl_hours)):
        return None
    return entry  # type: ignore[no-any-return]


async def _read_defaults(
    context: TaskContext, services: tuple[str, ...], region: str
) -> dict[str, Any]:
    client = await context.client("service-quotas", region)
    quotas: dict[str, dict[str, Any]] = {}
    missing = []
    for service in services:
        try:
            documents = await _all_pages(
                context, client, "list_aws_default_service_quotas", ServiceCode=service
            )
        except ClientError as error:
            if classify(error).kind is not ErrorKind.NOT_FOUND:
                raise
            missing.append(service)
            continue
        for document in documents:
            info = quota_info(document)
            quotas[info["code"]] = info
    log.info(
        "quota defaults read in %s: %d quotas, services not found: %s",
        region,
        len(quotas),
        ", ".join(missing) or "none",
    )
    return {
        "fetched_at": context.now.isoformat(),
        "services": list(services),
        "quotas": quotas,
        "missing": missing,
    }


async def applied_values(
    context: TaskContext, settings: QuotaSettings, services: list[str]
) -> dict[str, Any]:
    """Return applied values of ``services`` in the task's account and region.

    A cached entry is reused while younger than ``value_ttl_hours``; a
    service whose read was denied is tried again after an hour. A denied
    read is a state of the service, not a failure of the task: its quotas
    show the default with the applied value unknown.
    """
    cached = _cached_applied(context, settings)
    entry: dict[str, Any] = {
        "fetched_at": context.now.isoformat(),
        "values": {},
        "unreadable": {},
        "services": [],
    }
    todo = list(services)
    if cached is not None:
        entry = cached
        todo = [s for s in services if _needs_read(cached, s, context.now)]
    if not todo:
        return entry
    entry = {
        **entry,
        "values": dict(entry["values"]),
        "unreadable": dict(entry["unreadable"]),
    }
    client = await context.client("service-quotas")
    for service in todo:
        await _read_service(context, client, service, entry)
    entry["services"] = sorted(set(entry["services"]) | set(todo))
    return entry


def _cached_applied(
    context: TaskContext, settings: QuotaSettings
) -> dict[str, Any] | None:
    if context.force or not context.previous or context.account is None:
        return None
    by_region = context.previous.get("applied", {}).get(context.account.id, {})
    entry = by_region.get(context.region)
    if not entry or not fresh(
        entry, context.now, timedelta(hours=settings.value_ttl_hours)
    ):
        return None
    return entry  # type: ignore[no-any-return]


def _needs_read(entry: dict[str, Any], service: str, now: datetime) -> bool:
    if service not in entry["services"]:
        return True
    denied = entry["unreadable"].get(service)
    if denied is None:
        return False
    return now - datetime.fromisoformat(denied["at"]) >= UNREADABLE_RETRY


async def _read_service(
    context: TaskContext, client: Any, service: str, entry: dict[str, Any]
) -> None:
    for code in [c for c, v in entry["values"].items() if v["service"] == service]:
        del entry["values"][code]
    try:
        documents = await _all_pages(
            context, client, "list_service_quotas", ServiceCode=service
        )
    except ClientError as error:
        result = partial_failure(error)
        log.warning(
            "reading applied quota values of %s failed in account %s region %s: %s",
            service,
            context.account.id if context.account else "",
            context.region,
            result.code,
        )
        entry["unreadable"][service] = {
            "code": result.code,
            "at": context.now.isoformat(),
        }
        return
    entry["unreadable"].pop(service, None)
    for document in documents:
        entry["values"][document["QuotaCode"]] = {
            "service": service,
            "value": document.get("Value"),
            "info": quota_info(document),
        }


async def _all_pages(
    context: TaskContext, client: Any, operation: str, **arguments: Any
) -> list[dict[str, Any]]:
    """Call a Service Quotas list operation page by page through the rate limiter."""
    documents: list[dict[str, Any]] = []
    token = None
    while True:
        page_arguments = {**arguments, "MaxResults": PAGE_SIZE}
        if token:
            page_arguments["NextToken"] = token
        answer = await context.call(client, operation, **page_arguments)
        documents.extend(answer.get("Quotas", []))
        token = answer.get("NextToken")
        if not token:
            return documents


def partial_failure(error: ClientError) -> Classified:
    """Classify a failed call that leaves only some values of a task unknown.

    A disabled region is a state of the whole task and expired credentials
    are renewed by the fan-out, so both are raised again. So is throttling
    that outlasted botocore's retries: the next service's read would wait
    through the same backoff, and a dozen of them overrun the task timeout.
    """
    result = classify(error)
    if result.state is not None or result.kind in (
        ErrorKind.EXPIRED_CREDENTIALS,
        ErrorKind.THROTTLED,
    ):
        raise error
    return result


def global_region(context: TaskContext) -> bool:
    """Return whether this task reads the account's global quotas (first region)."""
    account = context.account
    return (
        account is not None
        and bool(account.regions)
        and (account.regions[0] == context.region)
    )


def fresh(entry: dict[str, Any], now: datetime, ttl: timedelta) -> bool:
    """Return whether a cached entry's ``fetched_at`` is younger than ``ttl``."""
    fetched = entry.get("fetched_at")
    if not fetched:
        return False
    return now - datetime.fromisoformat(fetched) < ttl
