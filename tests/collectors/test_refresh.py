from collectors.model import State
from collectors.refresh import Refresher


async def test_refresh_lists_every_account(refresher: Refresher, world) -> None:
    snapshot = await refresher.run()
    names = {account.name for account in snapshot.accounts}
    expected = {account.name for account in world.scenario.accounts}
    assert names == expected
    assert snapshot.errors == []


async def test_refresh_maps_team_and_env(refresher: Refresher) -> None:
    snapshot = await refresher.run()
    account = snapshot.account("payments-prod")
    assert account is not None
    assert (account.team, account.env, account.mapped_by) == ("payments", "prod", "tags")
    assert account.ou_path == "Workloads/Payments"


async def test_refresh_marks_suspended_and_disabled(refresher: Refresher) -> None:
    snapshot = await refresher.run()
    states = {(s.state, snapshot.account(s.account_id).name, s.region) for s in snapshot.states}
    assert (State.SUSPENDED, "legacy-billing", "") in states
    assert (State.REGION_DISABLED, "search-dev", "eu-west-1") in states


async def test_request_counts_match_server(refresher: Refresher) -> None:
    snapshot = await refresher.run()
    client_side = {k.split(".")[0] + "." + k.split(".")[1]: v for k, v in snapshot.stats["requests"].items()}
    assert snapshot.stats["requests_total"] == sum(snapshot.stats["server_requests"].values())
    assert sum(client_side.values()) == snapshot.stats["requests_total"]
