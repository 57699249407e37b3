"""A second organization with other grants, and what changes between snapshots.

The small test organization gets an ``[access]`` section of its own: team
groups with other environments, a shared role held to the organization, a
role open to anyone with an external id, a permissions boundary and a user
without MFA. Its expectations come from the same intent derivation as the
default scenario's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.iam import iam_backends

from collectors.access import grants_for
from collectors.demo.faults import FaultRule
from collectors.demo.scenario import Scenario, load_scenario
from collectors.demo.server import DemoWorld
from collectors.errors import ConfigError
from collectors.snapshot import Snapshot
from collectors.sources.iam import IamCollector
from collectors.tomlcheck import Table
from tests.collectors import access_support as support
from tests.conftest import SMALL
from tui.cli import main

ACCESS = """
[[identity.user]]
name = "kim"
groups = ["search-developers"]
mfa = false

[[identity.user]]
name = "lee"
groups = ["payments-oncall", "payments-developers"]

[[identity.group]]
name = "search-developers"

[[identity.group]]
name = "payments-oncall"

[[access.team_group]]
suffix = "developers"
grants = [
    { role = "Developer", envs = ["dev", "staging"] },
    { role = "ReadOnly", envs = ["prod"] },
]

[[access.team_group]]
suffix = "oncall"
grants = [{ role = "Admin", envs = ["prod"], mfa = true }]

[[access.role]]
name = "DataShare"
managed_policies = ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
accounts = ["payments-ops"]
trust_anyone = true
organization_only = true

[[access.role]]
name = "Open"
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
accounts = ["search-dev"]
trust_anyone = true
external_id = "open-1"

[[access.grant]]
group = "payments-developers"
role = "DataShare"
accounts = ["payments-ops"]

