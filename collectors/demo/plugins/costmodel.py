"""The scenario's ``[cost]`` section: daily spend generated from a few parameters.

Every account's spend on every day is a pure function of the scenario seed
and the section, so the demo server, the tests and a person reading the
scenario all see the same numbers. A team's prod account spends
``team_daily`` a day, other environments a share of it (``env_factor``),
weekends less (``weekend_factor``), with ``growth_percent`` growth per 30 days
and up to ``noise_percent`` of noise. Each account spreads its spend over a
service mix drawn from ``services``. On top of that come a savings-plan fee
on one day, the ``[[cost.spike]]`` jumps on the newest complete day, a
newest day that is still filling in, and an unallocated remainder that
shows only in the ungrouped total.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from collectors.demo.scenario import section_parser
from collectors.tomlcheck import Table

if TYPE_CHECKING:
    from collectors.demo.scenario import DemoAccount, Scenario

COST_METRICS = (
    "AmortizedCost",
    "BlendedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
    "UnblendedCost",
)
SAVINGS_PLAN_SERVICE = "Savings Plans for AWS Compute usage"
CENT_FRACTION = Decimal("0.00000001")
"""Generated amounts carry eight decimals; Cost Explorer returns up to ten."""

WORKLOAD_MIX = {
    "Amazon Elastic Compute Cloud - Compute": 30.0,
    "EC2 - Other": 9.0,
    "Amazon Relational Database Service": 16.0,
    "Amazon Simple Storage Service": 7.0,
    "Amazon Elastic Container Service for Kubernetes": 5.0,
    "Amazon Elastic Load Balancing": 4.0,
    "AmazonCloudWatch": 4.0,
    "Amazon DynamoDB": 4.0,
    "Amazon ElastiCache": 4.0,
    "Amazon Virtual Private Cloud": 3.0,
    "Amazon CloudFront": 3.0,
    "AWS Lambda": 2.0,
    "Amazon Simple Queue Service": 1.0,
    "AWS Key Management Service": 1.0,
    "Amazon Route 53": 0.5,
    "AWS Secrets Manager": 0.5,
    "Amazon EC2 Container Registry (ECR)": 0.5,
    "Amazon Simple Notification Service": 0.3,
}
ALWAYS_USED = frozenset(
    {
        "Amazon Elastic Compute Cloud - Compute",
        "EC2 - Other",
        "Amazon Simple Storage Service",
        "AmazonCloudWatch",
        "Amazon Virtual Private Cloud",
        "AWS Key Management Service",
    }
)
CORE_MIXES = {
    "management": {
        "AWS CloudTrail": 30.0,
        "AWS Config": 25.0,
        "Amazon Simple Storage Service": 15.0,
        "AWS Cost Explorer": 5.0,
        "Amazon GuardDuty": 20.0,
        "AWS Key Management Service": 5.0,
    },
    "identity": {
        "AWS CloudTrail": 40.0,
        "AWS Key Management Service": 30.0,
        "AmazonCloudWatch": 30.0,
    },
    "log_archive": {
        "Amazon Simple Storage Service": 80.0,
        "AWS Key Management Service": 10.0,
        "AmazonCloudWatch": 10.0,
    },
}
CORE_DAILY = {"management": 55.0, "identity": 6.0, "log_archive": 40.0}
UNMAPPED_DAILY = 25.0
"""Daily spend of an account outside every team (a sandbox), unless set."""
ENV_FACTOR = {"prod": 1.0, "staging": 0.35, "dev": 0.2, "ops": 0.15}
WEEKEND_FACTOR = {"prod": 0.9, "staging": 0.55, "dev": 0.4, "ops": 0.95}
OTHER_ENV_FACTOR = 0.2
OTHER_WEEKEND_FACTOR = 0.8


@cache
def known_services() -> frozenset[str]:
    """Return the Cost Explorer service names shipped in ``ce_services.txt``."""
    text = resources.files("collectors.data").joinpath("ce_services.txt").read_text()
    names = [
        line.split("\t")[0] for line in text.splitlines() if line and line[0] != "#"
    ]
    return frozenset(names)


@dataclass(frozen=True)
class SavingsPlan:
    """An all-upfront savings plan: one fee, or spread over its term when amortized."""

    account_id: str
    day: date
    upfront: Decimal
    term_days: int


@dataclass(frozen=True)
class Spike:
    """An extra amount on the newest complete day for one account and service."""

    account_id: str
    service: str
    increase_percent: float
    increase: Decimal | None


@dataclass
class AccountSpend:
    """How much one account spends a day before weekends, growth and noise."""

    account: DemoAccount
    daily: float
    mix: dict[str, float]
    key: int


@dataclass
class CostScenario:
    """The parsed ``[cost]`` section and the spend model built from it."""

    today: date
    seed: int
    currency: str = "USD"
    page_size: int = 5000
    growth_percent: float = 3.0
    noise_percent: float = 4.0
    provisional_days: int = 1
    provisional_fraction: float = 0.55
    unallocated_percent: float = 2.0
    net_discount_percent: float = 3.0
    weekend: dict[str, float] = field(default_factory=dict)
    accounts: dict[str, AccountSpend] = field(default_factory=dict)
    savings_plan: SavingsPlan | None = None
    spikes: list[Spike] = field(default_factory=list)

    @property
    def evaluated_day(self) -> date:
        """Return the newest complete day: the one the spikes are on."""
        return self.today - timedelta(days=self.provisional_days + 1)

    def provisional(self, day: date) -> bool:
        """Return whether a day's spend is still filling in."""
        return day > self.evaluated_day

    def estimated(self, day: date) -> bool:
        """Return whether Cost Explorer flags a day as estimated (the open month)."""
        return (day.year, day.month) >= (self.today.year, self.today.month)

    def usage(self, account_id: str, service: str, day: date) -> Decimal:
        """Return the list-price usage of one account and service on one day."""
        spend = self.accounts[account_id]
        share = spend.mix.get(service, 0.0)
        if not share or day >= self.today + timedelta(days=1):
            return Decimal(0)
        level = spend.daily * self._rhythm(spend, day)
        amount = (
            level
            * share
            * (1 + self.noise_percent / 100 * _noise(spend.key, service, day))
        )
        for spike in self.spikes:
            if (spike.account_id, spike.service) == (
                account_id,
                service,
            ) and day == self.evaluated_day:
                amount += self._spike_increase(spike, level)
        if self.provisional(day):
            amount *= self.provisional_fraction
        return Decimal(amount).quantize(CENT_FRACTION)

    def costs(self, metric: str, day: date) -> dict[tuple[str, str], Decimal]:
        """Return every nonzero (account id, service) amount of a metric on a day."""
        discount = Decimal(1) - Decimal(str(self.net_discount_percent)) / 100
        net = metric.startswith("Net")
        amounts: dict[tuple[str, str], Decimal] = {}
        for account_id, spend in self.accounts.items():
            for service in spend.mix:
                value = self.usage(account_id, service, day)
                if net:
                    value = (value * discount).quantize(CENT_FRACTION)
                if value:
                    amounts[(account_id, service)] = value
        fee = self.savings_plan_fee(metric, day)
        if fee and self.savings_plan:
            key = (self.savings_plan.account_id, SAVINGS_PLAN_SERVICE)
            amounts[key] = amounts.get(key, Decimal(0)) + fee
        return amounts

    def savings_plan_fee(self, metric: str, day: date) -> Decimal:
        """Return the savings-plan fee a metric shows on a day."""
        plan = self.savings_plan
        if plan is None or day < plan.day or day >= self.today + timedelta(days=1):
            return Decimal(0)
        if metric in ("AmortizedCost", "NetAmortizedCost"):
            if (day - plan.day).days >= plan.term_days:
                return Decimal(0)
            return (plan.upfront / plan.term_days).quantize(CENT_FRACTION)
        return plan.upfront if day == plan.day else Decimal(0)

    def unallocated(self, grouped_sum: Decimal) -> Decimal:
        """Return payer-level charges of a day, which only the ungrouped total shows."""
        share = Decimal(str(self.unallocated_percent)) / 100
        return (grouped_sum * share).quantize(CENT_FRACTION)

    def _rhythm(self, spend: AccountSpend, day: date) -> float:
        weekend = self.weekend.get(spend.account.env, OTHER_WEEKEND_FACTOR)
        factor = weekend if day.weekday() >= 5 else 1.0
        growth = (1 + self.growth_percent / 100) ** ((day - self.today).days / 30)
        return factor * growth

    def _spike_increase(self, spike: Spike, level: float) -> float:
        if spike.increase is not None:
            return float(spike.increase)
        return level * spike.increase_percent / 100


