"""The Datadog snapshot section: one task's data mapped onto the accounts.

Tag values that are not accounts of the organization are listed as
``unmatched_accounts``. A metric or the monitor list that could not be read
this time (rate-limited past the wait budget) keeps the previous section's
values, marked ``stale``, so the screens and ``orgtop check`` still have them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from collectors.datadog.parse import latest
from collectors.datadog.settings import DatadogSettings, MetricQuery
from collectors.model import Account


def build_section(
    data: dict[str, Any],
    previous: dict[str, Any] | None,
    accounts: Sequence[Account],
    settings: DatadogSettings,
) -> dict[str, Any]:
    """Build the snapshot section from one task's data and the previous section."""
    known = {account.id for account in accounts}
    section = empty_section(settings)
    section.update(
        site=data["site"],
        api_url=data["api_url"],
        window={"from": _iso(data["from"]), "to": _iso(data["to"])},
        rate_limit=data["rate_limit"],
        requests=data["requests"],
    )
    by_account: dict[str, dict[str, Any]] = section["by_account"]
    unmatched: set[str] = set()
    prior = previous or {}

    for metric in settings.metrics:
        result = data["metrics"].get(metric.id, {})
        entry = _metric_entry(metric, result)
        if result.get("status") == "ok":
            for value, values in result["by_tag"].items():
                if value not in known:
                    unmatched.add(value)
                    continue
                metrics = by_account.setdefault(value, {}).setdefault("metrics", {})
                metrics[metric.id] = {"values": values, "latest": latest(values)}
        else:
            _carry_metric(entry, prior, by_account)
        section["metrics"].append(entry)

    section["monitors"] = _monitor_section(
        data["monitors"], prior, by_account, known, unmatched
    )
    section["unmatched_accounts"] = sorted(unmatched)
    limited = [m for m in section["metrics"] if m["status"] != "ok"]
    if limited or section["monitors"]["status"] != "ok":
        section["status"] = "rate-limited"
    return section


def _metric_entry(metric: MetricQuery, result: dict[str, Any]) -> dict[str, Any]:
    """Describe one metric for the section: label, unit, query and how it went."""
    entry = {
        "id": metric.id,
        "label": metric.label,
        "unit": metric.unit or result.get("unit", ""),
        "query": metric.query,
        "aggregator": metric.aggregator,
        "status": result.get("status", "missing"),
    }
    if result.get("status") == "ok":
        entry["times"] = result["times"]
        entry["untagged_series"] = result["untagged"]
    else:
        entry["reset_seconds"] = result.get("reset_seconds")
    return entry


def _carry_metric(
    entry: dict[str, Any], prior: dict[str, Any], by_account: dict[str, dict[str, Any]]
) -> None:
    """Keep the previous values of a metric that could not be read now."""
    earlier = next(
        (m for m in prior.get("metrics", []) if m["id"] == entry["id"]), None
    )
    if not earlier or "times" not in earlier:
        return
    entry["times"] = earlier["times"]
    entry["stale"] = True
    for account_id, account_entry in prior.get("by_account", {}).items():
        values = account_entry.get("metrics", {}).get(entry["id"])
        if values is not None:
            target = by_account.setdefault(account_id, {}).setdefault("metrics", {})
            target[entry["id"]] = values


def _monitor_section(
    result: dict[str, Any],
    prior: dict[str, Any],
    by_account: dict[str, dict[str, Any]],
    known: set[str],
    unmatched: set[str],
) -> dict[str, Any]:
    if result.get("status") != "ok":
        earlier = prior.get("monitors") or {}
        for account_id, account_entry in prior.get("by_account", {}).items():
            if "monitors" in account_entry:
                by_account.setdefault(account_id, {})["monitors"] = account_entry[
                    "monitors"
                ]
        return {
            **earlier,
            "status": result.get("status", "missing"),
            "reset_seconds": result.get("reset_seconds"),
            "stale": bool(earlier),
        }
    totals = {"alert": 0, "warn": 0}
    for value, counts in result["by_tag"].items():
        if value not in known:
            unmatched.add(value)
            continue
        by_account.setdefault(value, {})["monitors"] = counts
        totals["alert"] += counts["alert"]
        totals["warn"] += counts["warn"]
    return {
        "status": "ok",
        "listed": result["listed"],
        "pages": result["pages"],
        "unattributed": result["unattributed"],
        **totals,
    }


def empty_section(settings: DatadogSettings) -> dict[str, Any]:
    """Return a section with no data yet, as after a first refresh that failed."""
    return {
        "status": "ok",
        "stale": False,
        "site": settings.site,
        "api_url": settings.api_url,
        "account_tag": settings.account_tag,
        "window": {},
        "metrics": [],
        "by_account": {},
        "monitors": {"status": "missing", "alert": 0, "warn": 0, "unattributed": []},
        "unmatched_accounts": [],
        "rate_limit": {},
        "requests": {},
    }


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
