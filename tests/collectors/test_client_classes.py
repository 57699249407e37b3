"""Clients of one service share one class, and each still signs as its own role."""

from __future__ import annotations

import aioboto3

from collectors.clients import ClientFactory, ClientSettings, Credentials
from collectors.demo.server import DemoWorld

UNUSED_ENDPOINT = "http://127.0.0.1:9"


async def test_same_service_shares_class() -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=UNUSED_ENDPOINT))
    keys = Credentials("AKIAEXAMPLE", "secret")
    try:
        first = await factory.client("ec2", "us-east-1", keys, "role-a")
        second = await factory.client("ec2", "eu-west-1", keys, "role-b")
        other = await factory.client("sts", "us-east-1", keys, "role-a")
    finally:
        await factory.close()
    assert first is not second
    assert type(first) is type(second)
    assert type(first) is not type(other)
    assert second.meta.region_name == "eu-west-1"


async def test_other_sessions_build_own_class() -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=UNUSED_ENDPOINT))
    keys = Credentials("AKIAEXAMPLE", "secret")
    plain = aioboto3.Session()
    try:
        shared = await factory.client("ec2", "us-east-1", keys, "role-a")
        async with plain.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=UNUSED_ENDPOINT,
            aws_access_key_id="AKIAEXAMPLE",
            aws_secret_access_key="secret",
        ) as own:
            assert type(own) is not type(shared)
    finally:
        await factory.close()


async def test_shared_class_keeps_credentials(world: DemoWorld) -> None:
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    assert world.user_credentials is not None
    try:
        user = await factory.client("sts", "us-east-1", world.user_credentials, "user")
        identity = await user.get_caller_identity()
        management = world.scenario.management.id
        answer = await user.assume_role(
            RoleArn=f"arn:aws:iam::{management}:role/{world.scenario.collector_role}",
            RoleSessionName="orgtop-test",
        )
        keys = answer["Credentials"]
        role_keys = Credentials(
            keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"]
        )
        role = await factory.client("sts", "us-east-1", role_keys, "role")
        assumed = await role.get_caller_identity()
    finally:
        await factory.close()
    assert type(user) is type(role)
    assert identity["Account"] == world.scenario.identity.id
    assert assumed["Account"] == management
    assert ":assumed-role/" in assumed["Arn"]
