"""Helpers shared by the tests of ``orgtop switch``, ``exec`` and ``profiles``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tui.runtime import Options, Runtime
from tui.switch_service import INVENTORY_ONLY

ACCESS_GRANTS = """
[[access.team_group]]
suffix = "developers"
grants = [
    { role = "ReadOnly", envs = ["prod"] },
    { role = "Developer", envs = ["dev"] },
]
"""
"""A scenario section: payments developers (jdoe) read prod and develop in dev."""


def save_inventory(
    folder: Path,
    *,
    scenario: Path | None = None,
    config: Path | None = None,
    collectors: tuple[str, ...] = INVENTORY_ONLY,
) -> Path:
    """Store one refresh and return the store's path.

    The refresh runs on a demo world of ``scenario`` when one is given, else
    through ``config`` and the environment. By default it lists the accounts
    alone. Runs given ``--store`` then reuse each account's tags, OU and
    regions instead of listing them again, which the Organizations rate
    limit makes take seconds per run.
    """
    if config is None:
        config = folder / "empty.toml"
        config.write_text("")
    store = folder / "accounts.sqlite3"
    options = Options(
        demo_scenario=scenario, config=config, store=store, mfa_code="123456"
    )
    runtime = Runtime(options)

    async def list_and_save() -> None:
        try:
            snapshot = await runtime.build().run(only=collectors)
            runtime.open_store().save(snapshot)
        finally:
            await runtime.close()

    asyncio.run(list_and_save())
    return store
