"""Service Quotas as AWS serves it, per account and region, from the scenario.

moto knows only a few VPC defaults. Here the catalog is the quota reference
data shipped in ``collectors/data/quotas.json`` (real codes, names and
defaults; entries without a confirmed default are left out), and the
scenario's ``[[quotas.applied]]`` entries give applied values per account
and region. ``ListServiceQuotas`` returns only quotas with an applied value,
as AWS does, so clients must merge it with ``ListAWSDefaultServiceQuotas``.
``[[quotas.unreadable]]`` entries make ``ListServiceQuotas`` and
``GetServiceQuota`` deny access for a service in an account and region, the
way a service control policy does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from collectors.demo.plugins import Response, expect, handler, paginate
from collectors.demo.scenario import section_parser
from collectors.demo.wire import error_response, json_response
from collectors.tomlcheck import Table

if TYPE_CHECKING:
    from collectors.demo.scenario import Scenario
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

NO_SERVICE = "The request failed because the specified service does not exist."
NO_QUOTA = "The request failed because the specified quota does not exist."
DENIED = "You are not authorized to perform this action."


@cache
def catalog() -> tuple[dict[str, Any], ...]:
    """Return the reference quotas that have a quota code and a confirmed default."""
    text = resources.files("collectors.data").joinpath("quotas.json").read_text()
    entries = json.loads(text)
    return tuple(
        q for q in entries if q.get("quota_code") and q.get("default_value") is not None
    )


@dataclass
class QuotaScenario:
    """The ``[quotas]`` section: which services are served and applied values."""

    services: list[str] = field(default_factory=list)
    applied: dict[tuple[str, str, str], float] = field(default_factory=dict)
    unreadable: set[tuple[str, str, str]] = field(default_factory=set)
    """(account id or ``*``, region or ``*``, service code) denied applied values."""
    extra: dict[str, Any] = field(default_factory=dict)


QUOTA_SECTION_EXTENSIONS: list[Any] = []
"""Functions ``(table, scenario, section)`` that read further ``[quotas]`` keys."""


@section_parser("quotas")
def parse_quotas(table: Table, scenario: Scenario) -> QuotaScenario:
    """Read ``services`` and ``[[quotas.applied]]`` (account, region, quota, value)."""
    known = {q["service_code"] for q in catalog()}
    section = QuotaScenario(services=table.strings("services", sorted(known)))
    for service in section.services:
        if service not in known:
            raise table.error(
                "services",
                f"unknown service code {service!r}; known: {', '.join(sorted(known))}",
            )
    codes = {q["quota_code"] for q in catalog()}
    for entry in table.tables("applied"):
        account_id = _account_id(entry, scenario)
        region = _region(entry, scenario)
        quota = entry.get("quota", str, "")
        if quota not in codes:
            raise entry.error("quota", f"unknown quota code {quota!r}")
        value = entry.get("value", float, 0.0)
        entry.done()
        if account_id:
            section.applied[(account_id, region, quota)] = value
    for entry in table.tables("unreadable"):
        account_id = _account_id(entry, scenario)
        region = _region(entry, scenario)
        service = entry.get("service", str, "")
        if service not in known:
            raise entry.error("service", f"unknown service code {service!r}")
        entry.done()
        if account_id:
            section.unreadable.add((account_id, region, service))
    for extension in QUOTA_SECTION_EXTENSIONS:
        extension(table, scenario, section)
    table.done()
    return section


def generated(scenario: Scenario) -> bool:
    """Return whether the scenario was generated from the default one.

    Generated organizations keep only the first teams of the default
    scenario, so there entries naming a dropped account are skipped.
    """
    return scenario.path.startswith("<generated")


def _account_id(entry: Table, scenario: Scenario) -> str:
    """Return the id an entry's ``account`` names, ``*``, or "" to skip the entry."""
    account = entry.get("account", str, "*")
    if account == "*" or scenario.account(account) is not None:
        return scenario.account_id(account)
    if generated(scenario):
        return ""
    raise entry.error("account", f"no account named {account!r} in the scenario")


def _region(entry: Table, scenario: Scenario) -> str:
    region = entry.get("region", str, "*")
    if region not in ("*", *scenario.regions):
        raise entry.error("region", f"{region!r} is not one of the scenario's regions")
    return region


def unreadable(scenario: Scenario, account: str, region: str, service: str) -> bool:
    """Return whether a service's applied values are denied in an account and region."""
    section: QuotaScenario = scenario.sections["quotas"]
    return any(
        key in section.unreadable
        for key in (
            (account, region, service),
            (account, "*", service),
            ("*", region, service),
            ("*", "*", service),
        )
    )


def applied_value(
    scenario: Scenario, account: str, region: str, code: str
) -> float | None:
    """Return the applied value of a quota in an account and region, if any."""
    return applied_in(scenario.sections["quotas"], account, region, code)


