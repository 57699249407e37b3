"""Fault rules: which demo requests fail, how, and how often.

A rule matches on service, operation, account and region (``*`` matches
anything) and has one effect: an AWS error code, added latency, or no
answer at all. Its pattern is ``always`` (the default), the first ``times``
attempts, a ``sequence`` of outcomes, or a ``rate`` between 0 and 1.

Faults are deterministic. A rate rule decides with a hash of the seed, the
rule, the request and how often that request was seen, so the same scenario
gives the same faults whatever order threads serve requests in. A rate rule
fails the same request at most ``max_consecutive`` times in a row (default
2, below the client's retry budget) unless the rule sets it higher.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collectors.tomlcheck import Table

if TYPE_CHECKING:
    from collectors.demo.scenario import Scenario

OK = "ok"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """HTTP status and default message of one AWS error code."""

    status: int
    message: str


# HTTP statuses as AWS returns them for each code.
ERRORS: dict[str, ErrorSpec] = {
    "AccessDenied": ErrorSpec(403, "User is not authorized to perform this action"),
    "AccessDeniedException": ErrorSpec(
        400, "User is not authorized to perform this action"
    ),
    "UnauthorizedOperation": ErrorSpec(
        403, "You are not authorized to perform this operation."
    ),
    "Throttling": ErrorSpec(400, "Rate exceeded"),
    "ThrottlingException": ErrorSpec(400, "Rate exceeded"),
    "TooManyRequestsException": ErrorSpec(429, "Too many requests"),
    "RequestLimitExceeded": ErrorSpec(503, "Request limit exceeded."),
    "LimitExceededException": ErrorSpec(400, "Limit exceeded"),
    "ExpiredToken": ErrorSpec(
        400, "The security token included in the request is expired"
    ),
    "ExpiredTokenException": ErrorSpec(
        400, "The security token included in the request is expired"
    ),
    "OptInRequired": ErrorSpec(
        403, "You are not subscribed to this service in this region."
    ),
    "NoSuchResourceException": ErrorSpec(
        400, "The request failed because the specified service does not exist."
    ),
    "ResourceNotFoundException": ErrorSpec(400, "The resource was not found."),
    "DataUnavailableException": ErrorSpec(
        400, "Data is not available for the requested period."
    ),
    "ServiceUnavailable": ErrorSpec(503, "Service is unavailable."),
    "InternalFailure": ErrorSpec(
        500, "The request processing has failed because of an unknown error."
    ),
    "AccountNotFoundException": ErrorSpec(400, "The account was not found."),
    "NoSuchEntity": ErrorSpec(404, "The role with name was not found."),
    "UnauthorizedException": ErrorSpec(401, "Session token not found or invalid"),
    "ForbiddenException": ErrorSpec(403, "No access"),
}


@dataclass
class FaultRule:
    """One fault rule of a scenario, with its per-request counters."""

    index: int
    service: str = "*"
    operation: str = "*"
    account: str = "*"
    region: str = "*"
    error: str = ""
    latency_ms: int = 0
    hang: bool = False
    times: int = 0
    sequence: list[str] = field(default_factory=list)
    rate: float = 0.0
    max_consecutive: int = 2
    seed: int = 0
    _seen: dict[str, int] = field(default_factory=dict, repr=False)
    _in_a_row: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def matches(self, service: str, operation: str, account: str, region: str) -> bool:
        """Return whether the rule applies to a request."""
        return (
            self.service in ("*", service)
            and self.operation in ("*", operation)
            and self.account in ("*", account)
            and self.region in ("*", region)
        )

    def decide(self, request_key: str) -> str:
        """Return the outcome for this attempt: an error code, ``fault`` or ``ok``."""
        with self._lock:
            attempt = self._seen.get(request_key, 0)
            self._seen[request_key] = attempt + 1
            if self.sequence:
                return self.sequence[attempt] if attempt < len(self.sequence) else OK
            if self.times:
                return "fault" if attempt < self.times else OK
            if self.rate:
                return self._decide_rate(request_key, attempt)
            return "fault"

    def _decide_rate(self, request_key: str, attempt: int) -> str:
        in_a_row = self._in_a_row.get(request_key, 0)
        if in_a_row >= self.max_consecutive:
            self._in_a_row[request_key] = 0
            return OK
        digest = hashlib.sha256(
            f"{self.seed}:{self.index}:{request_key}:{attempt}".encode()
        )
        draw = int.from_bytes(digest.digest()[:8], "big") / 2**64
        if draw < self.rate:
            self._in_a_row[request_key] = in_a_row + 1
            return "fault"
        self._in_a_row[request_key] = 0
        return OK


def parse_fault(table: Table, scenario: Scenario, lenient: bool = False) -> FaultRule:
    """Validate one ``[[fault]]`` table of a scenario."""
    rule = FaultRule(index=len(scenario.faults), seed=scenario.seed)
    rule.service = table.get("service", str, "*")
    rule.operation = table.get("operation", str, "*")
    account = table.get("account", str, "*")
    try:
        rule.account = scenario.account_id(account)
    except KeyError:
        if not lenient:
            raise table.error(
                "account", f"no account named {account!r} in the scenario"
            ) from None
        rule.account = "-"
    rule.region = table.get("region", str, "*")
    if rule.region != "*" and rule.region not in scenario.regions:
        raise table.error(
            "region", f"{rule.region!r} is not one of the scenario's regions"
        )
    rule.error = table.get("error", str, "")
    rule.latency_ms = table.get("latency_ms", int, 0)
    rule.hang = table.get("hang", bool, False)
    rule.times = table.get("times", int, 0)
    rule.sequence = table.strings("sequence")
    rule.rate = table.get("rate", float, 0.0)
    rule.max_consecutive = table.get("max_consecutive", int, 2)
    table.done()
    _check_target(table, rule)
    for key in ("times", "latency_ms", "max_consecutive"):
        if getattr(rule, key) < 0:
            raise table.error(key, "must be zero or more")
    effects = sum([bool(rule.error), bool(rule.latency_ms), rule.hang])
    if effects != 1 and not rule.sequence:
        raise table.error("error", "give exactly one of error, latency_ms or hang")
    known = ", ".join(sorted(ERRORS))
    if rule.error and rule.error not in (OK, "fault") and rule.error not in ERRORS:
        raise table.error("error", f"unknown error code {rule.error!r}; known: {known}")
    for code in rule.sequence:
        if code not in (OK, "fault") and code not in ERRORS:
            raise table.error(
                "sequence",
                f"unknown outcome {code!r}; use {OK!r} for an answer or one of: {known}",
            )
    if table.has("max_consecutive") and not rule.rate:
        raise table.error(
            "max_consecutive", "applies only with rate; add rate or remove it"
        )
    if not 0 <= rule.rate <= 1:
        raise table.error("rate", "must be between 0 and 1")
    return rule


GLOBAL_SERVICES = frozenset({"sts", "iam", "organizations", "account", "ce", "sso"})
"""Services the demo serves without a region: rules with a region never match them."""


def _check_target(table: Table, rule: FaultRule) -> None:
    """Reject rules that could never match, so a fault test cannot pass vacuously."""
    if rule.service == "*":
        return
    from collectors.demo.wire import service_model

    try:
        model = service_model(rule.service)
    except Exception:  # noqa: BLE001 - botocore raises several kinds here
        raise table.error(
            "service",
            f"unknown service {rule.service!r}; use botocore's name such as sts, "
            "organizations, service-quotas, ce, cloudwatch, iam, account",
        ) from None
    if rule.operation != "*" and rule.operation not in model.operation_names:
        raise table.error(
            "operation", f"{rule.service} has no operation {rule.operation!r}"
        )
    if rule.region != "*" and rule.service in GLOBAL_SERVICES:
        raise table.error(
            "region", f"{rule.service} is a global service; its rules match region *"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Outcome for one request: an error code, added latency or no response."""

    error: str = ""
    latency_ms: int = 0
    hang: bool = False


def judge(rules: list[FaultRule], request: dict[str, Any]) -> Verdict:
    """Apply the first rule that matches and fires to a request."""
    latency = 0
    for rule in rules:
        if not rule.matches(
            request["service"],
            request["operation"],
            request["account"],
            request["region"],
        ):
            continue
        outcome = rule.decide(request["key"])
        if outcome == OK:
            continue
        if rule.latency_ms and outcome == "fault":
            latency += rule.latency_ms
            continue
        if rule.hang:
            return Verdict(hang=True)
        code = rule.error if outcome == "fault" else outcome
        return Verdict(error=code, latency_ms=latency)
    return Verdict(latency_ms=latency)
