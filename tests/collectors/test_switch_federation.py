"""Console sign-in URLs against the demo's federation stand-in."""

from __future__ import annotations

import asyncio
import dataclasses
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import pytest

from collectors.clients import ClientFactory, ClientSettings
from collectors.config import Config
from collectors.credentials import SourceIdentity
from collectors.demo.server import DemoWorld
from collectors.model import Account
from collectors.switch.federation import signin_url, token_request_url
from collectors.switch.roles import OfferedRole, SwitchError, role_arn
from collectors.switch.session import RoleSwitch, Switcher
from tests.conftest import demo_config


@pytest.fixture
async def factory(world: DemoWorld) -> AsyncIterator[ClientFactory]:
    built = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    yield built
    await built.close()


@pytest.fixture
def config(world: DemoWorld) -> Config:
    return demo_config(world)


async def switch_into(
    world: DemoWorld,
    factory: ClientFactory,
    config: Config,
    name: str = "payments-prod",
    *,
    mfa: bool = True,
) -> RoleSwitch:
    source = SourceIdentity(
        factory,
        keys=world.user_credentials,
        mfa_serial=world.mfa_serial if mfa else None,
        mfa_code="123456",
    )
    demo = world.scenario.account(name)
    assert demo is not None
    account = Account(demo.id, demo.name, team=demo.team, env=demo.env)
    role = OfferedRole("ReadOnly", role_arn(account.id, "ReadOnly"), "read-only")
    return await Switcher(config, source).switch(account, role)


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


async def test_signin_url_accepted_by_stand_in(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    switched = await switch_into(world, factory, config)

    url = await signin_url(switched, config.switch)
    status, page = await asyncio.to_thread(fetch, url)

    assert url.startswith(config.switch.federation_endpoint + "?Action=login&")
    assert status == 200
    assert switched.role.arn in page
    assert [login.role_arn for login in world.extra["federation"].logins] == [
        switched.role.arn
    ]


async def test_login_url_lands_on_region_home(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    switched = await switch_into(world, factory, config)

    url = await signin_url(switched, config.switch)
    query = parse_qs(urlparse(url).query)

    assert query["Destination"] == [
        "https://console.aws.amazon.com/console/home?region=us-east-1"
    ]
    assert len(query["SigninToken"][0]) > 20


async def test_forged_session_rejected(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    switched = await switch_into(world, factory, config)
    forged = dataclasses.replace(
        switched,
        credentials=dataclasses.replace(
            switched.credentials, secret_access_key="forged"
        ),
    )

    with pytest.raises(SwitchError, match="rejected the role session") as caught:
        await signin_url(forged, config.switch)

    assert "forged" not in str(caught.value)
    assert world.extra["federation"].requests["getSigninToken"] == 1


async def test_unknown_token_rejected(world: DemoWorld, config: Config) -> None:
    endpoint = config.switch.federation_endpoint
    destination = "https%3A%2F%2Fconsole.aws.amazon.com%2F"
    url = f"{endpoint}?Action=login&Destination={destination}&SigninToken=made-up"

    status, _ = await asyncio.to_thread(fetch, url)

    assert status == 400


async def test_token_older_than_fifteen_minutes_rejected(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    stand_in = world.extra["federation"]
    switched = await switch_into(world, factory, config)
    url = await signin_url(switched, config.switch)

    real_clock = stand_in.clock
    stand_in.clock = lambda: real_clock() + 901
    try:
        status, _ = await asyncio.to_thread(fetch, url)
    finally:
        stand_in.clock = real_clock

    assert status == 400


async def test_session_duration_only_when_not_chained(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    chained = await switch_into(world, factory, config, mfa=True)
    direct = await switch_into(world, factory, config, "search-dev", mfa=False)

    chained_query = parse_qs(urlparse(token_request_url(chained, "https://x/f")).query)
    direct_query = parse_qs(urlparse(token_request_url(direct, "https://x/f")).query)
    url = await signin_url(direct, config.switch)
    status, _ = await asyncio.to_thread(fetch, url)

    assert chained.chained
    assert "SessionDuration" not in chained_query
    assert not direct.chained
    assert direct_query["SessionDuration"] == ["3600"]
    assert status == 200


async def test_unreachable_endpoint_named_without_session(
    world: DemoWorld, factory: ClientFactory, config: Config
) -> None:
    switched = await switch_into(world, factory, config)
    config.switch.federation_endpoint = "http://127.0.0.1:9/federation"

    with pytest.raises(SwitchError, match="cannot reach") as caught:
        await signin_url(switched, config.switch)

    assert switched.credentials.session_token not in str(caught.value)
