"""Grants, findings and role levels collected from the default demo organization.

The demo world serves the default scenario over HTTP; the IAM collector
reads it and the evaluator decides every grant. The expectations are derived
from the scenario's declared intent in :mod:`tests.collectors.access_support`.
"""

from __future__ import annotations

from typing import Any

import pytest

from collectors.access import grants_for, grants_into, matrix
from collectors.demo.scenario import Scenario, generated_scenario, load_scenario
from collectors.snapshot import Snapshot
from tests.collectors import access_support as support


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Snapshot]:
    """The default scenario, collected once for the module."""
    scenario = load_scenario()
    return scenario, support.collect_isolated(scenario, tmp_path_factory.mktemp("aws"))


def _section(collected: tuple[Scenario, Snapshot]) -> dict[str, Any]:
    return collected[1].sections["iam"]


def test_default_collects_without_errors(collected: tuple[Scenario, Snapshot]) -> None:
    assert collected[1].errors == []


def test_default_grants_match_intent(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, snapshot = collected
    assert support.collected_grants(snapshot) == support.grants(scenario)


def test_default_matrix_matches_intent(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, snapshot = collected
    built = matrix(_section(collected), snapshot.accounts)
    names = {a.id: a.name for a in snapshot.accounts}
    users = dict(built.principals)
    cells = {
        (users[arn], names[account]): cell.level
        for (arn, account), cell in built.cells.items()
    }
    assert cells == support.highest_levels(support.grants(scenario))


def test_default_findings_match_intent(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, snapshot = collected
    assert support.collected_findings(snapshot) == support.findings(scenario)


def test_default_seeds_each_finding_kind(collected: tuple[Scenario, Snapshot]) -> None:
    kinds = sorted(f["kind"] for f in _section(collected)["findings"])
    assert kinds == ["admin-without-mfa", "trusts-outside-account", "user-without-mfa"]


def test_default_role_levels_match_policies(
    collected: tuple[Scenario, Snapshot],
) -> None:
    scenario, _ = collected
    levels = {
        (r["account_id"], r["name"]): r["level"] for r in _section(collected)["roles"]
    }
    assert levels == support.role_levels(scenario)


def test_default_developers_read_prod(collected: tuple[Scenario, Snapshot]) -> None:
    mine = {
        (g["account_id"], g["role"]) for g in grants_for(_section(collected), "asmith")
    }
    scenario, _ = collected
    assert mine == {
        (scenario.account_id("checkout-prod"), "ReadOnly"),
        (scenario.account_id("checkout-dev"), "Developer"),
    }


def test_default_ops_admin_needs_mfa(collected: tuple[Scenario, Snapshot]) -> None:
    admin = [g for g in grants_for(_section(collected), "jdoe") if g["role"] == "Admin"]
    assert len(admin) == 4
    assert all(g["mfa_required"] for g in admin)


def test_default_grant_names_its_group(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, _ = collected
    into = grants_into(_section(collected), scenario.account_id("payments-dev"))
    developer = [g for g in into if g["role"] == "Developer"]
    assert [g["groups"] for g in developer] == [["payments-developers"]]


def test_default_breakglass_everywhere(collected: tuple[Scenario, Snapshot]) -> None:
    scenario, _ = collected
    accounts = {g["account_id"] for g in grants_for(_section(collected), "breakglass")}
    active = {a.id for a in scenario.members if a.status == "ACTIVE"}
    assert accounts == active


def test_default_outside_trust_keeps_external_id(
    collected: tuple[Scenario, Snapshot],
) -> None:
    roles = [r for r in _section(collected)["roles"] if r["name"] == "VendorAudit"]
    assert [row["requirements"] for row in roles[0]["trusted"]] == [
        ["external id acme-audit-7f3c"]
    ]


def test_default_grant_options_carry_mfa(collected: tuple[Scenario, Snapshot]) -> None:
    grant = next(
        g for g in grants_for(_section(collected), "asmith") if g["role"] == "Developer"
    )
    assert grant["options"] == [
        [
            {
                "kind": "mfa",
                "text": "MFA",
                "key": "aws:MultiFactorAuthPresent",
                "operator": "Bool",
                "values": ["true"],
            }
        ]
    ]


def test_default_users_mfa_devices(collected: tuple[Scenario, Snapshot]) -> None:
    devices = {u["name"]: u["mfa_devices"] for u in _section(collected)["users"]}
    assert devices == {"jdoe": 1, "asmith": 1, "build-bot": 0, "breakglass": 1}


def test_default_section_is_fresh_everywhere(
    collected: tuple[Scenario, Snapshot],
) -> None:
    assert _section(collected)["stale_accounts"] == []


def test_matrix_filters_by_team(collected: tuple[Scenario, Snapshot]) -> None:
    _, snapshot = collected
    built = matrix(_section(collected), snapshot.accounts, team="platform")
    assert {a.team for a in built.accounts} == {"platform"}
    assert {name for _, name in built.principals} == {"jdoe", "build-bot", "breakglass"}


def test_matrix_filters_by_group(collected: tuple[Scenario, Snapshot]) -> None:
    _, snapshot = collected
    built = matrix(_section(collected), snapshot.accounts, group="payments-developers")
    assert {name for _, name in built.principals} == {"jdoe"}
    assert {a.name for a in built.accounts} == {"payments-dev", "payments-prod"}


def test_matrix_filters_by_env_and_user(collected: tuple[Scenario, Snapshot]) -> None:
    _, snapshot = collected
    built = matrix(_section(collected), snapshot.accounts, user="jdoe", env="prod")
    levels = {
        a.name: built.cells[(arn, a.id)].level
        for arn, _ in built.principals
        for a in built.accounts
    }
    assert levels == {"payments-prod": "read-only", "platform-prod": "admin"}


def test_generated_org_matches_intent(tmp_path_factory: pytest.TempPathFactory) -> None:
    scenario = generated_scenario(24)
    snapshot = support.collect_isolated(scenario, tmp_path_factory.mktemp("aws"))
    assert support.collected_grants(snapshot) == support.grants(scenario)
    assert support.collected_findings(snapshot) == support.findings(scenario)
