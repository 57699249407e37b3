"""The local Datadog API: shapes, headers and the requests it rejects as Datadog does.

Requests go through datadog-api-client with its response type checks on, so
every answer must match the client's models; raw HTTP is used only for
requests the client refuses to build.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from datadog_api_client import AsyncApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v1.api.metrics_api import MetricsApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.metrics_query_response import MetricsQueryResponse

from collectors.demo.datadog_data import CATALOG, DatadogData
from collectors.demo.datadog_server import DatadogServer
from collectors.demo.scenario import Scenario

CPU = "avg:aws.ec2.cpuutilization{*} by {aws_account}"
ONE_HOUR = 3600


@pytest.fixture
def server(small_scenario: Scenario) -> Iterator[DatadogServer]:
    running = DatadogServer(DatadogData(small_scenario)).start()
    yield running
    running.stop()


def client_for(
    server: DatadogServer, api_key: str | None, app_key: str | None
) -> AsyncApiClient:
    keys = {}
    if api_key is not None:
        keys["apiKeyAuth"] = api_key
    if app_key is not None:
        keys["appKeyAuth"] = app_key
    configuration = Configuration(api_key=keys, return_http_data_only=False)
    configuration.host = server.url
    return AsyncApiClient(configuration)


@pytest.fixture
async def api(server: DatadogServer) -> AsyncIterator[AsyncApiClient]:
    client = client_for(server, server.api_key, server.app_key)
    yield client
    await client.__aexit__(None, None, None)


async def query(
    client: AsyncApiClient, text: str, start: int | None = None, end: int | None = None
) -> Any:
    end = end if end is not None else int(time.time())
    start = start if start is not None else end - ONE_HOUR
    return await MetricsApi(client).query_metrics(_from=start, to=end, query=text)


async def rejection(coroutine: Any) -> ApiException:
    with pytest.raises(ApiException) as caught:
        await coroutine
    return caught.value


def raw_get(
    server: DatadogServer, path: str, **headers: str
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


async def test_query_answer_matches_client_model(
    server: DatadogServer, api: AsyncApiClient
) -> None:
    data, status, headers = await query(api, CPU)
    cpu = next(m for m in CATALOG if m.name == "aws.ec2.cpuutilization")
    reporting = [
        a for a in server.data.accounts if server.data.level(a, cpu) is not None
    ]
    assert status == 200
    assert isinstance(data, MetricsQueryResponse)
    assert data.status == "ok"
    assert data.group_by == ["aws_account"]
    assert sorted(s.tag_set[0] for s in data.series) == sorted(
        f"aws_account:{a}" for a in reporting
    )
    assert data.series[0].unit[0].short_name == "%"
    assert all(
        s.length == len(s.pointlist) == 12 or s.length == 13 for s in data.series
    )


async def test_monitor_answer_matches_client_model(api: AsyncApiClient) -> None:
    monitors, status, _ = await MonitorsApi(api).list_monitors(
        group_states="alert,warn"
    )
    assert status == 200
    assert [m.name for m in monitors if m.multi]
    for monitor in monitors:
        for group in monitor.state.groups.values():
            assert str(group.status) in ("Alert", "Warn")


async def test_groups_hidden_without_group_states(api: AsyncApiClient) -> None:
    monitors, _, _ = await MonitorsApi(api).list_monitors()
    assert all(m.state.groups == {} for m in monitors)


async def test_missing_api_key_is_forbidden(server: DatadogServer) -> None:
    client = client_for(server, None, server.app_key)
    error = await rejection(query(client, CPU))
    await client.__aexit__(None, None, None)
    assert error.status == 403
    assert error.body == {"errors": ["Forbidden"]}


async def test_missing_app_key_is_forbidden(server: DatadogServer) -> None:
    client = client_for(server, server.api_key, None)
    error = await rejection(query(client, CPU))
    await client.__aexit__(None, None, None)
    assert error.status == 403
    assert error.body == {"errors": ["Forbidden"]}


async def test_wrong_app_key_is_forbidden(server: DatadogServer) -> None:
    client = client_for(server, server.api_key, "0" * 40)
    error = await rejection(MonitorsApi(client).list_monitors())
    await client.__aexit__(None, None, None)
    assert error.status == 403


async def test_validate_needs_only_api_key(server: DatadogServer) -> None:
    good = client_for(server, server.api_key, None)
    bad = client_for(server, "0" * 32, None)
    answer, status, _ = await AuthenticationApi(good).validate()
    error = await rejection(AuthenticationApi(bad).validate())
    for client in (good, bad):
        await client.__aexit__(None, None, None)
    assert status == 200
    assert answer.valid is True
    assert error.status == 403


@pytest.mark.parametrize(
    "text",
    [
        "avg:aws.ec2.cpuutilization{*",
        "avg:aws.ec2.cpuutilization",
        "median:aws.ec2.cpuutilization{*}",
        "avg:aws.ec2.cpuutilization{*}.top(5)",
        "avg:aws.ec2.cpuutilization{*} by {}",
        "avg:aws.ec2.cpuutilization{}",
    ],
)
async def test_malformed_query_is_bad_request(api: AsyncApiClient, text: str) -> None:
    error = await rejection(query(api, text))
    assert error.status == 400
    assert error.body["errors"][0].startswith("Error parsing query")


async def test_from_after_to_is_bad_request(api: AsyncApiClient) -> None:
    error = await rejection(query(api, CPU, start=2_000, end=1_000))
    assert error.status == 400
    assert "'from'" in error.body["errors"][0]


def test_missing_parameter_is_bad_request(server: DatadogServer) -> None:
    status, body = raw_get(
        server,
        "/api/v1/query?to=2000&query=avg:x{*}",
        **{"DD-API-KEY": server.api_key, "DD-APPLICATION-KEY": server.app_key},
    )
    assert status == 400
    assert body == {"errors": ["Missing required parameter 'from'"]}


def test_unknown_path_is_not_found(server: DatadogServer) -> None:
    status, body = raw_get(
        server, "/api/v1/dashboard", **{"DD-API-KEY": server.api_key}
    )
    assert status == 404
    assert body == {"errors": ["Not found"]}


def test_page_size_over_limit_is_bad_request(server: DatadogServer) -> None:
    status, body = raw_get(
        server,
        "/api/v1/monitor?page=0&page_size=5000",
        **{"DD-API-KEY": server.api_key, "DD-APPLICATION-KEY": server.app_key},
    )
    assert status == 400
    assert "page_size" in body["errors"][0]


async def test_rate_limit_headers_count_down(api: AsyncApiClient) -> None:
    _, _, first = await query(api, CPU)
    _, _, second = await query(api, CPU)
    assert first["X-RateLimit-Name"] == "query"
    assert first["X-RateLimit-Limit"] == "1600"
    assert first["X-RateLimit-Period"] == "3600"
    assert (
        int(first["X-RateLimit-Remaining"]) - int(second["X-RateLimit-Remaining"]) == 1
    )
    assert 1 <= int(second["X-RateLimit-Reset"]) <= 3600


async def test_spent_limit_answers_429(
    server: DatadogServer, api: AsyncApiClient
) -> None:
    server.windows["query"].limit = 1
    await query(api, CPU)
    error = await rejection(query(api, CPU))
    assert error.status == 429
    assert error.body == {"errors": ["Rate limit exceeded"]}
    assert error.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(error.headers["X-RateLimit-Reset"]) <= 3600


async def test_unknown_metric_has_no_series(api: AsyncApiClient) -> None:
    data, _, _ = await query(api, "avg:aws.nothing.here{*} by {aws_account}")
    assert data.status == "ok"
    assert data.series == []


async def test_scope_filters_accounts(
    server: DatadogServer, api: AsyncApiClient
) -> None:
    first, second = server.data.accounts[:2]
    only, _, _ = await query(
        api, f"avg:aws.ec2.cpuutilization{{aws_account:{first}}} by {{aws_account}}"
    )
    others, _, _ = await query(
        api, f"avg:aws.ec2.cpuutilization{{!aws_account:{first}}} by {{aws_account}}"
    )
    assert [s.scope for s in only.series] == [f"aws_account:{first}"]
    assert f"aws_account:{first}" not in [s.scope for s in others.series]
    assert f"aws_account:{second}" in [s.scope for s in others.series]


async def test_ungrouped_query_is_one_series(api: AsyncApiClient) -> None:
    data, _, _ = await query(api, "sum:aws.lambda.errors{*}.as_count()")
    assert len(data.series) == 1
    assert data.series[0].scope == "*"
    assert data.series[0].aggr == "sum"


async def test_rollup_sets_interval(api: AsyncApiClient) -> None:
    data, _, _ = await query(
        api, "avg:aws.ec2.cpuutilization{*} by {aws_account}.rollup(avg, 900)"
    )
    assert {s.interval for s in data.series} == {900}
