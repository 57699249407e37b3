"""The local sts:AssumeRole evaluator, one policy feature per case."""

from __future__ import annotations

from typing import Any

import pytest

from collectors.access.conditions import Facts
from collectors.access.evaluator import Decision, evaluate_assume_role
from collectors.access.policy import parse_policy

IDENTITY = "111111111111"
TARGET = "222222222222"
ORG = "o-abc123def4"
USER = f"arn:aws:iam::{IDENTITY}:user/jdoe"
ROLE = f"arn:aws:iam::{TARGET}:role/Admin"
FACTS = Facts(
    USER,
    IDENTITY,
    "jdoe",
    "AIDAJDOE0000000000001",
    organization_id=ORG,
    variables={"aws:username": "jdoe", "aws:PrincipalAccount": IDENTITY},
)
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def statement(effect: str = "Allow", **elements: Any) -> dict[str, Any]:
    return {"Effect": effect, **elements}


def allow(
    action: Any = "sts:AssumeRole", resource: Any = ROLE, **more: Any
) -> dict[str, Any]:
    return statement(Action=action, Resource=resource, **more)


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(
    principal: Any, condition: dict[str, Any] | None = None, effect: str = "Allow"
) -> dict[str, Any]:
    entry = statement(effect, Principal=principal, Action="sts:AssumeRole")
    if condition:
        entry["Condition"] = condition
    return document(entry)


ROOT_TRUST = trust({"AWS": f"arn:aws:iam::{IDENTITY}:root"})
GRANT = document(allow())


def evaluate(
    identity: list[dict[str, Any]],
    trust_policy: dict[str, Any] = ROOT_TRUST,
    boundary: dict[str, Any] | None = None,
    role: str = ROLE,
    facts: Facts = FACTS,
) -> Decision:
    statements = []
    for index, policy in enumerate(identity):
        statements += parse_policy(policy, f"policy {index}", "user")
    return evaluate_assume_role(
        facts,
        statements,
        parse_policy(trust_policy, "trust", "trust"),
        role,
        parse_policy(boundary, "boundary", "boundary")
        if boundary is not None
        else None,
    )


def options(decision: Decision) -> list[list[str]] | None:
    if not decision.allowed:
        return None
    return sorted(sorted(r.text for r in option) for option in decision.options)


UNCONDITIONAL = [[]]

IDENTITY_CASES = [
    pytest.param([GRANT], UNCONDITIONAL, id="exact action and resource"),
    pytest.param([document(allow("sts:Assume*"))], UNCONDITIONAL, id="action wildcard"),
    pytest.param([document(allow("*"))], UNCONDITIONAL, id="action star"),
    pytest.param(
        [document(allow("STS:assumerole"))], UNCONDITIONAL, id="action case-insensitive"
    ),
    pytest.param(
        [document(allow("sts:AssumeRoleWithSAML"))], None, id="other sts action"
    ),
    pytest.param([document(allow("s3:*"))], None, id="other service"),
    pytest.param(
        [document(statement(NotAction=["iam:*", "organizations:*"], Resource="*"))],
        UNCONDITIONAL,
        id="NotAction leaving sts in",
    ),
    pytest.param(
        [document(statement(NotAction="sts:*", Resource="*"))],
        None,
        id="NotAction leaving sts out",
    ),
    pytest.param(
        [document(allow(resource="arn:aws:iam::*:role/Adm*"))],
        UNCONDITIONAL,
        id="resource wildcard",
    ),
    pytest.param(
        [document(allow(resource=f"arn:aws:iam::{TARGET}:role/?dmin"))],
        UNCONDITIONAL,
        id="resource single-character wildcard",
    ),
    pytest.param(
        [document(allow(resource=f"arn:aws:iam::{TARGET}:role/admin"))],
        None,
        id="resource case-sensitive",
    ),
    pytest.param(
        [document(allow(resource=f"arn:aws:iam::{TARGET}:role/ReadOnly"))],
        None,
        id="other role",
    ),
    pytest.param(
        [
            document(
                statement(
                    Action="sts:AssumeRole", NotResource=f"arn:aws:iam::{TARGET}:role/*"
                )
            )
        ],
        None,
        id="NotResource covering the role",
    ),
    pytest.param(
        [
            document(
                statement(
                    Action="sts:AssumeRole",
                    NotResource="arn:aws:iam::333333333333:role/*",
                )
            )
        ],
        UNCONDITIONAL,
        id="NotResource elsewhere",
    ),
    pytest.param(
        [GRANT, document(statement("Deny", Action="sts:*", Resource="*"))],
        None,
        id="explicit deny in another policy",
    ),
    pytest.param(
        [GRANT, document(statement("Deny", NotAction="s3:*", Resource="*"))],
        None,
        id="explicit deny by NotAction",
    ),
    pytest.param(
        [GRANT, document(statement("Deny", Action="sts:AssumeRole", NotResource=ROLE))],
        UNCONDITIONAL,
        id="deny with NotResource sparing the role",
    ),
    pytest.param(
        [
            GRANT,
            document(
                statement(
                    "Deny",
                    NotAction="iam:ChangePassword",
                    Resource="*",
                    Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                )
            ),
        ],
        [["MFA"]],
        id="deny unless MFA becomes an MFA requirement",
    ),
    pytest.param(
        [
            GRANT,
            document(
                statement(
                    "Deny",
                    Action="*",
                    Resource="*",
                    Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
                )
            ),
        ],
        [["source IP in 203.0.113.0/24"]],
        id="deny outside a network",
    ),
    pytest.param([], None, id="no identity policy"),
    pytest.param(
        [
            document(
                allow(resource=f"arn:aws:iam::{TARGET}:role/${{aws:username}}-admin")
            )
        ],
        None,
        id="policy variable for another role",
    ),
]


