"""The demo world's Cost Explorer as a client sees it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from collectors.demo.server import DemoWorld
from collectors.refresh import Refresher
from tests.conftest import make_refresher

GROUPED = [
    {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
    {"Type": "DIMENSION", "Key": "SERVICE"},
]


@pytest.fixture
async def session(world: DemoWorld) -> AsyncIterator[Refresher]:
    refresher = make_refresher(world)
    yield refresher
    await refresher.factory.close()


async def ce_client(refresher: Refresher, account_id: str) -> Any:
    return await refresher.roles.own_client(
        refresher.role_arn(account_id), "ce", "us-east-1"
    )


def window(world: DemoWorld, days: int = 35, **extra: Any) -> dict[str, Any]:
    today = world.scenario.today
    return {
        "TimePeriod": {
            "Start": (today - timedelta(days=days)).isoformat(),
            "End": today.isoformat(),
        },
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        **extra,
    }


async def error_of(client: Any, **request: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        await client.get_cost_and_usage(**request)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


async def test_start_after_end_rejected(world: DemoWorld, session: Refresher) -> None:
    client = await ce_client(session, world.scenario.management.id)
    request = window(world)
    request["TimePeriod"] = {"Start": "2026-11-10", "End": "2026-11-10"}
    code, message = await error_of(client, **request)
    assert code == "ValidationException"
    assert message == "Start date (and hour) should be before end date (and hour)"


async def test_end_past_next_month_rejected(
    world: DemoWorld, session: Refresher
) -> None:
    client = await ce_client(session, world.scenario.management.id)
    request = window(world)
    request["TimePeriod"]["End"] = "2027-01-02"
    code, message = await error_of(client, **request)
    assert code == "ValidationException"
    assert message == "end date past the beginning of next month"


async def test_three_group_by_rejected(world: DemoWorld, session: Refresher) -> None:
    client = await ce_client(session, world.scenario.management.id)
    request = window(world, GroupBy=[*GROUPED, {"Type": "DIMENSION", "Key": "REGION"}])
    code, _ = await error_of(client, **request)
    assert code == "ValidationException"


async def test_bad_page_token_rejected(world: DemoWorld, session: Refresher) -> None:
    client = await ce_client(session, world.scenario.management.id)
    code, _ = await error_of(
        client, **window(world, GroupBy=GROUPED, NextPageToken="bogus")
    )
    assert code == "InvalidNextTokenException"


async def test_changed_request_between_pages(
    world: DemoWorld, session: Refresher
) -> None:
    client = await ce_client(session, world.scenario.management.id)
    first = await client.get_cost_and_usage(**window(world, GroupBy=GROUPED))
    token = first["NextPageToken"]
    code, _ = await error_of(
        client, **window(world, 20, GroupBy=GROUPED, NextPageToken=token)
    )
    assert code == "RequestChangedException"


async def test_monthly_equals_sum_of_days(world: DemoWorld, session: Refresher) -> None:
    client = await ce_client(session, world.scenario.management.id)
    request = window(world)
    request["TimePeriod"] = {"Start": "2026-11-01", "End": "2026-12-01"}
    daily = await client.get_cost_and_usage(**request)
    monthly = await client.get_cost_and_usage(**{**request, "Granularity": "MONTHLY"})
    days = [
        Decimal(r["Total"]["UnblendedCost"]["Amount"]) for r in daily["ResultsByTime"]
    ]
    (month,) = monthly["ResultsByTime"]
    assert len(days) == 30
    assert Decimal(month["Total"]["UnblendedCost"]["Amount"]) == sum(days)


async def test_member_sees_only_itself(world: DemoWorld, session: Refresher) -> None:
    member = world.scenario.account("payments-prod").id
    client = await ce_client(session, member)
    grouped = await client.get_cost_and_usage(**window(world, 3, GroupBy=GROUPED))
    total = await client.get_cost_and_usage(**window(world, 3))
    keys = {g["Keys"][0] for r in grouped["ResultsByTime"] for g in r["Groups"]}
    day = grouped["ResultsByTime"][0]
    own = sum(Decimal(g["Metrics"]["UnblendedCost"]["Amount"]) for g in day["Groups"])
    assert keys == {member}
    assert Decimal(total["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"]) == own


async def test_account_names_in_attributes(
    world: DemoWorld, session: Refresher
) -> None:
    client = await ce_client(session, world.scenario.management.id)
    answer = await client.get_cost_and_usage(**window(world, 1, GroupBy=GROUPED))
    names = {
        a["Value"]: a["Attributes"]["description"]
        for a in answer["DimensionValueAttributes"]
    }
    assert names[world.scenario.account("search-prod").id] == "search-prod"
