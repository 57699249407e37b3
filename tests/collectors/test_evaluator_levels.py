"""Access levels of roles from their permission policies and boundaries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data

from collectors.access.levels import (
    Level,
    PolicyText,
    assess_policy,
    assess_role,
    is_read_action,
)
from collectors.access.policy import parse_policy

AWS = "arn:aws:iam::aws:policy/"


def policy(name: str, *statements: dict[str, Any], arn: str = "") -> PolicyText:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return PolicyText(name, tuple(parse_policy(document, name)), arn)


def allow(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def aws_document(name: str) -> PolicyText:
    """An AWS managed policy's real document, rated without its ARN."""
    data = json.loads(aws_managed_policies_data)[name]
    return PolicyText(name, tuple(parse_policy(data["Document"], name)))


POLICY_CASES = [
    pytest.param(
        PolicyText("AdministratorAccess", (), AWS + "AdministratorAccess"),
        Level.ADMIN,
        id="admin by ARN",
    ),
    pytest.param(
        PolicyText("PowerUserAccess", (), AWS + "PowerUserAccess"),
        Level.POWER_USER,
        id="power user by ARN",
    ),
    pytest.param(
        PolicyText("ReadOnlyAccess", (), AWS + "ReadOnlyAccess"),
        Level.READ_ONLY,
        id="read-only by ARN",
    ),
    pytest.param(
        PolicyText("SecurityAudit", (), AWS + "SecurityAudit"),
        Level.READ_ONLY,
        id="audit by ARN",
    ),
    pytest.param(aws_document("AdministratorAccess"), Level.ADMIN, id="admin document"),
    pytest.param(
        aws_document("PowerUserAccess"), Level.POWER_USER, id="power user document"
    ),
    pytest.param(policy("star", allow("*:*")), Level.ADMIN, id="star colon star"),
    pytest.param(policy("iam", allow("iam:*")), Level.ADMIN, id="IAM policy writes"),
    pytest.param(
        policy("attach", allow("iam:AttachRolePolicy")),
        Level.ADMIN,
        id="attach role policy",
    ),
    pytest.param(
        policy("scoped", allow("*", "arn:aws:s3:::bucket/*")),
        Level.CUSTOM,
        id="star on one bucket",
    ),
    pytest.param(
        policy(
            "reads", allow(["s3:Get*", "s3:List*", "dynamodb:Query", "ec2:Describe*"])
        ),
        Level.READ_ONLY,
        id="reads only",
    ),
    pytest.param(
        policy("writes", allow(["s3:GetObject", "s3:PutObject"])),
        Level.CUSTOM,
        id="a write",
    ),
    pytest.param(
        policy("denies", {"Effect": "Deny", "Action": "*", "Resource": "*"}),
        Level.CUSTOM,
        id="nothing allowed",
    ),
]


@pytest.mark.parametrize(("text", "expected"), POLICY_CASES)
def test_policy_level(text: PolicyText, expected: Level) -> None:
    assert assess_policy(text).level is expected


def test_custom_reason_names_writes() -> None:
    text = policy(
        "deploy", allow(["s3:PutObject", "s3:GetObject", "lambda:UpdateFunctionCode"])
    )
    assert (
        assess_policy(text).reason
        == "deploy allows lambda:UpdateFunctionCode, s3:PutObject"
    )


def test_custom_reason_counts_more_writes() -> None:
    text = policy(
        "many",
        allow(["sqs:SendMessage", "sns:Publish", "s3:PutObject", "s3:DeleteObject"]),
    )
    assert assess_policy(text).reason.endswith("and 1 more")


def test_power_user_reason_lists_exceptions() -> None:
    reason = assess_policy(aws_document("PowerUserAccess")).reason
    assert (
        reason == "PowerUserAccess allows every action except "
        "iam:*, organizations:*, account:*"
    )


def test_role_takes_highest_policy() -> None:
    reads = PolicyText("ReadOnlyAccess", (), AWS + "ReadOnlyAccess")
    writes = policy("deploy", allow("s3:PutObject"))
    assert assess_role([reads, writes]).level is Level.CUSTOM


def test_role_without_policies_is_custom() -> None:
    assessed = assess_role([])
    assert assessed.level is Level.CUSTOM
    assert assessed.reason == "no permission policies"


def test_boundary_lowers_level() -> None:
    admin = PolicyText("AdministratorAccess", (), AWS + "AdministratorAccess")
    boundary = PolicyText("ReadOnlyAccess", (), AWS + "ReadOnlyAccess")
    assessed = assess_role([admin], boundary)
    assert assessed.level is Level.READ_ONLY
    assert "limited by boundary" in assessed.reason


def test_boundary_never_raises_level() -> None:
    reads = PolicyText("ReadOnlyAccess", (), AWS + "ReadOnlyAccess")
    boundary = PolicyText("AdministratorAccess", (), AWS + "AdministratorAccess")
    assert assess_role([reads], boundary).level is Level.READ_ONLY


READ_CASES = [
    ("s3:GetObject", True),
    ("s3:Get*", True),
    ("ec2:DescribeInstances", True),
    ("dynamodb:BatchGetItem", True),
    ("dynamodb:Scan", True),
    ("s3:G*", False),
    ("s3:*", False),
    ("*", False),
    ("s3:PutObject", False),
    ("elasticloadbalancing:Listen", False),
    ("*:Get*", False),
]


@pytest.mark.parametrize(("action", "expected"), READ_CASES)
def test_read_action(action: str, expected: bool) -> None:
    assert is_read_action(action) is expected
