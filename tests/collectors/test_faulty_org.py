"""Thirty accounts under faults: the rest is collected and the run ends."""

from __future__ import annotations

import asyncio

from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.model import ErrorKind, State
from tests.conftest import FIXTURES, make_refresher


async def test_faulty_org_collects_the_rest() -> None:
    scenario = load_scenario(FIXTURES / "thirty.toml")
    with DemoWorld(scenario) as world:
        refresher = make_refresher(world)
        try:
            snapshot = await refresher.run(only=["reach"])
        finally:
            await refresher.factory.close()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    by_id = {a.id: a.name for a in snapshot.accounts}
    failed = {(by_id[e.account_id], e.kind) for e in snapshot.errors}
    states = {(s.state, by_id.get(s.account_id, ""), s.region) for s in snapshot.states}
    reached = {by_id[i] for i in snapshot.sections["reach"]["by_account"]}
    expected_reached = {
        a.name for a in scenario.accounts
        if a.status == "ACTIVE" and not a.missing_roles
    }
    assert len(snapshot.accounts) == 31
    assert failed == {("ledger-staging", ErrorKind.ACCESS_DENIED), ("fraud-ops", ErrorKind.ACCESS_DENIED)}
    assert reached == expected_reached
    assert (State.SUSPENDED, "growth-dev", "") in states
    assert (State.SUSPENDED, "growth-ops", "") in states
    assert {(State.REGION_DISABLED, n, "eu-west-1") for n in ("search-prod", "catalog-dev", "payments-ops")} <= states
    assert snapshot.stats["retries"] > 0
    assert pending == []
    assert refresher.factory.open_clients == 0
