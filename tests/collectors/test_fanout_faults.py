"""A refresh under denied roles and heavy throttling still collects the rest."""

from __future__ import annotations

from pathlib import Path

from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from collectors.model import ErrorKind
from tests.conftest import SMALL, make_refresher

FAULTS = """
[[fault]]
service = "sts"
operation = "AssumeRole"
account = "payments-prod"
error = "AccessDenied"

[[fault]]
service = "sts"
operation = "AssumeRole"
account = "search-staging"
error = "AccessDenied"

[[fault]]
rate = 0.3
error = "Throttling"
"""


async def test_denied_accounts_fail_alone(tmp_path: Path) -> None:
    path = tmp_path / "faulty.toml"
    path.write_text(SMALL.read_text() + FAULTS)
    with DemoWorld(load_scenario(path)) as world:
        refresher = make_refresher(world)
        try:
            snapshot = await refresher.run()
        finally:
            await refresher.factory.close()
    names = {a.id: a.name for a in snapshot.accounts}
    failed = {names[e.account_id] for e in snapshot.errors}
    kinds = {e.kind for e in snapshot.errors}
    reached = set(snapshot.sections["reach"]["by_account"])
    active = {a.id for a in snapshot.accounts if a.active}
    assert failed == {"payments-prod", "search-staging"}
    assert kinds == {ErrorKind.ACCESS_DENIED}
    assert reached == active - {e.account_id for e in snapshot.errors}
    assert snapshot.stats["retries"] > 0
    assert snapshot.stats["requests_total"] == sum(snapshot.stats["server_requests"].values())


async def test_denied_role_asked_once_per_refresh(tmp_path: Path) -> None:
    path = tmp_path / "deny.toml"
    path.write_text(SMALL.read_text() + FAULTS.split("[[fault]]\nrate")[0])
    with DemoWorld(load_scenario(path)) as world:
        refresher = make_refresher(world)
        prod = world.scenario.account("payments-prod").id
        try:
            first = await refresher.run()
            after_first = world.by_account[(prod, "sts.AssumeRole")]
            await refresher.run(first)
            after_second = world.by_account[(prod, "sts.AssumeRole")]
        finally:
            await refresher.factory.close()
    tasks_for_prod = sum(1 for e in first.errors if e.account_id == prod)
    assert tasks_for_prod >= 1
    assert after_first == 1
    assert after_second == 2
