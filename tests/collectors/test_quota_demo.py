"""Service Quotas, CloudWatch and EC2 responses of the demo world, via botocore."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from collectors.demo.plugins.quotausage import model_of
from collectors.demo.scenario import generated_scenario, load_scenario
from collectors.demo.server import DemoWorld
from collectors.errors import ConfigError
from tests.collectors.test_quotas import isolated
from tests.conftest import SMALL

USAGE = """
[[quotas.applied]]
account = "small-identity"
region = "us-east-1"
quota = "L-1216C47A"
value = 64.0

[[quotas.applied]]
account = "small-identity"
region = "us-east-1"
quota = "L-0263D0A3"
value = 10.0

[[quotas.usage]]
account = "small-identity"
region = "us-east-1"
quota = "L-B99A9384"
percent = 50.0
per_day = 2.0

[[quotas.usage]]
account = "small-identity"
region = "us-east-1"
quota = "L-0263D0A3"
value = 3.0

[[quotas.unreadable]]
account = "small-identity"
region = "eu-west-1"
service = "ec2"
"""
LAMBDA_METRIC = {"Namespace": "AWS/Lambda", "MetricName": "ConcurrentExecutions"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    tmp_path = tmp_path_factory.mktemp("demo")
    path = tmp_path / "usage.toml"
    path.write_text(SMALL.read_text() + USAGE)
    with isolated(tmp_path), DemoWorld(load_scenario(path)) as world:
        yield world


def client(world: DemoWorld, service: str, region: str = "us-east-1") -> Any:
    keys = world.user_credentials
    assert keys is not None
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=world.endpoint,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        aws_session_token=keys.session_token,
    )


def every_page(
    world: DemoWorld, operation: str, page_size: int | None, **arguments: Any
) -> list[str]:
    paginator = client(world, "service-quotas").get_paginator(operation)
    config = {"PageSize": page_size} if page_size else {}
    codes = []
    for page in paginator.paginate(PaginationConfig=config, **arguments):
        codes.extend(quota["QuotaCode"] for quota in page["Quotas"])
    return codes


@pytest.mark.parametrize(
    "operation", ["list_aws_default_service_quotas", "list_service_quotas"]
)
def test_paginator_walks_every_page(demo: DemoWorld, operation: str) -> None:
    whole = every_page(demo, operation, None, ServiceCode="ec2")
    assert len(whole) >= 2
    assert every_page(demo, operation, 1, ServiceCode="ec2") == whole


def test_services_paginator_walks_every_page(demo: DemoWorld) -> None:
    paginator = client(demo, "service-quotas").get_paginator("list_services")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) == 4
    assert [p["Services"][0]["ServiceCode"] for p in pages] == [
        "ec2",
        "iam",
        "lambda",
        "vpc",
    ]


def test_unknown_service_is_no_such_resource(demo: DemoWorld) -> None:
    with pytest.raises(ClientError) as raised:
        client(demo, "service-quotas").list_aws_default_service_quotas(
            ServiceCode="sqs"
        )
    assert raised.value.response["Error"]["Code"] == "NoSuchResourceException"


def test_unreadable_service_denies_applied_values(demo: DemoWorld) -> None:
    quotas = client(demo, "service-quotas", "eu-west-1")
    with pytest.raises(ClientError) as raised:
        quotas.list_service_quotas(ServiceCode="ec2")
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert quotas.list_aws_default_service_quotas(ServiceCode="ec2")["Quotas"]


def test_unreadable_is_per_region(demo: DemoWorld) -> None:
    answer = client(demo, "service-quotas").list_service_quotas(ServiceCode="ec2")
    assert "Quotas" in answer


def metric_data(world: DemoWorld, days: int = 14, **arguments: Any) -> dict[str, Any]:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    query = {
        "Id": "lambda",
        "MetricStat": {"Metric": LAMBDA_METRIC, "Period": 86400, "Stat": "Maximum"},
    }
    return client(world, "cloudwatch").get_metric_data(  # type: ignore[no-any-return]
        MetricDataQueries=[query],
        StartTime=end - timedelta(days=days),
        EndTime=end,
        ScanBy="TimestampAscending",
        **arguments,
    )


def test_metric_data_follows_scenario_trend(demo: DemoWorld) -> None:
    # 50 % of 1,000 executions now, 2 points (20 executions) less each day back.
    result = metric_data(demo)["MetricDataResults"][0]
    assert result["StatusCode"] == "Complete"
    assert len(result["Values"]) == 14
    assert result["Values"][-1] == 500.0
    assert result["Values"][0] == 500.0 - 13 * 20.0


def test_metric_data_timestamps_are_period_starts(demo: DemoWorld) -> None:
    result = metric_data(demo, days=3)["MetricDataResults"][0]
    stamps = result["Timestamps"]
    assert [b - a for a, b in zip(stamps, stamps[1:], strict=False)] == [
        timedelta(days=1)
    ] * 2


def test_metric_data_paginator_with_small_pages(demo: DemoWorld) -> None:
    whole = metric_data(demo)["MetricDataResults"][0]["Values"]
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    paginator = client(demo, "cloudwatch").get_paginator("get_metric_data")
    query = {
        "Id": "lambda",
        "MetricStat": {"Metric": LAMBDA_METRIC, "Period": 86400, "Stat": "Maximum"},
    }
    values = []
    pages = 0
    for page in paginator.paginate(
        MetricDataQueries=[query],
        StartTime=end - timedelta(days=14),
        EndTime=end,
        ScanBy="TimestampAscending",
        PaginationConfig={"PageSize": 5},
    ):
        pages += 1
        for result in page["MetricDataResults"]:
            values.extend(result["Values"])
    assert pages == 3
    assert values == whole


def test_metric_data_unknown_metric_is_empty(demo: DemoWorld) -> None:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    query = {
        "Id": "other",
        "MetricStat": {
            "Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"},
            "Period": 300,
            "Stat": "Average",
        },
    }
    answer = client(demo, "cloudwatch").get_metric_data(
        MetricDataQueries=[query], StartTime=end - timedelta(hours=1), EndTime=end
    )
    assert answer["MetricDataResults"][0]["Values"] == []


def test_metric_data_rejects_too_many_queries(demo: DemoWorld) -> None:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    queries = [
        {
            "Id": f"q{i}",
            "MetricStat": {"Metric": LAMBDA_METRIC, "Period": 86400, "Stat": "Maximum"},
        }
        for i in range(501)
    ]
    with pytest.raises(ClientError) as raised:
        client(demo, "cloudwatch").get_metric_data(
            MetricDataQueries=queries, StartTime=end - timedelta(days=1), EndTime=end
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_addresses_count_follows_scenario(demo: DemoWorld) -> None:
    addresses = client(demo, "ec2").describe_addresses()["Addresses"]
    assert len(addresses) == 3
    assert {a["Domain"] for a in addresses} == {"vpc"}


def test_generated_scenario_places_hot_spots() -> None:
    scenario = generated_scenario(1000)
    assert len(model_of(scenario).random_placed) == 4


def test_usage_needs_percent_or_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.read_text() + USAGE.replace("percent = 50.0\n", ""))
    with pytest.raises(ConfigError, match="percent"):
        load_scenario(path)
