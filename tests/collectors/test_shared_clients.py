"""Role sessions share one client per service and region and sign per call."""

from __future__ import annotations

from collections import Counter

import pytest

from collectors.clients import SHARED_KEY
from collectors.demo.server import DemoWorld
from collectors.refresh import Refresher


async def test_clients_do_not_grow_with_accounts(
    world: DemoWorld, refresher: Refresher
) -> None:
    snapshot = await refresher.run()

    keys = list(refresher.factory._clients)
    shared = [key for key in keys if key[0] == SHARED_KEY]
    others = [key for key in keys if key[0] != SHARED_KEY]
    assert snapshot.errors == []
    assert len(shared) == len({(service, region) for _, service, region in shared})
    assert [key for key in shared if key[1] == "sts"] == [
        (SHARED_KEY, "sts", "us-east-1")
    ]
    assert not [key for key in keys if key[0].startswith("arn:")]
    assert {key[0] for key in others} <= {"source", "source-base"}


async def test_shared_calls_sign_as_their_role(
    world: DemoWorld, refresher: Refresher
) -> None:
    before = Counter(world.by_account)
    snapshot = await refresher.run(only=["reach"])

    served = Counter(world.by_account)
    served.subtract(before)
    callers = {
        account
        for (account, operation), count in served.items()
        if count and operation == "sts.GetCallerIdentity"
    }
    members = {a.id for a in snapshot.accounts if a.active}
    assert members <= callers
    arns = snapshot.sections["reach"]["by_account"]
    assert all(arns[a]["account"] == a for a in members)


async def test_shared_client_without_role_fails(refresher: Refresher) -> None:
    client = await refresher.factory.shared_client("sts", "us-east-1")
    with pytest.raises(RuntimeError, match="without role credentials"):
        await client.get_caller_identity()
