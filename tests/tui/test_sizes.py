"""Terminal sizes: a 40x12 terminal gets a notice, and the dashboard comes back."""

from __future__ import annotations

from tui.app import OrgtopApp
from tui.screens.dialogs import TooSmallScreen
from tui.screens.overview import OverviewScreen


async def test_tiny_terminal_then_back(offline_app: OrgtopApp) -> None:
    async with offline_app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        small_screen = offline_app.screen
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        await pilot.pause()
        restored = offline_app.screen
        await pilot.press("q")
    assert isinstance(small_screen, TooSmallScreen)
    assert isinstance(restored, OverviewScreen)
