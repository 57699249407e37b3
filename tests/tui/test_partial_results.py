"""Each collector's data reaches the screen when it ends, not with the last one."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import account_id, hang, patient_app, running, wait_until


async def test_hanging_collector_delays_only_itself(tmp_path: Path) -> None:
    app = patient_app(tmp_path)
    async with running(app) as pilot:
        await wait_until(pilot, lambda: app.started and not app.refreshing)
        first = app.snapshot
        assert first is not None
        hang(app, "cloudwatch", "GetMetricData", account_id(app, "search-dev"))

        await pilot.press("r")
        await wait_until(
            pilot, lambda: app.snapshot.sections["reach"] is not first.sections["reach"]
        )
        interim = app.snapshot
        assert app.refreshing
        assert interim.sections["quotas"] is first.sections["quotas"]
        assert interim.sections["iam"] is first.sections["iam"]
        assert app.screen.painted is interim
