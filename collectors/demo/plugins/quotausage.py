"""Quota usage in the demo organization, as CloudWatch and EC2 report it.

Every quota of the catalog that AWS measures (a usage metric, or a resource
that EC2 can count) has a usage level in every active account and enabled
region. The scenario's ``[quotas]`` section sets some levels and their daily
trend explicitly (``[[quotas.usage]]``) and places a few at random by the
scenario's seed (``[quotas.random]``). Every other quota gets a low
background level drawn from the seed, so only the quotas that the scenario
names or places can reach a threshold.

Levels are absolute, in the quota's own unit; a rate quota's level is the
average per-second rate. ``percent`` entries are converted with the quota's
value in that account and region (applied, else default).
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collectors.demo.plugins.servicequotas import (
    QUOTA_SECTION_EXTENSIONS,
    QuotaScenario,
    applied_in,
    catalog,
    generated,
)

if TYPE_CHECKING:
    from collectors.demo.scenario import Scenario
    from collectors.tomlcheck import Table

COUNTED_QUOTAS = frozenset({"L-0263D0A3"})
"""Quotas with no usage metric whose usage EC2 counts (Elastic IP addresses)."""

DEFAULT_BACKGROUND = (5.0, 60.0)
WARNING_BAND = (81.0, 94.0)
CRITICAL_BAND = (96.0, 99.5)
JITTER = 0.03
"""Relative day-to-day variation of background levels."""


@dataclass(frozen=True, slots=True)
class UsageSpec:
    """A quota's usage in one account and region: level now and change per day."""

    level: float
    per_day: float = 0.0
    jitter: bool = False

    def at(self, days_before: float, day_index: int = 0, salt: str = "") -> float:
        """Return the usage ``days_before`` the newest moment, never below zero."""
        value = self.level - self.per_day * days_before
        if self.jitter and day_index:
            value *= 1 + JITTER * (2 * _fraction(salt, str(day_index)) - 1)
        return max(value, 0.0)


@dataclass
class UsageModel:
    """The usage part of ``[quotas]``: explicit and random levels, background."""

    background: tuple[float, float] = DEFAULT_BACKGROUND
    explicit: dict[tuple[str, str, str], UsageSpec] = field(default_factory=dict)
    random_placed: dict[tuple[str, str, str], UsageSpec] = field(default_factory=dict)


def measured(entry: dict[str, Any]) -> bool:
    """Return whether AWS reports usage for a catalog quota (a metric or a count)."""
    return bool(entry.get("usage_metric")) or entry["quota_code"] in COUNTED_QUOTAS


def quota_value(section: QuotaScenario, account: str, region: str, code: str) -> float:
    """Return a quota's value in an account and region: applied, else default."""
    applied = applied_in(section, account, region, code)
    if applied is not None:
        return applied
    return float(_entry(code)["default_value"])


def model_of(scenario: Scenario) -> UsageModel:
    """Return the usage model parsed from the scenario's ``[quotas]`` section."""
    section: QuotaScenario = scenario.sections["quotas"]
    model: UsageModel = section.extra["usage"]
    return model


def usage_spec(
    scenario: Scenario, account: str, region: str, code: str
) -> UsageSpec | None:
    """Return the usage of a quota in an account and region, or None if unmeasured.

    Suspended accounts, disabled regions and unknown accounts have none.
    """
    entry = _served_entries(scenario).get(code)
    demo_account = scenario.account(account)
    if entry is None or not measured(entry) or demo_account is None:
        return None
    if demo_account.status != "ACTIVE" or region in demo_account.disabled_regions:
        return None
    if region not in scenario.regions:
        return None
    section: QuotaScenario = scenario.sections["quotas"]
    model: UsageModel = section.extra["usage"]
    key = (demo_account.id, region, code)
    if key in model.explicit:
        return model.explicit[key]
    if key in model.random_placed:
        return model.random_placed[key]
    low, high = model.background
    share = low + (high - low) * _fraction(str(scenario.seed), *key)
    level = quota_value(section, demo_account.id, region, code) * share / 100
    if entry.get("usage_metric", {}) and entry["usage_metric"]["statistic"] == "Sum":
        return UsageSpec(level, jitter=True)
    return UsageSpec(float(int(level)), jitter=True)


