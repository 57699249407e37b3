"""Source identity and role sessions against the demo world's STS."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from collectors.clients import ClientFactory, ClientSettings
from collectors.credentials import RoleSessions, SourceIdentity
from collectors.demo.server import DemoWorld
from collectors.errors import CredentialError


def write_aws_config(world: DemoWorld, body: str) -> None:
    keys = world.user_credentials
    text = body.format(key=keys.access_key_id, secret=keys.secret_access_key, serial=world.mfa_serial)
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(text)


def asking(answers: list[str]):
    asked: list[str] = []

    async def callback(serial: str) -> str | None:
        asked.append(serial)
        return answers.pop(0) if answers else None

    return callback, asked


async def test_mfa_asked_once_for_many_callers(world: DemoWorld) -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    callback, asked = asking(["123456"])
    source = SourceIdentity(factory, keys=world.user_credentials, mfa_serial=world.mfa_serial, mfa_callback=callback)
    before = world.counts().get("sts.GetSessionToken", 0)
    results = await asyncio.gather(*(source.credentials() for _ in range(20)))
    await factory.close()
    assert len({r.access_key_id for r in results}) == 1
    assert asked == [world.mfa_serial]
    assert world.counts()["sts.GetSessionToken"] - before == 1


async def test_cancelled_mfa_is_credential_error(world: DemoWorld) -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    callback, _ = asking([])
    source = SourceIdentity(factory, keys=world.user_credentials, mfa_serial=world.mfa_serial, mfa_callback=callback)
    with pytest.raises(CredentialError, match="MFA code is needed"):
        await source.credentials()
    await factory.close()


async def test_no_terminal_never_prompts(world: DemoWorld) -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(factory, keys=world.user_credentials, mfa_serial=world.mfa_serial)
    with pytest.raises(CredentialError, match="--mfa-code"):
        await source.credentials()
    await factory.close()


async def test_role_profile_inherits_mfa_serial(world: DemoWorld) -> None:
    prod = world.scenario.account("payments-prod")
    write_aws_config(world, f"""
[profile identity]
aws_access_key_id = {{key}}
aws_secret_access_key = {{secret}}
mfa_serial = {{serial}}

[profile prod-admin]
role_arn = arn:aws:iam::{prod.id}:role/Admin
source_profile = identity
""")
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    callback, asked = asking(["654321"])
    source = SourceIdentity(factory, profile="prod-admin", mfa_callback=callback)
    arn = await source.whoami()
    await factory.close()
    assert asked == [world.mfa_serial]
    assert f":{prod.id}:" in arn
    assert source.chained


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[profile a]\nrole_arn = arn:aws:iam::111111111111:role/x\nsource_profile = b\n"
         "[profile b]\nrole_arn = arn:aws:iam::111111111111:role/y\nsource_profile = a\n", "cycle: a -> b -> a"),
        ("[profile a]\nrole_arn = arn:aws:iam::111111111111:role/x\nsource_profile = gone\n", "'gone'"),
    ],
)
async def test_broken_profile_chain_is_clear(world: DemoWorld, body: str, message: str) -> None:
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(body)
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(factory, profile="a")
    with pytest.raises(CredentialError, match=message):
        await asyncio.wait_for(source.credentials(), 10)
    await factory.close()


async def test_credential_process_runs_once(world: DemoWorld, tmp_path: Path) -> None:
    keys = world.user_credentials
    marker = tmp_path / "runs"
    script = tmp_path / "creds.py"
    script.write_text(
        "import json, pathlib\n"
        f"pathlib.Path({str(marker)!r}).open('a').write('x')\n"
        f"print(json.dumps({{'Version': 1, 'AccessKeyId': {keys.access_key_id!r}, "
        f"'SecretAccessKey': {keys.secret_access_key!r}}}))\n"
    )
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        f"[profile proc]\ncredential_process = {sys.executable} {script}\n"
    )
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(factory, profile="proc")
    roles = RoleSessions(source)
    accounts = [a for a in world.scenario.accounts if a.status == "ACTIVE"]
    await asyncio.gather(*(
        roles.client(f"arn:aws:iam::{a.id}:role/{world.scenario.collector_role}", "sts", "us-east-1")
        for a in accounts
    ))
    await factory.close()
    assert marker.read_text() == "x"


async def test_role_session_reused_until_expiry(world: DemoWorld) -> None:
    now = [1_000_000_000.0]
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(factory, keys=world.user_credentials)
    roles = RoleSessions(source, clock=lambda: now[0])
    arn = f"arn:aws:iam::{world.scenario.account('payments-dev').id}:role/ReadOnly"
    first, _ = await roles.credentials(arn)
    again, _ = await roles.credentials(arn)
    now[0] = (first.expiration or 0) - 60
    renewed, _ = await roles.credentials(arn)
    await factory.close()
    assert again.access_key_id == first.access_key_id
    assert renewed.access_key_id != first.access_key_id
    assert roles.assume_requests == 2


async def test_chained_sessions_clamped_to_one_hour(world: DemoWorld) -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(factory, keys=world.user_credentials)
    source.chained = True
    roles = RoleSessions(source, duration_seconds=4 * 3600)
    assert roles.effective_duration() == 3600
    await factory.close()


async def test_mfa_session_clamps_role_duration(world: DemoWorld) -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(factory, keys=world.user_credentials, mfa_serial=world.mfa_serial, mfa_code="123456")
    roles = RoleSessions(source, duration_seconds=4 * 3600)
    before = roles.effective_duration()
    await source.credentials()
    after = roles.effective_duration()
    await factory.close()
    assert before == 4 * 3600
    assert after == 3600
