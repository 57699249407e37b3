"""Cost Explorer ``GetCostAndUsage`` served from the scenario's ``[cost]`` section.

moto's own ``GetCostAndUsage`` ignores the request and replays queued
results. This handler reads the time window, granularity, metrics, group-by
dimensions and a simple dimension filter, and pages the groups with an
opaque ``NextPageToken`` as Cost Explorer does, so a client must page by
hand. The management account sees every account; a member account sees
only its own spend. Payer-level charges show only in ungrouped totals.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from collectors.demo.plugins import (
    Response,
    ValidationError,
    demo_config,
    expect,
    handler,
)
from collectors.demo.plugins.costmodel import COST_METRICS, CostScenario
from collectors.demo.wire import error_response, json_response

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

SERVED_DIMENSIONS = ("LINKED_ACCOUNT", "SERVICE")
USAGE_METRICS = ("UsageQuantity", "NormalizedUsageAmount")
GROUP_DIMENSIONS = (
    "AZ, INSTANCE_TYPE, LINKED_ACCOUNT, OPERATION, PURCHASE_TYPE, SERVICE, USAGE_TYPE, "
    "PLATFORM, TENANCY, RECORD_TYPE, LEGAL_ENTITY_NAME, INVOICING_ENTITY, "
    "DEPLOYMENT_OPTION, DATABASE_ENGINE, CACHE_ENGINE, INSTANCE_TYPE_FAMILY, REGION"
)
HISTORY_MONTHS = 14
"""Cost Explorer keeps 14 months of daily data (38 with multi-year history)."""

Amounts = dict[tuple[str, str], Decimal]
Item = tuple[int, tuple[str, ...] | None, dict[str, Decimal]]
"""A group of a period: index, keys and amounts; keys are None for an empty period."""


@dataclass(frozen=True)
class Query:
    """A validated ``GetCostAndUsage`` request, without its page token."""

    start: date
    end: date
    granularity: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    accounts: frozenset[str] | None
    services: frozenset[str] | None
    digest: str


@demo_config
def count_days_from_scenario_date(world: DemoWorld, config: Any) -> None:
    """Make the cost collector count days back from the scenario's date."""
    settings = config.settings_for("cost")
    if settings is not None:
        config.collector_settings["cost"] = replace(
            settings, today=world.scenario.today
        )


@handler("ce", "GetCostAndUsage")
def get_cost_and_usage(world: DemoWorld, request: WireRequest) -> Response:
    """Return one page of daily or monthly spend from the scenario."""
    body = request.json()
    section: CostScenario = world.scenario.sections["cost"]
    query = parse_query(body, section)
    if request.account != world.scenario.management.id:
        own = frozenset({request.account})
        query = _restricted(
            query, own if query.accounts is None else query.accounts & own
        )
    offset = _offset(request, body.get("NextPageToken"), query)
    if isinstance(offset, tuple):
        return offset
    periods = _periods(query)
    if not query.group_by:
        results = [_total_entry(world, section, query, period) for period in periods]
        return json_response({"ResultsByTime": results, "DimensionValueAttributes": []})
    items = _grouped_items(world, section, query, periods)
    page = items[offset : offset + section.page_size]
    answer: dict[str, Any] = {
        "GroupDefinitions": [
            {"Type": "DIMENSION", "Key": key} for key in query.group_by
        ],
        "ResultsByTime": _page_entries(section, query, periods, page),
        "DimensionValueAttributes": _account_names(section, query, page),
    }
    if offset + section.page_size < len(items):
        answer["NextPageToken"] = _token(offset + section.page_size, query.digest)
    return json_response(answer)


def parse_query(body: dict[str, Any], section: CostScenario) -> Query:
    """Validate a request as Cost Explorer does and return the query it describes."""
    period = body.get("TimePeriod") or {}
    start = _date(period.get("Start", ""))
    end = _date(period.get("End", ""))
    _check_window(start, end, section.today)

    granularity = body.get("Granularity", "")
    expect(
        granularity in ("DAILY", "MONTHLY"),
        f"Granularity {granularity} is not supported",
    )
    metrics = tuple(body.get("Metrics") or ())
    expect(bool(metrics), "Metrics must contain at least one metric")
    for metric in metrics:
        expect(metric not in USAGE_METRICS, f"the demo world does not serve {metric}")
        expect(metric in COST_METRICS, f"Invalid metric: {metric}")
    group_by = _group_by(body.get("GroupBy") or [])
    accounts, services = _filter(body.get("Filter"))

    unpaged = {key: value for key, value in body.items() if key != "NextPageToken"}
    digest = hashlib.sha256(json.dumps(unpaged, sort_keys=True).encode()).hexdigest()
    return Query(start, end, granularity, metrics, group_by, accounts, services, digest)


