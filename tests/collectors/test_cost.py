"""The cost collector against the demo world's Cost Explorer over HTTP.

Expectations are computed from the scenario's generated amounts (the raw
numbers the demo server serves), never from the collector's own detector.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from collectors.config import Config
from collectors.demo.plugins.costmodel import SAVINGS_PLAN_SERVICE, CostScenario
from collectors.demo.scenario import Scenario, load_scenario
from collectors.demo.server import DemoWorld
from collectors.sources.cost import CostCollector
from tests.conftest import SMALL, demo_config, make_refresher

Raw = dict[tuple[str, str], list[Decimal]]
BASELINE_DAYS = 28
CENT = Decimal("0.01")
EVALUATED = 33
"""Index of the newest complete day in a 35-day window with one provisional day."""


def window(scenario: Scenario, days: int = 35) -> list[date]:
    end = scenario.today
    return [end - timedelta(days=days - i) for i in range(days)]


def raw_series(scenario: Scenario, metric: str = "UnblendedCost") -> Raw:
    """Return the scenario's amounts per account id and service, day by day."""
    section: CostScenario = scenario.sections["cost"]
    days = window(scenario)
    series: Raw = {}
    for index, day in enumerate(days):
        for key, value in section.costs(metric, day).items():
            series.setdefault(key, [Decimal(0)] * len(days))[index] = value
    return series


def jumps_in(raw: Raw, evaluated: int) -> set[tuple[str, str]]:
    """Pairs whose evaluated day is over twice, and USD 50 over, every earlier day."""
    found = set()
    for key, values in raw.items():
        earlier = max(values[evaluated - BASELINE_DAYS : evaluated])
        if values[evaluated] > 2 * earlier and values[evaluated] - earlier > 50:
            found.add(key)
    return found


def variant(tmp_path: Path, extra: str = "", **replace: str) -> Path:
    text = SMALL.read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "scenario.toml"
    path.write_text(text + extra)
    return path


def cost_config(world: DemoWorld, folder: Path, body: str = "") -> Config:
    """Return a config with ``body`` and no Cost Explorer rate limit, for speed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(f'[fanout.rate_limits]\n"ce.*" = 0.0\n\n{body}')
    return demo_config(world, path)


async def collect(world: DemoWorld, config: Config) -> dict:
    refresher = make_refresher(world, config)
    try:
        snapshot = await refresher.run(only=["cost"])
    finally:
        await refresher.factory.close()
    assert snapshot.errors == []
    return snapshot.sections["cost"]


def metric_config(world: DemoWorld, folder: Path, metric: str) -> Config:
    return cost_config(world, folder / metric, f'[cost]\nmetric = "{metric}"\n')


@dataclass
class Collected:
    """The small world's cost sections per metric and the requests they took."""

    scenario: Scenario
    sections: dict[str, dict]
    requests: int

    @property
    def section(self) -> dict:
        return self.sections["UnblendedCost"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collected]:
    """Collect the small world once per metric, with the environment isolated."""
    folder = tmp_path_factory.mktemp("cost")
    with pytest.MonkeyPatch.context() as patch:
        isolate(patch, folder)
        with DemoWorld(load_scenario(SMALL)) as world:
            sections = {}
            before = world.counts().get("ce.GetCostAndUsage", 0)
            config = cost_config(world, folder)
            sections["UnblendedCost"] = asyncio.run(collect(world, config))
            requests = world.counts()["ce.GetCostAndUsage"] - before
            for metric in ("AmortizedCost", "NetUnblendedCost"):
                config = metric_config(world, folder, metric)
                sections[metric] = asyncio.run(collect(world, config))
        yield Collected(world.scenario, sections, requests)