[[access.boundary]]
user = "lee"
roles = ["ReadOnly", "Developer", "DataShare"]
"""


def write_scenario(directory: Path) -> Path:
    path = directory / "access.toml"
    path.write_text(SMALL.read_text() + ACCESS)
    return path


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Snapshot]:
    """The second scenario, collected once for the module."""
    scenario = load_scenario(write_scenario(tmp_path_factory.mktemp("scenario")))
    return scenario, support.collect_isolated(scenario, tmp_path_factory.mktemp("aws"))


@pytest.fixture
def alt_world(tmp_path: Path) -> Iterator[DemoWorld]:
    """The second scenario served for one test."""
    with DemoWorld(load_scenario(write_scenario(tmp_path))) as running:
        yield running


def test_alt_grants_match_intent(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, snapshot = collected
    assert support.collected_grants(snapshot) == support.grants(scenario)


def test_alt_intent_differs_from_default(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, _ = collected
    assert support.grants(scenario) != support.grants(load_scenario())


def test_alt_findings_match_intent(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, snapshot = collected
    assert support.collected_findings(snapshot) == support.findings(scenario)


def test_alt_reports_open_trust(collected: tuple[Scenario, Snapshot]) -> None:
    kinds = sorted(f["kind"] for f in collected[1].sections["iam"]["findings"])
    assert kinds == ["trusts-anyone", "user-without-mfa"]


def test_alt_role_levels_match_policies(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, snapshot = collected
    levels = {
        (r["account_id"], r["name"]): r["level"]
        for r in snapshot.sections["iam"]["roles"]
    }
    assert levels == support.role_levels(scenario)


def test_alt_custom_level_names_writes(collected: tuple[Scenario, Snapshot]) -> None:
    role = next(
        r for r in collected[1].sections["iam"]["roles"] if r["name"] == "DataShare"
    )
    assert role["level_reason"] == "AmazonS3FullAccess allows s3-object-lambda:*, s3:*"


def test_alt_boundary_served_over_http(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, snapshot = collected
    lee = next(u for u in snapshot.sections["iam"]["users"] if u["name"] == "lee")
    assert lee["boundary"] == f"arn:aws:iam::{scenario.identity.id}:policy/boundary-lee"


def test_alt_boundary_removes_admin(collected: tuple[Scenario, Snapshot]) -> None:
    roles = {g["role"] for g in grants_for(collected[1].sections["iam"], "lee")}
    assert roles == {"Developer", "ReadOnly", "DataShare"}


def test_alt_organization_trust_is_no_finding(
    collected: tuple[Scenario, Snapshot],
) -> None:
    role = next(
        r for r in collected[1].sections["iam"]["roles"] if r["name"] == "DataShare"
    )
    assert [row["scope"] for row in role["trusted"]] == ["organization"]


async def test_paged_details_give_same_grants(alt_world: DemoWorld) -> None:
    identity = alt_world.scenario.identity.id
    before = alt_world.by_account[(identity, "iam.GetAccountAuthorizationDetails")]
    paged = await support.collect_iam(alt_world, page_size=2)
    pages = (
        alt_world.by_account[(identity, "iam.GetAccountAuthorizationDetails")] - before
    )
    whole = await support.collect_iam(alt_world)
    assert pages > 5
    assert paged.sections["iam"]["grants"] == whole.sections["iam"]["grants"]


async def test_changes_since_previous_snapshot(alt_world: DemoWorld) -> None:
    scenario = alt_world.scenario
    async with support.iam_refresher(alt_world) as refresher:
        first = await support.refresh_iam(refresher)
        iam = iam_backends[scenario.identity.id]["aws"]
        iam.remove_user_from_group("search-developers", "kim")
        prod = scenario.account_id("search-prod")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": f"arn:aws:iam::{prod}:role/ReadOnly",
                }
            ],
        }
        iam.put_user_policy("jdoe", "search-prod", json.dumps(policy))
        second = await support.refresh_iam(refresher, first)
    changes = {
        (f["kind"], f["account_id"], f["role"], f["principal"].rsplit("/", 1)[-1])
        for f in second.sections["iam"]["findings"]
        if f["kind"].startswith("grant-")
    }
    assert changes == {
        ("grant-added", prod, "ReadOnly", "jdoe"),
        ("grant-removed", prod, "ReadOnly", "kim"),
        ("grant-removed", scenario.account_id("search-dev"), "Developer", "kim"),
        ("grant-removed", scenario.account_id("search-staging"), "Developer", "kim"),
    }


async def test_changed_mfa_requirement_reported(alt_world: DemoWorld) -> None:
    scenario = alt_world.scenario
    dev = scenario.account_id("payments-dev")
    where = f"payments-dev ({dev})"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": scenario.identity.id},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    async with support.iam_refresher(alt_world) as refresher:
        first = await support.refresh_iam(refresher)
        iam_backends[dev]["aws"].update_assume_role_policy(
            "Developer", json.dumps(trust)
        )
        second = await support.refresh_iam(refresher, first)
    changed = [
        f["summary"]
        for f in second.sections["iam"]["findings"]
        if f["kind"] == "grant-changed"
    ]
    assert changed == [
        f"{user} now has power-user without MFA through Developer in {where}"
        for user in ("jdoe", "lee")
    ]


async def test_first_snapshot_reports_no_changes(alt_world: DemoWorld) -> None:
    snapshot = await support.collect_iam(alt_world)
    kinds = {f["kind"] for f in snapshot.sections["iam"]["findings"]}
    assert not any(kind.startswith("grant-") for kind in kinds)


async def test_failed_account_keeps_previous_grants(alt_world: DemoWorld) -> None:
    prod = alt_world.scenario.account_id("payments-prod")
    fault = FaultRule(
        index=99,
        service="iam",
        operation="GetAccountAuthorizationDetails",
        account=prod,
        error="AccessDenied",
    )
    async with support.iam_refresher(alt_world) as refresher:
        first = await support.refresh_iam(refresher)
        alt_world.scenario.faults.append(fault)
        second = await support.refresh_iam(refresher, first)
    section = second.sections["iam"]
    assert section["stale_accounts"] == [prod]
    assert section["grants"] == first.sections["iam"]["grants"]
    assert not any(f["kind"].startswith("grant-") for f in section["findings"])


async def test_hardware_mfa_device_found(alt_world: DemoWorld) -> None:
    scenario = alt_world.scenario
    iam = iam_backends[scenario.identity.id]["aws"]
    iam.enable_mfa_device("kim", "GAHT12345678", "123456", "654321")
    snapshot = await support.collect_iam(alt_world)
    kim = next(u for u in snapshot.sections["iam"]["users"] if u["name"] == "kim")
    assert kim["mfa_devices"] == 1
    assert "user-without-mfa" not in {
        f["kind"] for f in snapshot.sections["iam"]["findings"]
    }


async def test_section_reused_within_ttl(alt_world: DemoWorld) -> None:
    async with support.iam_refresher(alt_world) as refresher:
        first = await support.refresh_iam(refresher)
        before = alt_world.counts().get("iam.GetAccountAuthorizationDetails", 0)
        second = await support.refresh_iam(refresher, first, force=False)
        after = alt_world.counts().get("iam.GetAccountAuthorizationDetails", 0)
    assert after == before
    assert second.sections["iam"] == first.sections["iam"]


async def test_aws_managed_policy_read_once(alt_world: DemoWorld) -> None:
    before = alt_world.counts()
    await support.collect_iam(alt_world)
    after = alt_world.counts()
    assert (
        after.get("iam.GetPolicyVersion", 0) - before.get("iam.GetPolicyVersion", 0)
        == 1
    )


def test_collect_json_carries_grants_and_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_scenario(tmp_path)
    main(
        [
            "collect",
            "--demo-scenario",
            str(path),
            "--json",
            "--store",
            str(tmp_path / "s.db"),
        ]
    )
    snapshot = Snapshot.from_document(json.loads(capsys.readouterr().out))
    scenario = load_scenario(path)
    assert [e for e in snapshot.errors if e.collector == "iam"] == []
    assert support.collected_grants(snapshot) == support.grants(scenario)
    assert support.collected_findings(snapshot) == support.findings(scenario)


async def test_zero_ttl_reads_every_refresh(alt_world: DemoWorld) -> None:
    async with support.iam_refresher(alt_world, ttl_hours=0) as refresher:
        first = await support.refresh_iam(refresher)
        before = alt_world.counts().get("iam.GetAccountAuthorizationDetails", 0)
        await support.refresh_iam(refresher, first, force=False)
        after = alt_world.counts().get("iam.GetAccountAuthorizationDetails", 0)
    assert after - before == len([a for a in first.accounts if a.active])


@pytest.mark.parametrize(
    ("key", "value"), [("page_size", 0), ("page_size", 1001), ("ttl_hours", -1.0)]
)
def test_iam_config_rejects_out_of_range(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        IamCollector().parse_config(Table({key: value}, "config.toml", "", "iam"))
