"""Fault rules on the HTTP path: raw status and body per protocol, and patterns."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from collectors.demo.faults import FaultRule
from collectors.demo.scenario import load_scenario
from collectors.demo.server import DemoWorld
from tests.conftest import SMALL


def scenario_with(tmp_path: Path, faults: str):
    path = tmp_path / "scenario.toml"
    path.write_text(SMALL.read_text() + "\n" + faults)
    return load_scenario(path)


def raw(world: DemoWorld, service: str, body: bytes, headers: dict[str, str], path: str = "/"):
    auth = (
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261204/us-east-1/"
        f"{service}/aws4_request, SignedHeaders=host, Signature=00"
    )
    request = urllib.request.Request(
        world.endpoint + path, data=body, method="POST",
        headers={"Authorization": auth, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


FAULTS = """
[[fault]]
service = "sts"
operation = "GetCallerIdentity"
error = "ExpiredToken"

[[fault]]
service = "organizations"
operation = "ListAccounts"
error = "TooManyRequestsException"

[[fault]]
service = "service-quotas"
operation = "ListServices"
error = "AccessDeniedException"

[[fault]]
service = "account"
operation = "ListRegions"
error = "ThrottlingException"

[[fault]]
service = "ec2"
operation = "DescribeRegions"
error = "UnauthorizedOperation"
"""


@pytest.fixture
def faulty_world(tmp_path: Path):
    with DemoWorld(scenario_with(tmp_path, FAULTS)) as world:
        yield world


def test_query_protocol_error_is_xml(faulty_world: DemoWorld) -> None:
    status, _, body = raw(
        faulty_world, "sts", b"Action=GetCallerIdentity&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400
    assert "<ErrorResponse" in body
    assert "<Code>ExpiredToken</Code>" in body


def test_json_protocol_error_has_type(faulty_world: DemoWorld) -> None:
    status, headers, body = raw(
        faulty_world, "organizations", b"{}",
        {"X-Amz-Target": "AWSOrganizationsV20161128.ListAccounts",
         "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 429
    assert json.loads(body)["__type"] == "TooManyRequestsException"
    assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"


def test_service_quotas_access_denied_status(faulty_world: DemoWorld) -> None:
    status, _, body = raw(
        faulty_world, "servicequotas", b"{}",
        {"X-Amz-Target": "ServiceQuotasV20190624.ListServices",
         "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 400
    assert json.loads(body)["__type"] == "AccessDeniedException"


def test_rest_json_error_uses_header(faulty_world: DemoWorld) -> None:
    status, headers, body = raw(
        faulty_world, "account", b'{"AccountId": "200000000001"}',
        {"Content-Type": "application/json"}, path="/listRegions",
    )
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "ThrottlingException"
    assert "message" in json.loads(body)


def test_ec2_error_has_errors_element(faulty_world: DemoWorld) -> None:
    status, _, body = raw(
        faulty_world, "ec2", b"Action=DescribeRegions&Version=2016-11-15",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403
    assert "<Response><Errors><Error><Code>UnauthorizedOperation</Code>" in body


def test_botocore_parses_fault_codes(faulty_world: DemoWorld) -> None:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        "organizations", region_name="us-east-1", endpoint_url=faulty_world.endpoint,
        aws_access_key_id=faulty_world.user_credentials.access_key_id,
        aws_secret_access_key=faulty_world.user_credentials.secret_access_key,
        config=__import__("botocore.config").config.Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        client.list_accounts()
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_times_pattern_fails_first_attempts() -> None:
    rule = FaultRule(index=0, error="Throttling", times=2)
    outcomes = [rule.decide("same") for _ in range(4)]
    assert outcomes == ["fault", "fault", "ok", "ok"]


def test_sequence_pattern_per_request() -> None:
    rule = FaultRule(index=0, sequence=["Throttling", "ok", "AccessDenied"])
    assert [rule.decide("a") for _ in range(4)] == ["Throttling", "ok", "AccessDenied", "ok"]
    assert rule.decide("b") == "Throttling"


def test_rate_pattern_is_deterministic() -> None:
    first = FaultRule(index=3, error="Throttling", rate=0.3, seed=11)
    second = FaultRule(index=3, error="Throttling", rate=0.3, seed=11)
    keys = [f"request-{n}" for n in range(200)]
    assert [first.decide(k) for k in keys] == [second.decide(k) for k in keys]


def test_rate_pattern_respects_retry_budget() -> None:
    rule = FaultRule(index=0, error="Throttling", rate=1.0, max_consecutive=2)
    outcomes = [rule.decide("same") for _ in range(6)]
    assert outcomes == ["fault", "fault", "ok", "fault", "fault", "ok"]


def test_rate_pattern_hits_about_the_rate() -> None:
    rule = FaultRule(index=0, error="Throttling", rate=0.3, seed=5)
    hits = sum(rule.decide(f"r{n}") == "fault" for n in range(2000))
    assert 500 < hits < 700


def test_latency_rule_outlasts_client_timeout(tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ReadTimeoutError

    scenario = scenario_with(tmp_path, """
[[fault]]
service = "sts"
operation = "GetCallerIdentity"
latency_ms = 1500
""")
    with DemoWorld(scenario) as world:
        client = boto3.client(
            "sts", region_name="us-east-1", endpoint_url=world.endpoint,
            aws_access_key_id=world.user_credentials.access_key_id,
            aws_secret_access_key=world.user_credentials.secret_access_key,
            config=Config(read_timeout=0.3, retries={"max_attempts": 1}),
        )
        with pytest.raises(ReadTimeoutError):
            client.get_caller_identity()
