"""A refresh of some accounts: only their requests, the rest carried over."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from collectors.demo.scenario import Scenario, load_scenario
from collectors.demo.server import DemoWorld
from collectors.refresh import Refresher
from collectors.snapshot import Snapshot
from tests.conftest import SMALL, make_refresher

DENY_SEARCH_PROD = """
[[fault]]
service = "sts"
operation = "AssumeRole"
account = "search-prod"
error = "AccessDenied"
"""


@pytest.fixture
def faulty_world(tmp_path) -> DemoWorld:
    path = tmp_path / "faulty.toml"
    path.write_text(SMALL.read_text() + DENY_SEARCH_PROD)
    scenario: Scenario = load_scenario(path)
    with DemoWorld(scenario) as running:
        yield running


@pytest.fixture
async def faulty_refresher(faulty_world: DemoWorld) -> AsyncIterator[Refresher]:
    built = make_refresher(faulty_world)
    yield built
    await built.factory.close()


def account_id(snapshot: Snapshot, name: str) -> str:
    account = snapshot.account(name)
    assert account is not None
    return account.id


def error_keys(snapshot: Snapshot) -> list[tuple[str, str, str]]:
    return sorted((e.account_id, e.collector, e.region) for e in snapshot.errors)


def quota_accounts(snapshot: Snapshot) -> set[str]:
    return {row["account_id"] for row in snapshot.sections["quotas"]["rows"]}


async def test_partial_touches_only_its_account(
    faulty_world: DemoWorld, faulty_refresher: Refresher
) -> None:
    full = await faulty_refresher.run()
    target = account_id(full, "payments-prod")
    before = Counter(faulty_world.by_account)

    partial = await faulty_refresher.run(full, accounts=[target])

    served = Counter(faulty_world.by_account)
    served.subtract(before)
    touched = {account for (account, _), count in served.items() if count}
    assert touched == {target, faulty_world.scenario.identity.id}
    assert partial.stats["accounts_refreshed"] == 1
    assert list(partial.sections) == list(full.sections)
    assert partial.sections["cost"] == full.sections["cost"]
    assert partial.sections["iam"] == full.sections["iam"]
    assert quota_accounts(partial) == quota_accounts(full)
    assert error_keys(partial) == error_keys(full)
    assert partial.states == full.states


async def test_partial_reports_failing_account_once(
    faulty_refresher: Refresher,
) -> None:
    full = await faulty_refresher.run()
    denied = account_id(full, "search-prod")

    partial = await faulty_refresher.run(full, accounts=[denied])

    assert error_keys(partial) == error_keys(full)
    assert {e.account_id for e in partial.errors} == {denied}
    assert partial.generation == full.generation + 1


async def test_partial_without_previous_is_full(refresher: Refresher) -> None:
    snapshot = await refresher.run(accounts=["111111111111"])

    assert "accounts_refreshed" not in snapshot.stats
    assert len(snapshot.accounts) == 12
    assert snapshot.stats["server_requests"]["organizations.ListAccounts"] >= 1


async def test_sections_reported_as_collectors_end(refresher: Refresher) -> None:
    reported: list[Snapshot] = []
    final = await refresher.run(on_sections=reported.append)

    sizes = [len(snapshot.sections) for snapshot in reported]
    assert sizes == sorted(sizes)
    assert sizes[0] >= 1
    assert reported[-1].sections == final.sections
    assert sorted(map(str, reported[-1].errors)) == sorted(map(str, final.errors))


async def test_unfinished_sections_keep_previous(refresher: Refresher) -> None:
    first = await refresher.run()
    reported: list[Snapshot] = []
    await refresher.run(first, on_sections=reported.append)

    assert set(reported[0].sections) == set(first.sections)
    changed = [
        name
        for name, section in reported[0].sections.items()
        if section is not first.sections[name]
    ]
    assert len(changed) == 1


async def test_partial_refresh_reports_no_sections(refresher: Refresher) -> None:
    first = await refresher.run()
    reported: list[Snapshot] = []
    await refresher.run(
        first, accounts=[first.accounts[1].id], on_sections=reported.append
    )

    assert reported == []
