from datetime import UTC, datetime, timedelta

from collectors.clients import ClientFactory, ClientSettings
from collectors.credentials import RoleSessions, SourceIdentity
from collectors.model import State
from collectors.refresh import Refresher
from tests.conftest import demo_config


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


async def test_snapshot_time_after_mfa_prompt(world) -> None:
    moments = [datetime(2026, 12, 4, 3, 0, tzinfo=UTC)]

    def clock() -> datetime:
        return moments[-1]

    async def answer_late(serial: str) -> str:
        moments.append(moments[-1] + timedelta(minutes=2))
        return "123456"

    config = demo_config(world)
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(
        factory,
        keys=world.user_credentials,
        mfa_serial=world.mfa_serial,
        mfa_callback=answer_late,
        region=config.home_region,
    )
    roles = RoleSessions(source, duration_seconds=config.role_duration)
    refresher = Refresher(config, factory, source, roles, clock=clock, demo=True)
    try:
        snapshot = await refresher.run(only=["reach"])
    finally:
        await factory.close()
    assert len(moments) == 2
    assert snapshot.generated_at == moments[-1]
