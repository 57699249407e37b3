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
