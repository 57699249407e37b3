"""How the screens look, with a stored snapshot and a frozen clock.

Later collectors add tabs and cell fragments, which changes these pictures:
review the difference report, then update with ``--snapshot-update``.
"""

from __future__ import annotations

from tui.app import OrgtopApp

INTO_SEARCH_PROD = ["down", "right", "right", "right", "enter"]


def test_overview_looks(snap_compare, offline_app: OrgtopApp) -> None:
    assert snap_compare(offline_app, terminal_size=(100, 28))


def test_overview_at_80x24_looks(snap_compare, offline_app: OrgtopApp) -> None:
    assert snap_compare(offline_app, terminal_size=(80, 24))


def test_team_screen_looks(snap_compare, offline_app: OrgtopApp) -> None:
    assert snap_compare(offline_app, terminal_size=(100, 28), press=INTO_SEARCH_PROD)


def test_account_screen_looks(snap_compare, offline_app: OrgtopApp) -> None:
    keys = [*INTO_SEARCH_PROD, "enter"]
    assert snap_compare(offline_app, terminal_size=(100, 28), press=keys)


def test_too_small_notice_looks(snap_compare, offline_app: OrgtopApp) -> None:
    assert snap_compare(offline_app, terminal_size=(50, 12))