def isolate(patch: pytest.MonkeyPatch, folder: Path) -> None:
    """Apply what the autouse isolation fixture does, for a module-scoped fixture."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "DD_", "ORGTOP_")):
            patch.delenv(name)
    for name in ("config", "credentials"):
        (folder / name).write_text("")
    patch.setenv("AWS_CONFIG_FILE", str(folder / "config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "credentials"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        patch.setenv(f"XDG_{kind}_HOME", str(folder / f"xdg-{kind.lower()}"))


def decimals(strings: list[str]) -> list[Decimal]:
    return [Decimal(text) for text in strings]


def test_paging_reads_every_group(collected: Collected) -> None:
    section = collected.section
    raw = raw_series(collected.scenario)
    groups = sum(1 for values in raw.values() for value in values if value)
    pages = math.ceil(groups / collected.scenario.sections["cost"].page_size)
    assert pages > 1
    assert collected.requests == pages + 1
    assert section["requests"] == pages + 1
    assert section["request_cost"] == str(Decimal("0.01") * (pages + 1))
    for (account_id, service), values in raw.items():
        served = section["accounts"][account_id]["services"][service]["daily"]
        assert decimals(served) == [v.quantize(CENT) for v in values], (
            account_id,
            service,
        )
    for account_id, entry in section["accounts"].items():
        exact = account_series(raw, {account_id})
        assert decimals(entry["daily"]) == exact, account_id


def test_provisional_day_is_marked(collected: Collected) -> None:
    section = collected.section
    today = collected.scenario.today
    assert section["provisional"] == [(today - timedelta(days=1)).isoformat()]
    assert section["evaluated_day"] == (today - timedelta(days=2)).isoformat()
    assert section["days"][-1] == (today - timedelta(days=1)).isoformat()
    assert {spike["day"] for spike in section["spikes"]} == {section["evaluated_day"]}


def test_estimated_flag_covers_open_month(collected: Collected) -> None:
    section = collected.section
    month_start = collected.scenario.today.replace(day=1).isoformat()
    assert section["estimated"] == [
        day for day in section["days"] if day >= month_start
    ]


@pytest.mark.parametrize(
    "metric", ["UnblendedCost", "AmortizedCost", "NetUnblendedCost"]
)
def test_org_total_reconciles(collected: Collected, metric: str) -> None:
    section = collected.sections[metric]
    org = decimals(section["org"]["daily"])
    unallocated = decimals(section["unallocated"]["daily"])
    accounts = [decimals(entry["daily"]) for entry in section["accounts"].values()]
    for index, total in enumerate(org):
        assert total == sum(a[index] for a in accounts) + unallocated[index]
    assert all(value > 0 for value in unallocated)


def test_unallocated_matches_scenario(collected: Collected) -> None:
    cost: CostScenario = collected.scenario.sections["cost"]
    raw = raw_series(collected.scenario)
    for index, text in enumerate(collected.section["unallocated"]["daily"]):
        grouped = sum(values[index] for values in raw.values())
        assert Decimal(text) == cost.unallocated(grouped)


def test_seeded_spike_found_only_there(collected: Collected) -> None:
    section = collected.section
    expected = jumps_in(raw_series(collected.scenario), EVALUATED)
    assert len(expected) == 1
    by_level = {
        level: {
            (s["account_id"], s["service"])
            for s in section["spikes"]
            if s["level"] == level
        }
        for level in ("account", "service", "team")
    }
    ((account_id, service),) = expected
    assert by_level["service"] == expected
    assert by_level["account"] == {(account_id, "")}
    team = section["accounts"][account_id]["team"]
    assert {s["team"] for s in section["spikes"] if s["level"] == "team"} <= {team}
    account_spike = next(s for s in section["spikes"] if s["level"] == "account")
    assert [d["service"] for d in account_spike["drivers"]] == [service]


async def test_second_seed_moves_spike(tmp_path: Path) -> None:
    first = jumps_in(raw_series(load_scenario(SMALL)), EVALUATED)
    with DemoWorld(
        load_scenario(variant(tmp_path, **{"seed = 7": "seed = 3"}))
    ) as world:
        expected = jumps_in(raw_series(world.scenario), EVALUATED)
        names = {(world.scenario.account(a).name, s) for a, s in expected}
        section = await collect(world, cost_config(world, tmp_path))
    found = {
        (s["account_name"], s["service"])
        for s in section["spikes"]
        if s["level"] == "service"
    }
    assert len(expected) == 1
    assert names != {(load_scenario(SMALL).account(a).name, s) for a, s in first}
    assert found == names


def test_spike_alert_names_account_and_service(collected: Collected) -> None:
    alerts = CostCollector().alerts(collected.section, [], None)
    ((account_id, service),) = jumps_in(raw_series(collected.scenario), EVALUATED)
    assert len(alerts) == 1
    assert alerts[0].severity.name == "WARNING"
    assert alerts[0].account_id == account_id
    assert collected.scenario.account(account_id).name in alerts[0].summary
    assert service in alerts[0].summary


def account_series(raw: Raw, members: set[str]) -> list[Decimal]:
    return [
        sum((v[i] for (a, _), v in raw.items() if a in members), Decimal(0))
        for i in range(35)
    ]


def projected(series: list[Decimal], days: list[date]) -> Decimal:
    """Project by hand: complete days of the month plus the 7-day mean for the rest."""
    month = (days[-1].year, days[-1].month)
    complete = [
        i for i in range(EVALUATED + 1) if (days[i].year, days[i].month) == month
    ]
    rate = sum(series[EVALUATED - 6 : EVALUATED + 1]) / 7
    remaining = calendar.monthrange(*month)[1] - len(complete)
    return (sum(series[i] for i in complete) + rate * remaining).quantize(
        Decimal("0.01")
    )


def test_account_projection_matches_scenario(collected: Collected) -> None:
    raw = raw_series(collected.scenario)
    days = window(collected.scenario)
    month_start = days[-1].replace(day=1)
    for account_id, entry in collected.section["accounts"].items():
        series = account_series(raw, {account_id})
        month = [v for v, day in zip(series, days, strict=True) if day >= month_start]
        assert Decimal(entry["projection"]) == projected(series, days), account_id
        assert Decimal(entry["month_to_date"]) == sum(month), account_id


def test_team_projection_matches_scenario(collected: Collected) -> None:
    raw = raw_series(collected.scenario)
    members = {a.id for a in collected.scenario.accounts if a.team == "payments"}
    series = account_series(raw, members)
    expected = projected(series, window(collected.scenario))
    assert Decimal(collected.section["teams"]["payments"]["projection"]) == expected


@pytest.mark.parametrize("metric", ["UnblendedCost", "AmortizedCost"])
def test_savings_plan_day_per_metric(collected: Collected, metric: str) -> None:
    section = collected.sections[metric]
    plan = collected.scenario.sections["cost"].savings_plan
    fees = decimals(
        section["accounts"][plan.account_id]["services"][SAVINGS_PLAN_SERVICE]["daily"]
    )
    days = window(collected.scenario)
    if metric == "UnblendedCost":
        expected = [plan.upfront if day == plan.day else Decimal(0) for day in days]
    else:
        share = (plan.upfront / plan.term_days).quantize(CENT)
        expected = [share if day >= plan.day else Decimal(0) for day in days]
    assert section["metric"] == metric
    assert fees == expected
    assert not [s for s in section["spikes"] if s["service"] == SAVINGS_PLAN_SERVICE]


def test_money_is_decimal_strings(collected: Collected) -> None:
    section = json.loads(json.dumps(collected.section))
    org = section["org"]
    assert section["currency"] == "USD"
    assert isinstance(org["month_to_date"], str)
    assert Decimal(org["month_to_date"]) > 0
    assert "E" not in "".join(org["daily"]).upper()


def test_net_metric_served_and_named(collected: Collected) -> None:
    section = collected.sections["NetUnblendedCost"]
    raw = raw_series(collected.scenario, "NetUnblendedCost")
    key = next(iter(raw))
    served = section["accounts"][key[0]]["services"][key[1]]["daily"]
    assert section["metric"] == "NetUnblendedCost"
    assert section["currency"] == "USD"
    assert decimals(served) == [v.quantize(CENT) for v in raw[key]]


async def test_fresh_savings_plan_spikes_unblended_only(tmp_path: Path) -> None:
    path = variant(tmp_path, **{"days_ago = 20": "days_ago = 2"})
    flagged = {}
    with DemoWorld(load_scenario(path)) as world:
        for metric in ("UnblendedCost", "AmortizedCost"):
            section = await collect(world, metric_config(world, tmp_path, metric))
            flagged[metric] = {
                s["service"] for s in section["spikes"] if s["level"] == "service"
            }
    assert SAVINGS_PLAN_SERVICE in flagged["UnblendedCost"]
    assert SAVINGS_PLAN_SERVICE not in flagged["AmortizedCost"]


TINY_SPIKE = """
[cost.account_daily]
payments-dev = 0.02

