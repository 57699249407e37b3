"""Fixtures shared by every test: an isolated environment and the demo world."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from collectors.clients import ClientFactory, ClientSettings
from collectors.config import Config, load_config
from collectors.credentials import RoleSessions, SourceIdentity
from collectors.demo.scenario import Scenario, load_scenario
from collectors.demo.server import DemoWorld
from collectors.refresh import Refresher
from tui import logs

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "small.toml"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Strip AWS_* and DD_* and point every config, data and log path at tmp_path."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "DD_", "ORGTOP_")):
            monkeypatch.delenv(name)
    aws = tmp_path / "aws"
    aws.mkdir()
    (aws / "config").write_text("")
    (aws / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / f"xdg-{kind.lower()}"))
    monkeypatch.setenv("ORGTOP_LOG_FILE", str(tmp_path / "orgtop.log"))
    yield


@pytest.fixture
def small_scenario() -> Scenario:
    """The 12-account test organization."""
    return load_scenario(SMALL)


@pytest.fixture
def world(small_scenario: Scenario) -> Iterator[DemoWorld]:
    """The small organization served on 127.0.0.1."""
    with DemoWorld(small_scenario) as running:
        yield running


def demo_config(world: DemoWorld, path: Path | None = None) -> Config:
    """Return a config (defaults or a file) pointed at a demo world."""
    config = load_config(path) if path else load_config(None)
    world.configure(config)
    return config


def make_refresher(
    world: DemoWorld, config: Config | None = None, **settings: object
) -> Refresher:
    """Build a refresher with the demo user's keys and a fixed MFA code."""
    config = config or demo_config(world)
    factory = ClientFactory(ClientSettings(endpoint_url=world.endpoint, **settings))  # type: ignore[arg-type]
    source = SourceIdentity(
        factory,
        keys=world.user_credentials,
        mfa_serial=world.mfa_serial,
        mfa_code="123456",
        region=config.home_region,
    )
    roles = RoleSessions(source, duration_seconds=config.role_duration)
    return Refresher(config, factory, source, roles, server_counts=world.counts, demo=True)


@pytest.fixture
async def refresher(world: DemoWorld) -> AsyncIterator[Refresher]:
    """A refresher against the small world, closed after the test."""
    built = make_refresher(world)
    yield built
    await built.factory.close()


@pytest.fixture
def debug_log() -> Iterator[Path]:
    """Send records at DEBUG to the file that ``ORGTOP_LOG_FILE`` names."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    path = logs.setup(logging.DEBUG)
    assert path is not None
    yield path
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