def _check_window(start: date, end: date, today: date) -> None:
    expect(start < end, "Start date (and hour) should be before end date (and hour)")
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    expect(end <= next_month, "end date past the beginning of next month")
    # NOTE: the wording of this and the following demo messages is not
    # confirmed against Cost Explorer; only the condition is documented.
    expect(start <= today, "Start date must be on or before the current date")
    oldest = _months_before(today, HISTORY_MONTHS)
    expect(
        start >= oldest or start.day == 1,
        "To retrieve data beyond the past 14 months, your start date needs to be "
        "the first day of the month.",
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValidationError(f"Invalid date {text!r}; expected YYYY-MM-DD") from None


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, 1)


def _group_by(groups: list[dict[str, str]]) -> tuple[str, ...]:
    expect(len(groups) <= 2, "GroupBy accepts at most two group definitions")
    keys = []
    for group in groups:
        kind, key = group.get("Type", ""), group.get("Key", "")
        expect(
            bool(kind and key),
            "Group Definition is invalid. "
            "Both type an key need to be set to a non-empty value.",
        )
        expect(
            kind in ("DIMENSION", "TAG", "COST_CATEGORY"),
            "Group Definition type is invalid.",
        )
        expect(kind == "DIMENSION", f"the demo world does not group by {kind}")
        expect(
            key in GROUP_DIMENSIONS.split(", "),
            "Group Definition dimension is invalid. "
            f"Valid values are {GROUP_DIMENSIONS}",
        )
        expect(key in SERVED_DIMENSIONS, f"the demo world does not group by {key}")
        keys.append(key)
    return tuple(keys)


