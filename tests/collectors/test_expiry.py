"""Role sessions that expire during a refresh are renewed without an error."""

from __future__ import annotations

import time
from pathlib import Path

from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from tests.conftest import SMALL, make_refresher


async def test_expired_role_session_renewed(tmp_path: Path) -> None:
    path = tmp_path / "expiring.toml"
    path.write_text(SMALL.read_text() + """
[[fault]]
service = "sts"
operation = "GetCallerIdentity"
account = "payments-staging"
error = "ExpiredToken"
times = 1
""")
    with DemoWorld(load_scenario(path)) as world:
        refresher = make_refresher(world)
        try:
            snapshot = await refresher.run(only=["reach"])
        finally:
            await refresher.factory.close()
        served = world.counts()
    staging = snapshot.account("payments-staging")
    active = sum(a.active for a in snapshot.accounts)
    assert snapshot.errors == []
    assert staging.id in snapshot.sections["reach"]["by_account"]
    assert served["sts.AssumeRole"] == active + 1
    assert refresher.roles.assume_requests == active + 1


async def test_role_renewed_near_expiry_between_refreshes(world: DemoWorld) -> None:
    now = [time.time()]
    refresher = make_refresher(world)
    refresher.roles.clock = lambda: now[0]
    try:
        await refresher.run(only=["reach"])
        first = refresher.roles.assume_requests
        await refresher.run(only=["reach"])
        unchanged = refresher.roles.assume_requests
        now[0] += 3600
        snapshot = await refresher.run(only=["reach"])
    finally:
        await refresher.factory.close()
    assert unchanged == first
    assert snapshot.errors == []
    assert len(refresher.roles.assumed) == first
    assert all(count >= 2 for count in refresher.roles.assumed.values())
