"""Role switching against the demo world: MFA once, durations, expiry, exports."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from collectors.clients import ClientFactory, ClientSettings
from collectors.config import Config
from collectors.credentials import SourceIdentity
from collectors.demo.faults import FaultRule
from collectors.demo.scenario import Scenario
from collectors.demo.server import DemoWorld
from collectors.model import Account
from collectors.switch.roles import OfferedRole, SwitchError, role_arn
from collectors.switch.session import Switcher, clamp_duration
from collectors.switch.settings import RoleSetting
from tests.conftest import demo_config


class CodeCounter:
    """An MFA callback that returns a valid code and counts the requests."""

    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, serial: str) -> str:
        self.requests += 1
        await asyncio.sleep(0.01)
        return "123456"


def accounts_of(scenario: Scenario) -> list[Account]:
    return [
        Account(a.id, a.name, team=a.team, env=a.env, status=a.status)
        for a in scenario.members
        if a.team
    ]


def offered(
    account: Account, name: str, level: str = "read-only", maximum: int | None = None
) -> OfferedRole:
    return OfferedRole(name, role_arn(account.id, name), level, maximum)


@pytest.fixture
async def factory(world: DemoWorld) -> AsyncIterator[ClientFactory]:
    built = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    yield built
    await built.close()


@pytest.fixture
def config(world: DemoWorld) -> Config:
    return demo_config(world)


def mfa_source(
    world: DemoWorld, factory: ClientFactory, counter: CodeCounter, **options: object
) -> SourceIdentity:
    return SourceIdentity(
        factory,
        keys=world.user_credentials,
        mfa_serial=world.mfa_serial,
        mfa_callback=counter,
        **options,  # type: ignore[arg-type]
    )


async def test_twenty_switches_one_mfa_session(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    counter = CodeCounter()
    switcher = Switcher(config, mfa_source(world, factory, counter))
    accounts = accounts_of(world.scenario)
    targets = [
        (account, offered(account, name))
        for account in accounts
        for name in ("ReadOnly", "Developer")
    ][:10]
    assert len(targets) == 10

    first = await asyncio.gather(*(switcher.switch(a, r) for a, r in targets))
    second = [await switcher.switch(a, r) for a, r in targets]

    assert len(first) + len(second) == 20
    assert world.counts()["sts.GetSessionToken"] == 1
    assert counter.requests == 1
    assert world.counts()["sts.AssumeRole"] == 10
    assert {s.account.id for s in second} == {a.id for a, _ in targets}


async def test_switch_credentials_act_in_account(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    switcher = Switcher(config, mfa_source(world, factory, CodeCounter()))
    account = next(a for a in accounts_of(world.scenario) if a.name == "payments-prod")

    switched = await switcher.switch(account, offered(account, "ReadOnly"))
    sts = await factory.client("sts", "us-east-1", switched.credentials, "test")
    identity = await sts.get_caller_identity()

    assert identity["Account"] == account.id
    assert identity["Arn"].endswith(":assumed-role/ReadOnly/orgtop")


@pytest.fixture
def expiring_scenario(small_scenario: Scenario) -> Scenario:
    """The small organization; each AssumeRole request first gets ExpiredToken."""
    small_scenario.faults.append(
        FaultRule(
            index=0,
            service="sts",
            operation="AssumeRole",
            error="ExpiredToken",
            times=1,
        )
    )
    return small_scenario


async def test_expired_token_renews_source_once(expiring_scenario: Scenario) -> None:
    with DemoWorld(expiring_scenario) as world:
        factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
        counter = CodeCounter()
        switcher = Switcher(demo_config(world), mfa_source(world, factory, counter))
        accounts = accounts_of(world.scenario)[:4]
        try:
            first = await switcher.source.credentials()
            switched = await asyncio.gather(
                *(switcher.switch(a, offered(a, "ReadOnly")) for a in accounts)
            )
            renewed = await switcher.source.credentials()
            sts = await factory.client("sts", "us-east-1", renewed, "source")
            signing = sts._get_credentials()
        finally:
            await factory.close()
        counts = world.counts()

    assert [s.account.id for s in switched] == [a.id for a in accounts]
    assert counter.requests == 2
    assert counts["sts.GetSessionToken"] == 2
    assert counts["sts.AssumeRole"] == 8
    assert renewed.access_key_id != first.access_key_id
    assert signing.access_key == renewed.access_key_id


async def test_chained_session_clamped_to_one_hour(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    switcher = Switcher(config, mfa_source(world, factory, CodeCounter()))
    account = accounts_of(world.scenario)[0]
    role = offered(account, "ReadOnly", maximum=43200)

    switched = await switcher.switch(account, role, duration=4 * 3600)

    assert switched.chained
    assert switched.duration_seconds == 3600
    assert any("1 hour" in notice for notice in switched.notices)
    assert switched.credentials.expiration is not None
    assert switched.credentials.expiration - time.time() < 3700


async def test_long_term_keys_keep_long_session(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    source = SourceIdentity(factory, keys=world.user_credentials)
    switcher = Switcher(config, source)
    account = accounts_of(world.scenario)[0]
    role = offered(account, "ReadOnly", maximum=43200)

    switched = await switcher.switch(account, role, duration=4 * 3600)

    assert not switched.chained
    assert switched.duration_seconds == 4 * 3600
    assert switched.notices == ()
    assert switched.credentials.expiration is not None
    assert switched.credentials.expiration - time.time() > 3 * 3600


async def test_suspended_account_rejected(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    switcher = Switcher(config, mfa_source(world, factory, CodeCounter()))
    legacy = world.scenario.account("legacy-billing")
    assert legacy is not None
    account = Account(legacy.id, legacy.name, status="SUSPENDED")

    with pytest.raises(SwitchError, match="SUSPENDED"):
        await switcher.switch(account, offered(account, "ReadOnly"))
    assert world.counts().get("sts.AssumeRole", 0) == 0


async def test_export_lines_work_in_shell(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    config.switch.endpoint_url = world.endpoint
    switcher = Switcher(config, mfa_source(world, factory, CodeCounter()))
    account = next(a for a in accounts_of(world.scenario) if a.name == "search-prod")
    switched = await switcher.switch(account, offered(account, "ReadOnly"))
    probe = (
        "import boto3, os; "
        "print(boto3.client('sts').get_caller_identity()['Account'], "
        "os.environ['ORGTOP_ROLE'])"
    )
    script = f'{switched.export_lines()}\nexec "$PYTHON" -c "$PROBE"\n'

    result = await asyncio.to_thread(
        subprocess.run,
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHON": sys.executable,
            "PROBE": probe,
            "AWS_PROFILE": "someone-else",
            "AWS_CONFIG_FILE": "/nonexistent",
        },
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [account.id, "ReadOnly"]


def test_clamp_to_role_maximum() -> None:
    seconds, notices = clamp_duration(7200, 3600, chained=False, role_name="Admin")

    assert seconds == 3600
    assert notices == ["Admin allows sessions of at most 1h; asked for 2h, using 1h"]


def test_clamp_within_limits_no_notice() -> None:
    assert clamp_duration(1800, 3600, chained=True) == (1800, [])


def test_environment_names_role_and_account() -> None:
    account = Account("123456789012", "payments-prod", team="payments", env="prod")
    role = OfferedRole("ReadOnly", role_arn(account.id, "ReadOnly"), "read-only")
    from collectors.clients import Credentials
    from collectors.switch.session import RoleSwitch

    switched = RoleSwitch(
        account,
        role,
        Credentials("AKID", "SECRET", "TOKEN", 0.0),
        "eu-west-1",
        3600,
        True,
    )
    variables = switched.child_environment({"AWS_PROFILE": "old", "HOME": "/home/x"})

    assert "AWS_PROFILE" not in variables
    assert variables["HOME"] == "/home/x"
    assert variables["AWS_SESSION_TOKEN"] == "TOKEN"
    assert variables["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert variables["ORGTOP_ENV"] == "prod"
    assert variables["AWS_CREDENTIAL_EXPIRATION"] == "1970-01-01T00:00:00Z"
    assert "AWS_ENDPOINT_URL" not in variables


def test_config_roles_reach_offer(world: DemoWorld) -> None:
    config = demo_config(world)
    levels = {role.name: role.level for role in config.switch.roles}

    assert levels == {
        "ReadOnly": "read-only",
        "Developer": "power-user",
        "Admin": "admin",
    }
    assert all(isinstance(role, RoleSetting) for role in config.switch.roles)
    assert world.scenario.management.id not in config.switch.roles[0].accounts