def _filter(
    expression: dict[str, Any] | None,
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """Read a filter of one or two ``Dimensions`` conditions joined by ``And``."""
    if not expression:
        return None, None
    parts = expression.get("And") or [expression]
    chosen: dict[str, frozenset[str]] = {}
    for part in parts:
        condition = part.get("Dimensions")
        expect(
            condition is not None and set(part) == {"Dimensions"},
            "the demo world filters only on Dimensions, joined by And",
        )
        key = condition.get("Key", "")
        expect(key in SERVED_DIMENSIONS, f"the demo world does not filter on {key}")
        expect(
            condition.get("MatchOptions") in (None, ["EQUALS"]),
            "the demo world matches only EQUALS",
        )
        chosen[key] = frozenset(condition.get("Values") or ())
    return chosen.get("LINKED_ACCOUNT"), chosen.get("SERVICE")


def _restricted(query: Query, accounts: frozenset[str]) -> Query:
    return Query(
        query.start,
        query.end,
        query.granularity,
        query.metrics,
        query.group_by,
        accounts,
        query.services,
        query.digest,
    )


def _offset(request: WireRequest, token: str | None, query: Query) -> int | Response:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, digest = int(decoded["offset"]), str(decoded["request"])
    except (ValueError, KeyError, TypeError):
        # NOTE: Cost Explorer's message for a malformed token is not confirmed.
        return error_response(
            request, "InvalidNextTokenException", "The pagination token is invalid."
        )
    if digest != query.digest:
        return error_response(
            request,
            "RequestChangedException",
            "Your request parameters changed between pages. Try again with the old "
            "parameters or without a pagination token.",
        )
    return offset


def _token(offset: int, digest: str) -> str:
    payload = json.dumps({"offset": offset, "request": digest}).encode()
    return base64.urlsafe_b64encode(payload).decode()


def _periods(query: Query) -> list[tuple[date, date]]:
    if query.granularity == "DAILY":
        count = (query.end - query.start).days
        return [
            (query.start + timedelta(days=i), query.start + timedelta(days=i + 1))
            for i in range(count)
        ]
    periods = []
    start = query.start
    while start < query.end:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        periods.append((start, min(following, query.end)))
        start = following
    return periods


def day_costs(
    world: DemoWorld, section: CostScenario, metric: str, day: date
) -> Amounts:
    """Return one day's amounts of a metric, computed once per world."""
    cache: dict[tuple[str, date], Amounts] = world.extra.setdefault("cost_days", {})
    key = (metric, day)
    if key not in cache:
        cache[key] = section.costs(metric, day)
    return cache[key]


def _period_costs(
    world: DemoWorld,
    section: CostScenario,
    query: Query,
    period: tuple[date, date],
    metric: str,
) -> Amounts:
    """Sum a period's amounts of a metric over the filtered accounts and services."""
    if period[1] - period[0] == timedelta(days=1):
        amounts = day_costs(world, section, metric, period[0])
    else:
        amounts = defaultdict(Decimal)
        day = period[0]
        while day < period[1]:
            for key, value in day_costs(world, section, metric, day).items():
                amounts[key] += value
            day += timedelta(days=1)
    if query.accounts is None and query.services is None:
        return amounts
    return {
        (account, service): value
        for (account, service), value in amounts.items()
        if (query.accounts is None or account in query.accounts)
        and (query.services is None or service in query.services)
    }


def _total_entry(
    world: DemoWorld, section: CostScenario, query: Query, period: tuple[date, date]
) -> dict[str, Any]:
    total = {}
    for metric in query.metrics:
        grouped = sum(
            _period_costs(world, section, query, period, metric).values(), Decimal(0)
        )
        if query.accounts is None and query.services is None:
            grouped += section.unallocated(grouped)
        total[metric] = {"Amount": _amount(grouped), "Unit": section.currency}
    return {
        "TimePeriod": _time_period(period),
        "Total": total,
        "Groups": [],
        "Estimated": _estimated(section, period),
    }


def _grouped_items(
    world: DemoWorld,
    section: CostScenario,
    query: Query,
    periods: list[tuple[date, date]],
) -> list[Item]:
    """Flatten every period's groups in order; an empty period keeps one slot."""
    cache: dict[tuple[str, frozenset[str] | None], list[Item]] = world.extra.setdefault(
        "cost_items", {}
    )
    cached = cache.get((query.digest, query.accounts))
    if cached is not None:
        return cached
    items: list[Item] = []
    positions = {"LINKED_ACCOUNT": 0, "SERVICE": 1}
    for index, period in enumerate(periods):
        groups: dict[tuple[str, ...], dict[str, Decimal]] = {}
        for metric in query.metrics:
            for pair, value in _period_costs(
                world, section, query, period, metric
            ).items():
                keys = tuple(pair[positions[key]] for key in query.group_by)
                slot = groups.setdefault(keys, {m: Decimal(0) for m in query.metrics})
                slot[metric] += value
        if not groups:
            items.append((index, None, {}))
        for keys in sorted(groups):
            items.append((index, keys, groups[keys]))
    cache[(query.digest, query.accounts)] = items
    return items


def _page_entries(
    section: CostScenario,
    query: Query,
    periods: list[tuple[date, date]],
    page: list[Item],
) -> list[dict[str, Any]]:
    """Build ``ResultsByTime`` for a page; a period split over pages appears in each."""
    entries: list[dict[str, Any]] = []
    current = -1
    for index, keys, metrics in page:
        if index != current:
            current = index
            entries.append(
                {
                    "TimePeriod": _time_period(periods[index]),
                    "Total": {},
                    "Groups": [],
                    "Estimated": _estimated(section, periods[index]),
                }
            )
        if keys is not None:
            entries[-1]["Groups"].append(
                {
                    "Keys": list(keys),
                    "Metrics": {
                        metric: {"Amount": _amount(value), "Unit": section.currency}
                        for metric, value in metrics.items()
                    },
                }
            )
    return entries


def _account_names(
    section: CostScenario,
    query: Query,
    page: list[Item],
) -> list[dict[str, Any]]:
    if "LINKED_ACCOUNT" not in query.group_by:
        return []
    position = query.group_by.index("LINKED_ACCOUNT")
    seen = sorted({keys[position] for _, keys, _ in page if keys is not None})
    spends = section.accounts
    return [
        {
            "Value": account_id,
            "Attributes": {"description": spends[account_id].account.name},
        }
        for account_id in seen
    ]


def _time_period(period: tuple[date, date]) -> dict[str, str]:
    return {"Start": period[0].isoformat(), "End": period[1].isoformat()}


def _estimated(section: CostScenario, period: tuple[date, date]) -> bool:
    return section.estimated(period[1] - timedelta(days=1))


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
