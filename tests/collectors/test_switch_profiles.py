"""The managed profile block: rendering, placement, removal and safe writes."""

from __future__ import annotations

import configparser
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.model import Account
from collectors.switch.profiles import (
    BEGIN,
    END,
    ProfileEntry,
    ProfileFileError,
    build_entries,
    read_config,
    render_block,
    replace_block,
    sections_outside,
    split_block,
    unified_diff,
    write_config,
)
from collectors.switch.roles import OfferedRole, role_arn

HAND_WRITTEN = (
    "# my own settings, keep them\n"
    "[default]\n"
    "region = eu-west-1\n"
    "output = json\n"
    "\n"
    "[profile jdoe]\n"
    "mfa_serial = arn:aws:iam::111122223333:mfa/jdoe\n"
    "region = us-east-1   ; trailing spaces and a comment  \n"
)
TAIL = "\n[profile after]\nregion = ap-southeast-2\n"

ACCOUNTS = [
    Account("111111111112", "payments-prod", team="payments", env="prod"),
    Account("111111111111", "payments-dev", team="payments", env="dev"),
    Account("333333333331", "sandbox-a", team="unassigned", env="unassigned"),
    Account("333333333332", "sandbox-b", team="unassigned", env="unassigned"),
    Account("444444444444", "old", team="legacy", env="prod", status="SUSPENDED"),
]


def roles_of(account: Account) -> list[OfferedRole]:
    return [
        OfferedRole("ReadOnly", role_arn(account.id, "ReadOnly"), "read-only"),
        OfferedRole("Admin", role_arn(account.id, "Admin"), "admin"),
    ]


def entries_for(
    accounts: list[Account], existing: set[str] | None = None, mfa_serial: str = ""
) -> tuple[list[ProfileEntry], list[str]]:
    return build_entries(
        accounts,
        roles_of,
        pattern="{team}-{env}-{role}",
        source_profile="jdoe",
        mfa_serial=mfa_serial,
        region="us-east-1",
        existing_names=existing or set(),
    )


def block_for(accounts: list[Account]) -> str:
    entries, _ = entries_for(accounts, mfa_serial="arn:aws:iam::111122223333:mfa/jdoe")
    return render_block(entries)


def test_block_has_each_profile_field() -> None:
    block = block_for(ACCOUNTS[:1])

    parser = configparser.RawConfigParser()
    parser.read_string(block)
    profile = parser["profile payments-prod-Admin"]

    assert profile["role_arn"] == "arn:aws:iam::111111111112:role/Admin"
    assert profile["source_profile"] == "jdoe"
    assert profile["mfa_serial"] == "arn:aws:iam::111122223333:mfa/jdoe"
    assert profile["region"] == "us-east-1"


def test_entries_skip_suspended_and_sort() -> None:
    entries, _ = entries_for(ACCOUNTS)
    names = [entry.name for entry in entries]

    assert names[:4] == [
        "payments-dev-ReadOnly",
        "payments-dev-Admin",
        "payments-prod-ReadOnly",
        "payments-prod-Admin",
    ]
    assert not any("444444444444" in entry.role.arn for entry in entries)


def test_colliding_names_get_account_id() -> None:
    entries, _ = entries_for(ACCOUNTS)
    names = [entry.name for entry in entries]

    assert "unassigned-unassigned-ReadOnly-333333333331" in names
    assert "unassigned-unassigned-ReadOnly-333333333332" in names
    assert len(names) == len(set(names))


def test_profile_taken_outside_block_skipped() -> None:
    entries, notices = entries_for(ACCOUNTS[:1], {"payments-prod-Admin"})

    assert [entry.name for entry in entries] == ["payments-prod-ReadOnly"]
    assert "payments-prod-Admin" in notices[0]


def test_unsafe_characters_replaced() -> None:
    account = Account("1", "weird name", team="a b", env="pr]od")
    entries, _ = entries_for([account])

    assert entries[0].name == "a-b-pr-od-ReadOnly"


