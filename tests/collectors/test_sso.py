"""An SSO source profile whose token expired says how to log in, then recovers."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.credentials
import botocore.utils
import pytest

from collectors.clients import ClientFactory, ClientSettings
from collectors.credentials import SourceIdentity
from collectors.demo.server import DemoWorld
from collectors.errors import CredentialError

START_URL = "https://d-0000000000.awsapps.com/start"


@pytest.fixture
def sso_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: DemoWorld) -> Path:
    cache = tmp_path / "sso-cache"
    cache.mkdir()
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(botocore.utils.JSONFileCache, "CACHE_DIR", str(tmp_path / "boto-cache"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", world.endpoint)
    account = world.scenario.account("payments-dev")
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        f"[profile dev-sso]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        f"sso_account_id = {account.id}\nsso_role_name = ReadOnly\nregion = us-east-1\n"
    )
    return cache


def write_token(cache: Path, expires: datetime) -> None:
    name = hashlib.sha1(START_URL.encode()).hexdigest() + ".json"
    (cache / name).write_text(json.dumps({
        "startUrl": START_URL, "region": "us-east-1", "accessToken": "demo-token",
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }))


async def test_expired_sso_token_then_renewed(sso_home: Path, world: DemoWorld) -> None:
    write_token(sso_home, datetime.now(UTC) - timedelta(hours=1))
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint))
    source = SourceIdentity(factory, profile="dev-sso")
    with pytest.raises(CredentialError) as caught:
        await source.credentials()
    write_token(sso_home, datetime.now(UTC) + timedelta(hours=8))
    arn = await source.whoami()
    await factory.close()
    assert "aws sso login --profile dev-sso" in str(caught.value)
    assert f":{world.scenario.account('payments-dev').id}:" in arn
    assert world.counts()["sso.GetRoleCredentials"] == 1