def _noise(key: int, service: str, day: date) -> float:
    """Return a value in [-1, 1] fixed by the account key, the service and the day."""
    mixed = (
        key ^ zlib.crc32(service.encode()) * 0x9E3779B1 ^ day.toordinal() * 0x85EBCA77
    )
    mixed &= 0xFFFFFFFFFFFFFFFF
    mixed ^= mixed >> 31
    mixed = (mixed * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    mixed ^= mixed >> 29
    return (mixed % 20001) / 10000 - 1


@section_parser("cost")
def parse_cost(table: Table, scenario: Scenario) -> CostScenario:
    """Read ``[cost]`` and build the spend of every account."""
    # A generated organization keeps the default scenario's [cost] section but
    # may lack some of the teams and accounts it names.
    lenient = scenario.path.startswith("<generated")
    section = CostScenario(today=scenario.today, seed=scenario.seed)
    _read_scalars(table, section)
    mix = _read_mix(table)

    team_daily = _read_amounts(table.table("team_daily"), set(scenario.teams), lenient)
    env_factor = {**ENV_FACTOR, **_read_amounts(table.table("env_factor"), None, True)}
    section.weekend = {
        **WEEKEND_FACTOR,
        **_read_amounts(table.table("weekend_factor"), None, True),
    }
    names = {account.name for account in scenario.accounts}
    account_daily = _read_amounts(table.table("account_daily"), names, lenient)

    for account in scenario.accounts:
        if account.status != "ACTIVE":
            continue
        daily = _daily_of(account, scenario.seed, team_daily, env_factor, account_daily)
        section.accounts[account.id] = AccountSpend(
            account,
            daily,
            _mix_of(account, scenario.seed, mix),
            _key(scenario.seed, account.name),
        )

    section.savings_plan = _read_savings_plan(table, scenario)
    section.spikes = [
        _read_spike(entry, scenario, section, index)
        for index, entry in enumerate(table.tables("spike") or [None])
    ]
    table.done()
    return section


def _read_scalars(table: Table, section: CostScenario) -> None:
    section.currency = table.get("currency", str, section.currency)
    section.page_size = table.get("page_size", int, section.page_size)
    if section.page_size < 1:
        raise table.error("page_size", "must be at least 1 group per page")
    for key in (
        "growth_percent",
        "noise_percent",
        "unallocated_percent",
        "net_discount_percent",
    ):
        value = table.get(key, float, getattr(section, key))
        if not 0 <= value <= 100:
            raise table.error(key, "must be between 0 and 100")
        setattr(section, key, value)
    section.provisional_days = table.get(
        "provisional_days", int, section.provisional_days
    )
    if not 0 <= section.provisional_days <= 3:
        raise table.error("provisional_days", "must be between 0 and 3 days")
    fraction = table.get("provisional_fraction", float, section.provisional_fraction)
    if not 0 < fraction <= 1:
        raise table.error("provisional_fraction", "must be above 0 and at most 1")
    section.provisional_fraction = fraction


def _read_mix(table: Table) -> dict[str, float]:
    weights = _read_amounts(table.table("services"), None, True)
    if not table.has("services"):
        return dict(WORKLOAD_MIX)
    for name in weights:
        if name not in known_services():
            raise table.error("services", f"unknown Cost Explorer service {name!r}")
    if not weights:
        raise table.error("services", "needs at least one service with a weight")
    return weights


def _read_amounts(
    table: Table, allowed: set[str] | None, lenient: bool
) -> dict[str, float]:
    """Read a table of names to amounts; an unknown name fails unless lenient."""
    amounts = {}
    for name in table.data:
        if allowed is not None and name not in allowed:
            if not lenient:
                raise table.error(
                    name, f"no team or account named {name!r} in the scenario"
                )
        value = table.get(name, float, 0.0)
        if value < 0:
            raise table.error(name, "must be zero or more")
        amounts[name] = value
    table.done()
    return amounts


def _daily_of(
    account: DemoAccount,
    seed: int,
    team_daily: dict[str, float],
    env_factor: dict[str, float],
    account_daily: dict[str, float],
) -> float:
    if account.name in account_daily:
        return account_daily[account.name]
    if account.kind in CORE_DAILY:
        return CORE_DAILY[account.kind]
    if not account.team:
        return UNMAPPED_DAILY
    base = team_daily.get(account.team)
    if base is None:
        base = round(
            random.Random(f"{seed}:team:{account.team}").uniform(400, 2400), -1
        )
    return base * env_factor.get(account.env, OTHER_ENV_FACTOR)


def _mix_of(
    account: DemoAccount, seed: int, workload: dict[str, float]
) -> dict[str, float]:
    """Return the account's service shares, summing to 1."""
    if account.kind in CORE_MIXES:
        weights = dict(CORE_MIXES[account.kind])
    else:
        rng = random.Random(f"{seed}:mix:{account.name}")
        weights = {}
        for service, weight in workload.items():
            if service in ALWAYS_USED or len(workload) <= 3 or rng.random() < 0.65:
                weights[service] = weight * rng.uniform(0.6, 1.4)
    total = sum(weights.values()) or 1.0
    return {service: weight / total for service, weight in weights.items() if weight}


def _key(seed: int, name: str) -> int:
    return zlib.crc32(f"{seed}:{name}".encode()) * 0x100000001B3


def _read_savings_plan(table: Table, scenario: Scenario) -> SavingsPlan | None:
    entry = table.table("savings_plan")
    if not table.has("savings_plan"):
        return None
    name = entry.get("account", str, scenario.management.name)
    account = scenario.account(name)
    if account is None:
        raise entry.error("account", f"no account named {name!r} in the scenario")
    days_ago = entry.get("days_ago", int, 20)
    if days_ago < 1:
        raise entry.error(
            "days_ago", "must be 1 or more: the plan is bought before today"
        )
    upfront = entry.get("upfront", float, 10000.0)
    term_days = entry.get("term_days", int, 365)
    if term_days not in (365, 1095):
        raise entry.error("term_days", "savings plans run 365 or 1095 days")
    entry.done()
    day = scenario.today - timedelta(days=days_ago)
    return SavingsPlan(account.id, day, Decimal(str(upfront)), term_days)


def _read_spike(
    entry: Table | None, scenario: Scenario, section: CostScenario, index: int
) -> Spike:
    """Read one spike; a missing account or service is picked from the seed."""
    rng = random.Random(f"{scenario.seed}:spike:{index}")
    name = entry.get("account", str, "") if entry else ""
    if name:
        account = scenario.account(name)
        if account is None or account.id not in section.accounts:
            raise _spike_error(entry, "account", f"no active account named {name!r}")
    else:
        account = rng.choice(_prod_accounts(scenario, section))
    spend = section.accounts[account.id]
    service = entry.get("service", str, "") if entry else ""
    if service and service not in spend.mix:
        used = ", ".join(sorted(spend.mix))
        raise _spike_error(
            entry, "service", f"{account.name} does not use {service!r}; it uses {used}"
        )
    if not service:
        # Weighted by share, so the seeded spike usually hits a service that
        # carries real spend, as runaway compute or storage does.
        names = sorted(spend.mix)
        service = rng.choices(names, weights=[spend.mix[n] for n in names])[0]
    percent = entry.get("increase_percent", float, 80.0) if entry else 80.0
    amount = entry.get("increase", float, -1.0) if entry else -1.0
    if entry:
        entry.done()
    increase = Decimal(str(amount)) if amount >= 0 else None
    return Spike(account.id, service, percent, increase)


def _prod_accounts(scenario: Scenario, section: CostScenario) -> list[DemoAccount]:
    found = [
        account
        for account in scenario.accounts
        if account.env == "prod" and account.id in section.accounts
    ]
    return found or [a.account for a in section.accounts.values()]


def _spike_error(entry: Table | None, key: str, message: str) -> Exception:
    assert entry is not None
    return entry.error(key, message)
