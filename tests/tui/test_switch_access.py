"""Roles offered from the access map: the grants of the snapshot's identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.snapshot import Snapshot
from collectors.store import Store
from tests.conftest import SMALL
from tests.tui.switch_support import ACCESS_GRANTS, save_inventory
from tui.cli import main
from tui.switch_service import granted_roles


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small organization, where payments developers (jdoe) hold grants."""
    path = tmp_path_factory.mktemp("access") / "small-access.toml"
    path.write_text(SMALL.read_text() + ACCESS_GRANTS)
    return path


@pytest.fixture(scope="module")
def store(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_inventory(
        tmp_path_factory.mktemp("store"), scenario=scenario, collectors=("iam",)
    )


@pytest.fixture
def snapshot(store: Path) -> Snapshot:
    opened = Store(store)
    try:
        latest = opened.latest()
    finally:
        opened.close()
    assert latest is not None
    return latest


def switch(scenario: Path, store: Path, *argv: str) -> int:
    common = ["--demo-scenario", str(scenario), "--store", str(store)]
    return main(["switch", *common, *argv])


def test_granted_roles_follow_grants(snapshot: Snapshot) -> None:
    prod = snapshot.account("payments-prod")
    dev = snapshot.account("payments-dev")
    assert prod is not None and dev is not None

    in_prod = granted_roles(snapshot, prod)
    in_dev = granted_roles(snapshot, dev)

    assert [(r.name, r.level, r.origin) for r in in_prod or []] == [
        ("ReadOnly", "read-only", "access map")
    ]
    assert [(r.name, r.level) for r in in_dev or []] == [("Developer", "power-user")]


def test_no_grant_is_empty_not_unknown(snapshot: Snapshot) -> None:
    other = snapshot.account("search-prod")
    assert other is not None

    assert granted_roles(snapshot, other) == []


def test_role_outside_grants_rejected(
    scenario: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = switch(scenario, store, "payments-prod", "--role", "Admin", "--export")
    err = capsys.readouterr().err

    assert status == 2
    assert "role 'Admin' is not among the roles offered in payments-prod" in err
    assert "  ReadOnly (read-only)" in err


def test_only_granted_role_chosen(
    scenario: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = switch(scenario, store, "payments-prod", "--export")

    assert status == 0
    assert "export ORGTOP_ROLE=ReadOnly\n" in capsys.readouterr().out


def test_account_without_grant_explained(
    scenario: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = switch(scenario, store, "search-prod", "--role", "ReadOnly", "--export")

    assert status == 2
    assert "the access map grants you no role in search-prod" in capsys.readouterr().err