def _served_entries(scenario: Scenario) -> dict[str, dict[str, Any]]:
    section: QuotaScenario = scenario.sections["quotas"]
    served = set(section.services)
    return {q["quota_code"]: q for q in catalog() if q["service_code"] in served}


def _entry(code: str) -> dict[str, Any]:
    return next(q for q in catalog() if q["quota_code"] == code)


def _fraction(*parts: str) -> float:
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def parse_usage(table: Table, scenario: Scenario, section: QuotaScenario) -> None:
    """Read ``background``, ``[[quotas.usage]]`` and ``[quotas.random]``."""
    model = UsageModel()
    background = table.get("background", list, list(DEFAULT_BACKGROUND))
    if len(background) != 2 or not 0 <= background[0] <= background[1] < 80:
        raise table.error(
            "background", "expected [low, high] percentages with low <= high < 80"
        )
    model.background = (float(background[0]), float(background[1]))
    section.extra["usage"] = model
    for entry in table.tables("usage"):
        key, spec = _parse_usage_entry(entry, scenario, section)
        if key is not None:
            model.explicit[key] = spec
    _place_random(table.table("random"), scenario, section, model)


def _parse_usage_entry(
    entry: Table, scenario: Scenario, section: QuotaScenario
) -> tuple[tuple[str, str, str] | None, UsageSpec]:
    name = entry.get("account", str, "")
    region = entry.get("region", str, "")
    code = entry.get("quota", str, "")
    percent = entry.get("percent", float, -1.0)
    absolute = entry.get("value", float, -1.0)
    per_day = entry.get("per_day", float, 0.0)
    entry.done()
    if region not in scenario.regions:
        raise entry.error("region", f"{region!r} is not one of the scenario's regions")
    known = {q["quota_code"]: q for q in catalog()}
    if code not in known or not measured(known[code]):
        raise entry.error(
            "quota", f"{code!r} is not a catalog quota with a usage metric"
        )
    if (percent < 0) == (absolute < 0):
        raise entry.error("percent", "give exactly one of percent or value, >= 0")
    account = scenario.account(name)
    if account is None:
        if generated(scenario):
            return None, UsageSpec(0.0)
        raise entry.error("account", f"no account named {name!r} in the scenario")
    if percent >= 0:
        value = quota_value(section, account.id, region, code)
        return (account.id, region, code), UsageSpec(
            value * percent / 100, value * per_day / 100
        )
    return (account.id, region, code), UsageSpec(absolute, per_day)


def _place_random(
    table: Table, scenario: Scenario, section: QuotaScenario, model: UsageModel
) -> None:
    count = table.get("hot", int, 0)
    table.done()
    if count < 0:
        raise table.error("hot", "must be zero or more")
    generator = random.Random(scenario.seed)
    candidates = _candidates(scenario, section, model)
    generator.shuffle(candidates)
    for key in candidates:
        if len(model.random_placed) == count:
            break
        low, high = generator.choice((WARNING_BAND, CRITICAL_BAND))
        value = quota_value(section, *key)
        # Resource counts are whole numbers: pick one inside the band, and
        # skip quotas too small to have one.
        counts = range(math.ceil(value * low / 100), math.floor(value * high / 100) + 1)
        if counts:
            model.random_placed[key] = UsageSpec(float(generator.choice(counts)))


def _candidates(
    scenario: Scenario, section: QuotaScenario, model: UsageModel
) -> list[tuple[str, str, str]]:
    """List workload (account, region, quota) keys a random hot spot may take."""
    codes = [
        q["quota_code"]
        for q in catalog()
        if q["service_code"] in section.services
        and q.get("usage_metric")
        and q["usage_metric"]["statistic"] == "Maximum"
        and not q.get("global")
    ]
    keys: list[tuple[str, str, str]] = []
    for account in scenario.accounts:
        if account.kind != "workload" or account.status != "ACTIVE":
            continue
        for region in scenario.regions:
            if region in account.disabled_regions:
                continue
            keys.extend((account.id, region, code) for code in codes)
    return [key for key in keys if key not in model.explicit]


QUOTA_SECTION_EXTENSIONS.append(parse_usage)
