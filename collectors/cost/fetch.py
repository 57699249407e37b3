"""Read daily spend from Cost Explorer with as few billed requests as possible.

Every ``GetCostAndUsage`` request, each page included, costs USD 0.01. One
grouped query (``LINKED_ACCOUNT`` and ``SERVICE``) covers the whole
organization from the management account, paged by hand with
``NextPageToken`` because botocore has no paginator for it, and one
ungrouped query gives the organization total for the same days.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from collectors.registry import TaskContext

log = logging.getLogger(__name__)

REQUEST_PRICE = Decimal("0.01")
"""USD billed per Cost Explorer API request, pages included (AWS pricing page)."""
MAX_PAGES = 2000
"""Guard against a server that keeps returning tokens."""


@dataclass
class RawCosts:
    """The amounts Cost Explorer returned for one window, before any summary."""

    start: date
    end: date
    metric: str
    currency: str = "USD"
    groups: dict[str, dict[str, dict[date, Decimal]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    """Amounts by account id, service and day."""
    totals: dict[date, Decimal] = field(default_factory=dict)
    estimated: set[date] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    @property
    def days(self) -> list[date]:
        """Every day of the window, oldest first."""
        count = (self.end - self.start).days
        return [self.start + timedelta(days=i) for i in range(count)]


async def fetch_costs(
    context: TaskContext, metric: str, start: date, end: date
) -> RawCosts:
    """Read grouped and total daily spend for ``[start, end)`` (UTC days)."""
    client = await context.client("ce")
    raw = RawCosts(start, end, metric)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [metric],
    }
    grouped = {
        **request,
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
            {"Type": "DIMENSION", "Key": "SERVICE"},
        ],
    }
    async for page in _pages(context, client, grouped, raw):
        _read_groups(page, raw)
    async for page in _pages(context, client, request, raw):
        _read_totals(page, raw)
    log.info(
        "cost: read %s for %s..%s in %d requests",
        metric,
        start,
        end - timedelta(days=1),
        raw.requests,
    )
    return raw


async def _pages(
    context: TaskContext, client: Any, request: dict[str, Any], raw: RawCosts
) -> Any:
    token = None
    for _ in range(MAX_PAGES):
        kwargs = {**request, "NextPageToken": token} if token else request
        page = await context.call(client, "get_cost_and_usage", **kwargs)
        raw.requests += 1
        yield page
        token = page.get("NextPageToken")
        if not token:
            return
    log.warning("cost: stopped after %d pages; the data may be incomplete", MAX_PAGES)


def _read_groups(page: dict[str, Any], raw: RawCosts) -> None:
    for entry in page.get("ResultsByTime", []):
        day = _day(entry, raw)
        if day is None:
            continue
        for group in entry.get("Groups", []):
            account_id, service = group["Keys"]
            amount = group["Metrics"][raw.metric]
            raw.currency = amount.get("Unit") or raw.currency
            services = raw.groups[account_id]
            services[service][day] = services[service].get(day, Decimal(0)) + Decimal(
                amount["Amount"]
            )
    for attribute in page.get("DimensionValueAttributes", []):
        name = attribute.get("Attributes", {}).get("description")
        if name:
            raw.names[attribute["Value"]] = name


def _read_totals(page: dict[str, Any], raw: RawCosts) -> None:
    for entry in page.get("ResultsByTime", []):
        day = _day(entry, raw)
        if day is None:
            continue
        amount = entry.get("Total", {}).get(raw.metric)
        if amount is not None:
            raw.totals[day] = Decimal(amount["Amount"])


def _day(entry: dict[str, Any], raw: RawCosts) -> date | None:
    """Return a result's day, noting its Estimated flag; None outside the window."""
    day = date.fromisoformat(entry["TimePeriod"]["Start"][:10])
    if not raw.start <= day < raw.end:
        log.warning("cost: ignored a result for %s outside the requested window", day)
        return None
    if entry.get("Estimated"):
        raw.estimated.add(day)
    return day