def test_block_appended_after_user_content() -> None:
    block = block_for(ACCOUNTS[:2])

    updated = replace_block(HAND_WRITTEN, block)

    assert updated == HAND_WRITTEN + block


def test_block_replaced_in_place_byte_for_byte() -> None:
    original = HAND_WRITTEN + block_for(ACCOUNTS[:2]) + TAIL

    updated = replace_block(original, block_for(ACCOUNTS[:1]))
    before, block, after = split_block(updated)

    assert before == HAND_WRITTEN
    assert after == TAIL
    assert block == block_for(ACCOUNTS[:1])
    assert "payments-dev" not in updated


def test_same_block_changes_nothing() -> None:
    original = HAND_WRITTEN + block_for(ACCOUNTS) + TAIL

    assert replace_block(original, block_for(ACCOUNTS)) == original
    assert unified_diff(original, original, Path("config")) == ""


def test_remove_restores_original() -> None:
    with_block = replace_block(HAND_WRITTEN, block_for(ACCOUNTS))

    assert replace_block(with_block, None) == HAND_WRITTEN


def test_missing_final_newline_added_once() -> None:
    text = "[default]\nregion = eu-west-1"

    updated = replace_block(text, block_for(ACCOUNTS[:1]))

    assert updated.startswith(text + "\n" + BEGIN)


def test_crlf_file_keeps_crlf() -> None:
    text = "[default]\r\nregion = eu-west-1\r\n"

    updated = replace_block(text, render_block([], "\r\n"))

    assert updated.startswith(text)
    assert "\n" not in updated.replace("\r\n", "")


@pytest.mark.parametrize(
    "damaged",
    [
        f"{BEGIN}\n[profile a]\n",
        f"[profile a]\n{END}\n",
        f"{END}\n{BEGIN}\n",
        f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n",
    ],
)
def test_damaged_block_rejected(damaged: str) -> None:
    with pytest.raises(ProfileFileError, match="damaged"):
        replace_block(HAND_WRITTEN + damaged, block_for(ACCOUNTS[:1]))


def test_sections_outside_ignore_block() -> None:
    text = HAND_WRITTEN + block_for(ACCOUNTS[:1]) + TAIL

    assert sections_outside(text) == {"default", "jdoe", "after"}


def test_diff_shows_added_profiles() -> None:
    diff = unified_diff(
        HAND_WRITTEN, HAND_WRITTEN + block_for(ACCOUNTS[:1]), Path("cfg")
    )

    assert diff.startswith("--- cfg\n+++ cfg (orgtop)\n")
    assert "+[profile payments-prod-ReadOnly]\n" in diff


def test_write_keeps_backup_and_mode(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    folder.mkdir()
    path = folder / "config"
    path.write_text(HAND_WRITTEN)
    path.chmod(0o640)
    moment = datetime(2026, 12, 4, 10, 15, tzinfo=UTC)

    backup = write_config(path, HAND_WRITTEN + "x\n", moment)

    assert backup == folder / "config.orgtop-20261204T101500.bak"
    assert backup.read_text() == HAND_WRITTEN
    assert path.read_text() == HAND_WRITTEN + "x\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in folder.iterdir()) == ["config", backup.name]


def test_write_follows_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "aws-config"
    real.parent.mkdir()
    real.write_text(HAND_WRITTEN)
    link = tmp_path / "config"
    link.symlink_to(real)

    write_config(link, "new\n")

    assert link.is_symlink()
    assert real.read_text() == "new\n"


def test_write_new_file_private(tmp_path: Path) -> None:
    path = tmp_path / "new-home" / ".aws" / "config"

    backup = write_config(path, "new\n")

    assert backup is None
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_read_keeps_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "config"
    raw = b"[default]\r\nregion = eu-west-1 # caf\xe9\r\n"
    path.write_bytes(raw)

    write_config(path, replace_block(read_config(path), block_for(ACCOUNTS[:1])))

    assert path.read_bytes().startswith(raw)
    assert os.path.getsize(path) > len(raw)