@pytest.mark.parametrize(("identity", "expected"), IDENTITY_CASES)
def test_identity_policies(
    identity: list[dict[str, Any]], expected: list[list[str]] | None
) -> None:
    assert options(evaluate(identity)) == expected


def test_policy_variable_names_own_role() -> None:
    role = f"arn:aws:iam::{TARGET}:role/jdoe-admin"
    policy = document(
        allow(resource=f"arn:aws:iam::{TARGET}:role/${{aws:username}}-admin")
    )
    assert options(evaluate([policy], role=role)) == UNCONDITIONAL


def test_unknown_policy_variable_matches_nothing() -> None:
    policy = document(
        allow(resource=f"arn:aws:iam::{TARGET}:role/${{aws:PrincipalTag/team}}")
    )
    assert options(evaluate([policy])) is None


BOUNDARY_CASES = [
    pytest.param(document(allow()), UNCONDITIONAL, id="boundary allows the role"),
    pytest.param(
        document(statement(NotAction="sts:AssumeRole", Resource="*")),
        None,
        id="boundary leaves sts:AssumeRole out",
    ),
    pytest.param(
        document(allow(resource="arn:aws:iam::*:role/ReadOnly")),
        None,
        id="boundary allows other roles only",
    ),
    pytest.param(
        document(allow(Condition=MFA)), [["MFA"]], id="boundary with an MFA condition"
    ),
    pytest.param(
        document(
            allow("*", "*"), statement("Deny", Action="sts:AssumeRole", Resource=ROLE)
        ),
        None,
        id="deny in the boundary",
    ),
]


@pytest.mark.parametrize(("boundary", "expected"), BOUNDARY_CASES)
def test_permissions_boundary(
    boundary: dict[str, Any], expected: list[list[str]] | None
) -> None:
    assert options(evaluate([GRANT], boundary=boundary)) == expected


