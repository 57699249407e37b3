"""The fan-out benchmark's code path at a tiny size, so it cannot rot unseen.

Each test starts the benchmark's replay server (a demo world of about ten
accounts in a child process) with no added latency; nothing here measures
or asserts a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.fanout import FIRST_REFRESH, first_refresh
from bench.harness import ReplayServer, bench_refresher, run_client
from bench.replay import ServedWorld
from bench.sequential import sequential_loop

TINY = 10


@pytest.fixture(scope="module")
def served() -> Iterator[ServedWorld]:
    """A replay server for a generated organization of about ten accounts."""
    with ReplayServer(TINY, latency_ms=0) as running:
        yield running


def test_first_refresh_counts_agree(served: ServedWorld) -> None:
    measured = run_client(first_refresh, served, True)
    assert measured.label == FIRST_REFRESH
    assert measured.client_requests > served.accounts
    assert measured.client_requests == measured.server_requests
    assert measured.count_mismatches() == {}
    assert measured.errors == 0
    assert measured.calls


def test_sequential_loop_repeats_requests(served: ServedWorld) -> None:
    measured = run_client(first_refresh, served, True)
    loop = run_client(sequential_loop, served, measured.calls)
    assert loop.client_requests == measured.client_requests
    assert loop.client_requests == loop.server_requests
    assert loop.count_mismatches() == {}


async def test_replayed_answers_name_each_account(served: ServedWorld) -> None:
    async with bench_refresher(served) as refresher:
        snapshot = await refresher.run()
    reached = snapshot.sections["reach"]["by_account"]
    member_ids = {account.id for account in snapshot.accounts}
    assert len(member_ids) == served.accounts
    assert set(reached) == member_ids
    for account_id, answer in reached.items():
        assert answer["account"] == account_id
        assert f"::{account_id}:assumed-role/" in answer["arn"]