def applied_in(
    section: QuotaScenario, account: str, region: str, code: str
) -> float | None:
    """Return the applied value of a quota from a parsed ``[quotas]`` section."""
    for key in (
        (account, region, code),
        (account, "*", code),
        ("*", region, code),
        ("*", "*", code),
    ):
        if key in section.applied:
            return section.applied[key]
    return None


def quota_document(
    entry: dict[str, Any], account: str, region: str, value: float
) -> dict[str, Any]:
    """Render a quota as the ``ServiceQuota`` shape of the API."""
    path = f"{entry['service_code']}/{entry['quota_code']}"
    document: dict[str, Any] = {
        "ServiceCode": entry["service_code"],
        "ServiceName": entry["service_name"],
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:{path}",
        "QuotaCode": entry["quota_code"],
        "QuotaName": entry["quota_name"],
        "Value": float(value),
        "Unit": entry.get("unit") or "None",
        "Adjustable": bool(entry.get("adjustable")),
        "GlobalQuota": bool(entry.get("global")),
        "QuotaAppliedAtLevel": "ACCOUNT",
    }
    metric = entry.get("usage_metric")
    if metric:
        document["UsageMetric"] = {
            "MetricNamespace": metric["namespace"],
            "MetricName": metric["metric_name"],
            "MetricDimensions": metric["dimensions"],
            "MetricStatisticRecommendation": metric["statistic"],
        }
    return document


def _served(world: DemoWorld, service: str) -> list[dict[str, Any]] | None:
    section: QuotaScenario = world.scenario.sections["quotas"]
    if service not in section.services:
        return None
    return [q for q in catalog() if q["service_code"] == service]


def _page(request: WireRequest, items: list[Any], key: str) -> Response:
    body = request.json()
    max_results = body.get("MaxResults")
    expect(
        max_results is None or 1 <= int(max_results) <= 100,
        "1 validation error detected: Value at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 100",
    )
    page, token = paginate(items, body.get("NextToken"), max_results)
    answer: dict[str, Any] = {key: page}
    if token:
        answer["NextToken"] = token
    return json_response(answer)


@handler("service-quotas", "ListServices")
def list_services(world: DemoWorld, request: WireRequest) -> Response:
    """List the services the scenario serves."""
    section: QuotaScenario = world.scenario.sections["quotas"]
    names = {q["service_code"]: q["service_name"] for q in catalog()}
    services = [
        {"ServiceCode": code, "ServiceName": names[code]}
        for code in sorted(section.services)
    ]
    return _page(request, services, "Services")


@handler("service-quotas", "ListAWSDefaultServiceQuotas")
def list_default_quotas(world: DemoWorld, request: WireRequest) -> Response:
    """List a service's default quota values (the same for every account)."""
    service = request.json().get("ServiceCode", "")
    entries = _served(world, service)
    if entries is None:
        return error_response(request, "NoSuchResourceException", NO_SERVICE)
    quotas = [
        quota_document(q, "aws", request.region, q["default_value"]) for q in entries
    ]
    for quota in quotas:
        quota["QuotaArn"] = quota["QuotaArn"].replace(":aws:", "::", 1)
    return _page(request, quotas, "Quotas")


@handler("service-quotas", "ListServiceQuotas")
def list_applied_quotas(world: DemoWorld, request: WireRequest) -> Response:
    """List the quotas with an applied value in the calling account and region."""
    body = request.json()
    service = body.get("ServiceCode", "")
    entries = _served(world, service)
    if entries is None:
        return error_response(request, "NoSuchResourceException", NO_SERVICE)
    if unreadable(world.scenario, request.account, request.region, service):
        return error_response(request, "AccessDeniedException", DENIED)
    quotas = []
    for entry in entries:
        if body.get("QuotaCode") and body["QuotaCode"] != entry["quota_code"]:
            continue
        value = applied_value(
            world.scenario, request.account, request.region, entry["quota_code"]
        )
        if value is not None:
            quotas.append(quota_document(entry, request.account, request.region, value))
    return _page(request, quotas, "Quotas")


@handler("service-quotas", "GetServiceQuota")
def get_service_quota(world: DemoWorld, request: WireRequest) -> Response:
    """Return one quota's applied value, or the default when none was applied."""
    body = request.json()
    service = body.get("ServiceCode", "")
    entries = _served(world, service)
    if entries is None:
        return error_response(request, "NoSuchResourceException", NO_SERVICE)
    if unreadable(world.scenario, request.account, request.region, service):
        return error_response(request, "AccessDeniedException", DENIED)
    for entry in entries:
        if entry["quota_code"] == body.get("QuotaCode"):
            value = applied_value(
                world.scenario, request.account, request.region, entry["quota_code"]
            )
            chosen = entry["default_value"] if value is None else value
            return json_response(
                {
                    "Quota": quota_document(
                        entry, request.account, request.region, chosen
                    )
                }
            )
    return error_response(request, "NoSuchResourceException", NO_QUOTA)