TRUST_CASES = [
    pytest.param(trust({"AWS": USER}), UNCONDITIONAL, id="user ARN"),
    pytest.param(ROOT_TRUST, UNCONDITIONAL, id="account root"),
    pytest.param(trust({"AWS": IDENTITY}), UNCONDITIONAL, id="bare account id"),
    pytest.param(
        trust({"AWS": [f"arn:aws:iam::{TARGET}:root", USER]}), UNCONDITIONAL, id="list"
    ),
    pytest.param(
        trust({"AWS": "arn:aws:iam::999999999999:root"}), None, id="other account"
    ),
    pytest.param(
        trust({"AWS": f"arn:aws:iam::{IDENTITY}:user/asmith"}), None, id="other user"
    ),
    pytest.param(
        trust({"AWS": f"arn:aws:iam::{IDENTITY}:role/jdoe"}),
        None,
        id="role of that name",
    ),
    pytest.param(trust({"Service": "ec2.amazonaws.com"}), None, id="service principal"),
    pytest.param(
        trust({"AWS": "AIDAJDOE0000000000001"}), UNCONDITIONAL, id="unique id"
    ),
    pytest.param(
        trust("*", {"StringEquals": {"sts:ExternalId": "x-7"}}),
        [["external id x-7"]],
        id="star with external id",
    ),
    pytest.param(trust({"AWS": "*"}), UNCONDITIONAL, id="star without condition"),
    pytest.param(
        trust("*", {"StringEquals": {"aws:PrincipalOrgID": ORG}}),
        UNCONDITIONAL,
        id="star held to the organization",
    ),
    pytest.param(
        trust("*", {"StringEquals": {"aws:PrincipalOrgID": "o-other00000"}}),
        None,
        id="star held to another organization",
    ),
    pytest.param(
        trust(
            "*", {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{IDENTITY}:user/j*"}}
        ),
        UNCONDITIONAL,
        id="PrincipalArn pattern matching",
    ),
    pytest.param(
        trust(
            "*",
            {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{IDENTITY}:user/asmith"}},
        ),
        None,
        id="PrincipalArn of another user",
    ),
    pytest.param(
        trust("*", {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/j*"}}),
        None,
        id="PrincipalArn excluded",
    ),
    pytest.param(
        trust(ROOT_TRUST["Statement"][0]["Principal"], MFA),
        [["MFA"]],
        id="MFA required",
    ),
    pytest.param(
        trust(
            {"AWS": IDENTITY}, {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}
        ),
        [["MFA within 3600 s"]],
        id="MFA age",
    ),
    pytest.param(
        trust({"AWS": IDENTITY}, {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}),
        [["source IP in 10.0.0.0/8"]],
        id="source IP",
    ),
    pytest.param(
        trust(
            {"AWS": IDENTITY}, {"StringEquals": {"aws:PrincipalTag/team": "payments"}}
        ),
        [["PrincipalTag team = payments"]],
        id="principal tag",
    ),
    pytest.param(
        trust(
            {"AWS": IDENTITY}, {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}
        ),
        [["MFA only if the caller's credentials carry MFA data"]],
        id="MFA with IfExists is not enforced",
    ),
    pytest.param(
        document(
            statement(Principal={"AWS": IDENTITY}, Action="sts:AssumeRole"),
            statement("Deny", Principal={"AWS": USER}, Action="sts:AssumeRole"),
        ),
        None,
        id="deny of the user",
    ),
    pytest.param(
        document(
            statement(
                NotPrincipal={"AWS": f"arn:aws:iam::{IDENTITY}:user/asmith"},
                Action="sts:AssumeRole",
            )
        ),
        UNCONDITIONAL,
        id="NotPrincipal leaving the user in",
    ),
    pytest.param(
        document(statement(NotPrincipal={"AWS": USER}, Action="sts:AssumeRole")),
        None,
        id="NotPrincipal leaving the user out",
    ),
    pytest.param(
        document(statement(Principal={"AWS": IDENTITY}, Action="sts:TagSession")),
        None,
        id="trust for another action",
    ),
]


@pytest.mark.parametrize(("trust_policy", "expected"), TRUST_CASES)
def test_trust_policy(
    trust_policy: dict[str, Any], expected: list[list[str]] | None
) -> None:
    assert options(evaluate([GRANT], trust_policy)) == expected


def test_requirements_of_both_sides_combine() -> None:
    identity = document(allow(Condition=MFA))
    trust_policy = trust("*", {"StringEquals": {"sts:ExternalId": "x-7"}})
    assert options(evaluate([identity], trust_policy)) == [["MFA", "external id x-7"]]


def test_alternatives_stay_separate() -> None:
    by_mfa = allow(Condition=MFA)
    by_network = allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    decision = evaluate([document(by_mfa, by_network)])
    assert options(decision) == [["MFA"], ["source IP in 10.0.0.0/8"]]
    assert not decision.needs_mfa


def test_unconditional_way_hides_conditional_one() -> None:
    assert options(evaluate([document(allow(Condition=MFA), allow())])) == UNCONDITIONAL


def test_needs_mfa_when_every_way_does() -> None:
    decision = evaluate([GRANT], trust({"AWS": IDENTITY}, MFA))
    assert decision.needs_mfa


SAME_ACCOUNT_ROLE = f"arn:aws:iam::{IDENTITY}:role/Admin"


def test_same_account_user_trust_alone() -> None:
    decision = evaluate([], trust({"AWS": USER}), role=SAME_ACCOUNT_ROLE)
    assert options(decision) == UNCONDITIONAL


def test_same_account_user_trust_passes_boundary() -> None:
    boundary = document(allow(resource="arn:aws:iam::*:role/ReadOnly"))
    decision = evaluate([], trust({"AWS": USER}), boundary, role=SAME_ACCOUNT_ROLE)
    assert options(decision) == UNCONDITIONAL


def test_same_account_root_trust_needs_identity() -> None:
    assert options(evaluate([], ROOT_TRUST, role=SAME_ACCOUNT_ROLE)) is None


def test_cross_account_user_trust_needs_identity() -> None:
    assert options(evaluate([], trust({"AWS": USER}))) is None


def test_same_account_explicit_deny_still_wins() -> None:
    deny = document(statement("Deny", Action="sts:*", Resource="*"))
    assert (
        options(evaluate([deny], trust({"AWS": USER}), role=SAME_ACCOUNT_ROLE)) is None
    )


def test_outsider_fails_org_condition() -> None:
    outsider = Facts(USER, IDENTITY, "jdoe")
    trust_policy = trust("*", {"StringEquals": {"aws:PrincipalOrgID": ORG}})
    assert options(evaluate([GRANT], trust_policy, facts=outsider)) is None


def test_decision_names_statements_used() -> None:
    decision = evaluate([document(allow(Sid="AssumeAdmin"))])
    assert [s.source for s in decision.statements] == ["policy 0 (AssumeAdmin)"]


def test_denied_decision_says_why() -> None:
    decision = evaluate([document(statement("Deny", Action="*", Resource="*"))])
    assert decision.reason == "denied by policy 0"


def test_policy_as_json_string() -> None:
    text = '{"Statement": {"Effect": "Allow", "Action": "sts:*", "Resource": "*"}}'
    statements = parse_policy(text, "inline")
    assert len(statements) == 1
    assert statements[0].matches_action("sts:AssumeRole")


def test_unknown_organization_carries_condition() -> None:
    unknown = Facts(USER, IDENTITY, "jdoe", organization_id=None)
    trust_policy = trust("*", {"StringEquals": {"aws:PrincipalOrgID": ORG}})
    expected = [[f"principal in organization {ORG}"]]
    assert options(evaluate([GRANT], trust_policy, facts=unknown)) == expected
