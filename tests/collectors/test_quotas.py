"""The quotas collector against the small demo organization over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collectors.config import load_config
from collectors.demo.scenario import Scenario, load_scenario
from collectors.demo.server import DemoWorld
from collectors.errors import ConfigError
from collectors.quotas import rows
from collectors.quotas.settings import DEFAULT_SERVICES, QuotaSettings
from collectors.snapshot import Snapshot
from collectors.sources.quotas import QuotasCollector
from tests.conftest import SMALL, make_refresher
from tui.cli import main

EDGE_CASES = """
[[quotas.usage]]
account = "payments-prod"
region = "eu-west-1"
quota = "L-B99A9384"
percent = 72.0
per_day = 4.0

[[quotas.unreadable]]
account = "payments-staging"
region = "us-east-1"
service = "ec2"

[[quotas.usage]]
account = "payments-staging"
region = "us-east-1"
quota = "L-1216C47A"
value = 40.0

[[quotas.usage]]
account = "search-prod"
region = "us-east-1"
quota = "L-B99A9384"
percent = 112.0

[[quotas.applied]]
account = "search-prod"
region = "eu-west-1"
quota = "L-0263D0A3"
value = 10.0

[[quotas.usage]]
account = "search-prod"
region = "eu-west-1"
quota = "L-0263D0A3"
value = 9.0
"""
VCPU = "L-1216C47A"
LAMBDA = "L-B99A9384"
ELASTIC_IPS = "L-0263D0A3"
VPCS = "L-F678F1CE"


@dataclass
class Runs:
    """Snapshots of one edge-case world: first, steady and forced refreshes."""

    scenario: Scenario
    first: Snapshot
    steady: Snapshot
    forced: Snapshot
    rate: float


@contextmanager
def isolated(tmp_path: Path) -> Iterator[None]:
    """Strip AWS_*, DD_* and ORGTOP_* for fixtures that outlive one test."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("AWS_", "DD_", "ORGTOP_")):
                patch.delenv(name)
        for name in ("config", "credentials"):
            (tmp_path / name).write_text("")
        patch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Refresh the edge-case world three times; one world serves the module."""
    tmp_path = tmp_path_factory.mktemp("quotas")
    path = tmp_path / "edge.toml"
    path.write_text(SMALL.read_text() + EDGE_CASES)
    with isolated(tmp_path):
        scenario = load_scenario(path)
        with DemoWorld(scenario) as world:
            return asyncio.run(_refresh_three_times(world))


async def _refresh_three_times(world: DemoWorld) -> Runs:
    refresher = make_refresher(world)
    try:
        first = await refresher.run(only=["quotas"])
        steady = await refresher.run(first, only=["quotas"])
        forced = await refresher.run(steady, force=True, only=["quotas"])
        client = await refresher.roles.own_client(
            refresher.role_arn(world.scenario.management.id),
            "service-quotas",
            "us-east-1",
        )
        rate = refresher.rate_for(
            client.meta.service_model.service_name, "ListServiceQuotas"
        )
    finally:
        await refresher.factory.close()
    return Runs(world.scenario, first, steady, forced, rate)


@pytest.fixture
def edge_snapshot(runs: Runs) -> Snapshot:
    return runs.first


def row(snapshot: Snapshot, account: str, region: str, code: str) -> dict[str, Any]:
    account_id = snapshot.account(account).id  # type: ignore[union-attr]
    found = [
        r
        for r in snapshot.sections["quotas"]["rows"]
        if (r["account_id"], r["region"], r["code"]) == (account_id, region, code)
    ]
    assert len(found) == 1, (account, region, code)
    return found[0]


def test_refresh_has_no_quota_errors(edge_snapshot: Snapshot) -> None:
    assert [e for e in edge_snapshot.errors if e.collector == "quotas"] == []


def test_applied_value_from_list_service_quotas(edge_snapshot: Snapshot) -> None:
    vcpus = row(edge_snapshot, "payments-prod", "us-east-1", VCPU)
    assert (vcpus["value"], vcpus["source"]) == (512.0, "applied")


def test_default_value_where_none_applied(edge_snapshot: Snapshot) -> None:
    vcpus = row(edge_snapshot, "payments-prod", "eu-west-1", VCPU)
    assert (vcpus["value"], vcpus["source"]) == (5.0, "default")


def test_unreadable_applied_shows_default(edge_snapshot: Snapshot) -> None:
    vcpus = row(edge_snapshot, "payments-staging", "us-east-1", VCPU)
    assert rows.value_text(vcpus) == "default 5, applied unknown"
    assert vcpus["applied_error"] == "AccessDeniedException"
    assert vcpus["usage"] == 40.0
    assert vcpus["percent"] is None
    assert vcpus["severity"] == "none"


def test_unreadable_applied_raises_no_alert(runs: Runs) -> None:
    collector = QuotasCollector()
    section = runs.first.sections["quotas"]
    alerts = collector.alerts(section, runs.first.accounts, QuotaSettings())
    staging = runs.first.account("payments-staging")
    assert staging is not None
    assert alerts
    assert [a for a in alerts if a.account_id == staging.id] == []


def test_unit_none_renders_without_unit(edge_snapshot: Snapshot) -> None:
    vcpus = row(edge_snapshot, "payments-prod", "us-east-1", VCPU)
    assert vcpus["unit"] == "None"
    assert rows.value_text(vcpus) == "512"


def test_quota_without_metric_shows_na(edge_snapshot: Snapshot) -> None:
    vpcs = row(edge_snapshot, "payments-prod", "us-east-1", VPCS)
    assert vpcs["value"] == 5.0
    assert rows.usage_text(vpcs) == "n/a"
    assert "no-usage-metric" in vpcs["flags"]


def test_disabled_region_is_a_state(edge_snapshot: Snapshot) -> None:
    search_dev = edge_snapshot.account("search-dev")
    assert search_dev is not None
    section = edge_snapshot.sections["quotas"]
    assert section["disabled_regions"][search_dev.id] == ["eu-west-1"]
    assert section["collected"][search_dev.id] == ["us-east-1"]
    assert [
        r
        for r in section["rows"]
        if r["account_id"] == search_dev.id and r["region"] == "eu-west-1"
    ] == []


def test_usage_above_quota_is_data_problem(edge_snapshot: Snapshot) -> None:
    concurrency = row(edge_snapshot, "search-prod", "us-east-1", LAMBDA)
    assert concurrency["percent"] == 112.0
    assert "over-quota" in concurrency["flags"]
    assert concurrency["severity"] == "none"


def test_elastic_ips_counted(edge_snapshot: Snapshot) -> None:
    addresses = row(edge_snapshot, "search-prod", "eu-west-1", ELASTIC_IPS)
    assert (addresses["usage"], addresses["usage_source"]) == (9.0, "count")
    assert addresses["percent"] == 90.0
    assert addresses["severity"] == "warning"


def test_lambda_usage_from_its_namespace(edge_snapshot: Snapshot) -> None:
    concurrency = row(edge_snapshot, "payments-prod", "eu-west-1", LAMBDA)
    assert concurrency["usage"] == 720.0
    assert concurrency["statistic"] == "Maximum"


def test_growing_trend_time_to_exhaustion(edge_snapshot: Snapshot) -> None:
    # 72 % of 1,000 growing 4 points (40 executions) a day reaches 1,000 in 7 days.
    concurrency = row(edge_snapshot, "payments-prod", "eu-west-1", LAMBDA)
    assert concurrency["slope_per_day"] == pytest.approx(40.0)
    assert concurrency["days_to_exhaustion"] == pytest.approx(7.0)
    assert len(concurrency["trend"]) == 14


def test_flat_usage_has_no_forecast(edge_snapshot: Snapshot) -> None:
    vcpus = row(edge_snapshot, "payments-prod", "us-east-1", VCPU)
    assert vcpus["days_to_exhaustion"] is None


def test_global_quotas_once_per_account(edge_snapshot: Snapshot) -> None:
    roles = [
        r for r in edge_snapshot.sections["quotas"]["rows"] if r["code"] == "L-FE177D64"
    ]
    active = [a for a in edge_snapshot.accounts if a.active]
    assert sorted(r["account_id"] for r in roles) == sorted(a.id for a in active)
    assert {r["region"] for r in roles} == {"global"}


def test_rows_ranked_by_utilization(edge_snapshot: Snapshot) -> None:
    percents = [r["percent"] for r in edge_snapshot.sections["quotas"]["rows"]]
    known = [p for p in percents if p is not None]
    assert known == sorted(known, reverse=True)
    assert percents[: len(known)] == known


def test_first_refresh_request_counts(runs: Runs) -> None:
    snapshot = runs.first
    served = {"ec2", "vpc", "lambda", "iam"}
    missing = len(set(DEFAULT_SERVICES) - served)
    account_regions = sum(len(a.regions) for a in snapshot.accounts if a.active)
    active = sum(1 for a in snapshot.accounts if a.active)
    counts = snapshot.stats["server_requests"]
    # Defaults once per region, not per account.
    assert counts["service-quotas.ListAWSDefaultServiceQuotas"] == len(
        runs.scenario.regions
    ) * (len(served) + missing)
    # Regional services in every account and region, IAM once per account.
    assert counts["service-quotas.ListServiceQuotas"] == account_regions * 3 + active
    assert counts["cloudwatch.GetMetricData"] == account_regions
    assert counts["ec2.DescribeAddresses"] == account_regions


def test_steady_refresh_reads_only_usage(runs: Runs) -> None:
    counts = runs.steady.stats["server_requests"]
    account_regions = sum(len(a.regions) for a in runs.steady.accounts if a.active)
    assert [k for k in counts if k.startswith("service-quotas.")] == []
    assert "ec2.DescribeAddresses" not in counts
    assert counts["cloudwatch.GetMetricData"] == account_regions


def test_steady_refresh_keeps_rows(runs: Runs) -> None:
    assert (
        runs.steady.sections["quotas"]["rows"] == runs.first.sections["quotas"]["rows"]
    )


def test_force_reads_values_again(runs: Runs) -> None:
    assert runs.forced.stats["server_requests"]["service-quotas.ListServiceQuotas"] > 0


def test_second_collect_reads_no_quota_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = str(tmp_path / "store.db")
    arguments = ["collect", "--demo-scenario", str(SMALL), "--json", "--store", store]
    main(arguments)
    first = json.loads(capsys.readouterr().out)
    main(arguments)
    second = json.loads(capsys.readouterr().out)
    assert first["stats"]["server_requests"]["service-quotas.ListServiceQuotas"] > 0
    counts = second["stats"]["server_requests"]
    assert [k for k in counts if k.startswith("service-quotas.")] == []
    account_regions = sum(
        len(a["regions"]) for a in second["accounts"] if a["status"] == "ACTIVE"
    )
    assert counts["cloudwatch.GetMetricData"] == account_regions


def test_rate_limit_matches_client_service_name(runs: Runs) -> None:
    assert runs.rate == 10.0


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_defaults() -> None:
    settings = load_config(None).settings_for("quotas")
    assert settings.thresholds_for(VCPU) == settings.thresholds
    assert (settings.thresholds.warning, settings.thresholds.critical) == (80.0, 95.0)
    assert settings.value_ttl_hours == 24.0
    assert settings.horizon_days == 14


def test_config_per_quota_threshold(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "[quotas]\nwarning = 70\n[quotas.thresholds.L-1216C47A]\ncritical = 90\n",
    )
    settings = load_config(path).settings_for("quotas")
    assert settings.thresholds_for(VCPU).warning == 70.0
    assert settings.thresholds_for(VCPU).critical == 90.0
    assert settings.thresholds_for(LAMBDA).critical == 95.0


def test_config_rejects_inverted_thresholds(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[quotas]\nwarning = 96\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "quotas.warning" in str(raised.value)
    assert ":2:" in str(raised.value)


def test_config_rejects_bad_quota_code(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[quotas.thresholds.vcpu]\nwarning = 50\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "quotas.thresholds.vcpu" in str(raised.value)


def test_config_rejects_short_horizon(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[quotas]\nhorizon_days = 1\n")
    with pytest.raises(ConfigError, match="horizon_days"):
        load_config(path)


def test_unknown_service_alerts_unknown(tmp_path, capsys) -> None:
    from tests.conftest import SMALL
    from tui.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[quotas]\nservices = ["ec22"]\n')
    status = main(["check", "--demo-scenario", str(SMALL), "--config", str(config),
                   "--store", str(tmp_path / "s.db")])
    out = capsys.readouterr().out
    assert status == 3
    assert "quota service 'ec22' was not found in any region" in out
    assert "no quota could be read in any account" in out


def test_throttled_values_fail_as_throttled(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "throttled.toml"
    scenario.write_text(
        SMALL.read_text()
        + '\n[[fault]]\nservice = "service-quotas"\noperation = "ListServiceQuotas"\n'
        'account = "search-prod"\nerror = "ThrottlingException"\n'
    )
    config = tmp_path / "config.toml"
    config.write_text("[fanout]\nmax_attempts = 2\n")
    status = main(
        ["collect", "--json", "--demo-scenario", str(scenario), "--config",
         str(config), "--store", str(tmp_path / "s.db")]
    )
    errors = json.loads(capsys.readouterr().out)["errors"]
    quota_errors = [e for e in errors if e["collector"] == "quotas"]
    assert status == 1
    assert quota_errors
    assert {e["kind"] for e in quota_errors} == {"throttled"}
    assert {e["operation"] for e in quota_errors} == {"ListServiceQuotas"}
