"""Helpers shared by the tests of ``orgtop switch``, ``exec`` and ``profiles``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tui.runtime import Options, Runtime
from tui.switch_service import INVENTORY_ONLY


def save_inventory(scenario: Path, folder: Path) -> Path:
    """Store one inventory of a demo organization and return the store's path.

    Runs given ``--store`` then reuse each account's tags, OU and regions
    instead of listing them again, which the Organizations rate limit makes
    take seconds per run.
    """
    config = folder / "empty.toml"
    config.write_text("")
    store = folder / "accounts.sqlite3"
    options = Options(
        demo_scenario=scenario, config=config, store=store, mfa_code="123456"
    )
    runtime = Runtime(options)

    async def list_and_save() -> None:
        try:
            snapshot = await runtime.build().run(only=INVENTORY_ONLY)
            runtime.open_store().save(snapshot)
        finally:
            await runtime.close()

    asyncio.run(list_and_save())
    return store