[[cost.spike]]
account = "payments-dev"
service = "Amazon Elastic Compute Cloud - Compute"
increase_percent = 500.0
"""


async def test_small_amount_threshold(tmp_path: Path) -> None:
    sections = {}
    with DemoWorld(load_scenario(variant(tmp_path, TINY_SPIKE))) as world:
        dev = world.scenario.account("payments-dev").id
        for name, body in (
            ("default", ""),
            ("lowered", "[cost]\nspike_min_increase = 0.05\n"),
        ):
            sections[name] = await collect(
                world, cost_config(world, tmp_path / name, body)
            )
    account = sections["default"]["accounts"][dev]
    assert Decimal(account["latest"]) < 1
    assert account["change_percent"] > 300
    assert sections["default"]["spikes"] == []
    assert {s["account_id"] for s in sections["lowered"]["spikes"]} == {dev}


DENY_CE = """
[[fault]]
service = "ce"
operation = "GetCostAndUsage"
times = 100
error = "AccessDeniedException"
"""


async def test_failed_read_keeps_previous_section(tmp_path: Path) -> None:
    stored = {
        "metric": "UnblendedCost",
        "days": ["2026-12-01"],
        "spikes": [],
        "fetched_at": "2026-12-04T06:00:00+00:00",
    }
    with DemoWorld(load_scenario(variant(tmp_path, DENY_CE))) as world:
        refresher = make_refresher(world, cost_config(world, tmp_path))
        try:
            failed = await refresher.run(only=["cost"])
            first = failed.sections["cost"]
            failed.sections["cost"] = dict(stored)
            again = await refresher.run(failed, only=["cost"], force=True)
        finally:
            await refresher.factory.close()
    kinds = {(e.collector, str(e.kind)) for e in failed.errors}
    assert kinds == {("cost", "access-denied")}
    assert first["days"] == []
    assert again.sections["cost"] == stored


async def ce_requests_of(
    world: DemoWorld, config: Config, previous: object, force: bool = False
) -> tuple:
    refresher = make_refresher(world, config)
    before = world.counts().get("ce.GetCostAndUsage", 0)
    try:
        snapshot = await refresher.run(previous, only=["cost"], force=force)  # type: ignore[arg-type]
    finally:
        await refresher.factory.close()
    return snapshot, world.counts().get("ce.GetCostAndUsage", 0) - before


async def test_stored_section_reuse_rules(world: DemoWorld, tmp_path: Path) -> None:
    unblended = metric_config(world, tmp_path, "UnblendedCost")
    amortized = metric_config(world, tmp_path, "AmortizedCost")
    first, _ = await ce_requests_of(world, unblended, None)
    same, same_requests = await ce_requests_of(world, unblended, first)
    changed, changed_requests = await ce_requests_of(world, amortized, same)
    _, forced_requests = await ce_requests_of(world, amortized, changed, force=True)
    pages = first.sections["cost"]["requests"]
    assert same_requests == 0
    assert changed_requests == pages
    assert changed.sections["cost"]["metric"] == "AmortizedCost"
    assert forced_requests == pages
