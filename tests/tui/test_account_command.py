"""``:account`` with a prefix of a name or id, as ``orgtop switch`` accepts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from collectors.model import Account
from tests.tui.conftest import messages, running
from tui.app import OrgtopApp
from tui.screens.account import AccountScreen, ambiguity_message
from tui.screens.overview import OverviewScreen


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("payments-pr", "payments-prod"),
        ("PAYMENTS-PR", "payments-prod"),
        ("33218", "payments-prod"),
        ("legacy", "legacy-billing"),
        ("search-dev", "search-dev"),
    ],
)
async def test_account_prefix_opens_account(
    offline_app: OrgtopApp, typed: str, expected: str
) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *f"account {typed}", "enter")
        await pilot.pause()
        screen = offline_app.screen

        assert isinstance(screen, AccountScreen)
        assert screen.account is not None
        assert screen.account.name == expected


async def test_account_ambiguous_prefix_lists_matches(
    offline_app: OrgtopApp,
) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"account payments-", "enter")
        await pilot.pause()
        notices = messages(offline_app)

        assert isinstance(offline_app.screen, OverviewScreen)
        assert len(notices) == 1
        assert "'payments-' matches 4 accounts" in notices[0]
        assert (
            "payments-dev, payments-ops, payments-prod, payments-staging" in notices[0]
        )


async def test_account_unknown_name_notifies(offline_app: OrgtopApp) -> None:
    async with running(offline_app) as pilot:
        await pilot.press("colon", *"account nosuch", "enter")
        await pilot.pause()
        notices = messages(offline_app)

        assert isinstance(offline_app.screen, OverviewScreen)
        assert notices == [
            "No account with id or name 'nosuch' in the latest snapshot."
        ]


def test_ambiguity_message_counts_the_rest() -> None:
    matches = [Account(f"10000000000{i}", f"team-{i}") for i in range(10)]

    message = ambiguity_message("team-", matches)

    assert message.startswith("'team-' matches 10 accounts: team-0, team-1,")
    assert "team-7 and 2 more." in message
    assert "team-8" not in message


async def test_prefix_screen_keeps_its_account(offline_app: OrgtopApp) -> None:
    async with offline_app.run_test(size=(120, 36)) as pilot:
        offline_app.run_command("account payments-pr")
        await pilot.pause()
        screen = offline_app.screen
        assert isinstance(screen, AccountScreen)
        opened = screen.account
        assert opened is not None

        snapshot = offline_app.snapshot
        twin = replace(opened, id="999999999999", name="payments-prodlike")
        offline_app.apply_snapshot(
            replace(snapshot, accounts=[*snapshot.accounts, twin])
        )
        await pilot.pause()
        assert screen.account is not None
        assert screen.account.id == opened.id
