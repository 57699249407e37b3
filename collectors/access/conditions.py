"""Policy conditions: decided from known facts, or carried as requirements.

Some condition keys describe the principal, which the organization's own
data settles: ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``,
``aws:PrincipalArn``, ``aws:PrincipalType``, ``aws:username``,
``aws:userid`` and ``aws:PrincipalIsAWSService``. These are evaluated.
Every other key depends on the request (MFA, source IP, external id, tags,
time...), so a condition on it becomes a :class:`Requirement` that the grant
carries: "this grant needs MFA", not a yes or a no.

A condition of an explicit ``Deny`` turns into the opposite requirement: the
common "deny everything unless MFA" statement (``BoolIfExists``
``aws:MultiFactorAuthPresent`` ``false``) becomes a plain MFA requirement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.access.policy import Condition, wildcard_match

MFA_PRESENT = "aws:multifactorauthpresent"
MFA_AGE = "aws:multifactorauthage"
SOURCE_IP = "aws:sourceip"
EXTERNAL_ID = "sts:externalid"


@dataclass(frozen=True, slots=True)
class Requirement:
    """A condition a request must meet for a grant to apply."""

    kind: str
    """``mfa``, ``source-ip``, ``external-id``, ``tag``, ``source-identity``,
    ``principal`` (only in trust summaries) or ``other``."""
    text: str
    """The requirement in words, as the TUI and ``collect --json`` show it."""
    key: str = ""
    operator: str = ""
    values: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Convert to the JSON shape of the snapshot section."""
        return {
            "kind": self.kind,
            "text": self.text,
            "key": self.key,
            "operator": self.operator,
            "values": list(self.values),
        }


@dataclass(frozen=True, slots=True)
class Facts:
    """Known facts about the principal making the request."""

    arn: str
    account_id: str
    name: str = ""
    user_id: str = ""
    principal_type: str = "User"
    organization_id: str | None = ""
    """The principal's organization: ``""`` outside any, None when unknown."""
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict of a statement's conditions: never, always, or on requirements."""

    applies: bool
    requirements: frozenset[Requirement] = frozenset()


def principal_values(facts: Facts) -> dict[str, str | None]:
    """Return the condition keys the facts settle, lower-cased (None: key absent).

    An unknown organization leaves ``aws:PrincipalOrgID`` out, so a condition
    on it is carried as a requirement instead of decided.
    """
    values: dict[str, str | None] = {
        "aws:principalarn": facts.arn,
        "aws:principalaccount": facts.account_id,
        "aws:principaltype": facts.principal_type,
        "aws:username": facts.name or None,
        "aws:userid": facts.user_id or None,
        "aws:principalisawsservice": "false",
    }
    if facts.organization_id is not None:
        values["aws:principalorgid"] = facts.organization_id or None
    return values


def decide(conditions: tuple[Condition, ...], facts: Facts, *, deny: bool) -> Outcome:
    """Decide a statement's conditions for the principal in ``facts``.

    For an ``Allow`` the outcome is whether it can apply and what the request
    must meet. For a ``Deny``, ``applies`` is whether it can apply at all, and
    its requirements are what the request must meet to escape it.
    """
    known = principal_values(facts)
    unknown: list[Condition] = []
    for condition in conditions:
        key = condition.key.lower()
        if key in known:
            if not _holds(condition, known[key]):
                return Outcome(False)
        else:
            unknown.append(condition)
    if not unknown:
        return Outcome(True)
    if not deny:
        return Outcome(True, frozenset(_requirement(c) for c in unknown))
    return Outcome(True, frozenset({_escape(unknown)}))


def _holds(condition: Condition, value: str | None) -> bool:
    operator = condition.base_operator
    if operator == "Null":
        wanted = condition.values[0].lower() == "true" if condition.values else True
        return (value is None) == wanted
    if value is None:
        return condition.if_exists or operator.startswith(("StringNot", "ArnNot"))
    negated = "Not" in operator
    base = operator.replace("Not", "")
    if base in ("StringEquals", "ArnEquals"):
        hit = value in condition.values
    elif base == "StringEqualsIgnoreCase":
        hit = value.lower() in {v.lower() for v in condition.values}
    elif base in ("StringLike", "ArnLike"):
        hit = any(wildcard_match(v, value) for v in condition.values)
    elif base == "Bool":
        hit = value.lower() in {v.lower() for v in condition.values}
    else:
        # An operator that makes no sense for these keys (numeric, date, IP).
        return False
    return hit != negated


def requirement_of(condition: Condition) -> Requirement:
    """Describe one condition as the requirement it puts on a request."""
    return _requirement(condition)


PRINCIPAL_TEXT = {
    "aws:principalorgid": "principal in organization",
    "aws:principalaccount": "principal in account",
    "aws:principalarn": "principal ARN",
    "aws:principalorgpaths": "principal under organization path",
}


def _requirement(condition: Condition) -> Requirement:
    kind, text = _describe(condition)
    return Requirement(kind, text, condition.key, condition.operator, condition.values)


def _describe(condition: Condition) -> tuple[str, str]:
    """Return the kind of requirement a condition is, and its text."""
    key = condition.key.lower()
    operator = condition.base_operator
    listed = ", ".join(condition.values)

    if key == MFA_PRESENT and operator == "Bool" and _all_true(condition.values):
        if condition.if_exists:
            # Long-term keys send no MFA key at all, and IfExists then passes.
            return "other", "MFA only if the caller's credentials carry MFA data"
        return "mfa", "MFA"
    if key == MFA_AGE and operator in ("NumericLessThan", "NumericLessThanEquals"):
        return "mfa", f"MFA within {listed} s"
    if key == SOURCE_IP and operator == "IpAddress":
        return "source-ip", f"source IP in {listed}"
    if key == EXTERNAL_ID and operator in ("StringEquals", "StringLike"):
        return "external-id", f"external id {listed}"

    if "tag/" in key:
        name = condition.key.split("/", 1)[1]
        scope = condition.key.split(":", 1)[-1].split("/", 1)[0]
        return "tag", f"{scope} {name} = {listed}"
    if key in PRINCIPAL_TEXT:
        negation = "not " if "Not" in operator else ""
        return "principal", f"{negation}{PRINCIPAL_TEXT[key]} {listed}"
    if key == "sts:sourceidentity":
        return "source-identity", f"source identity {listed}"
    return "other", f"{condition.key} {condition.operator} {listed}"


def _escape(conditions: list[Condition]) -> Requirement:
    """Return what a request must meet to escape a conditional deny.

    The deny applies when all its conditions hold, so escaping it needs any
    one of them to fail. The common single-condition MFA and IP patterns
    become the plain requirement; anything else is shown as "not (...)".
    """
    if len(conditions) == 1:
        condition = conditions[0]
        key = condition.key.lower()
        operator = condition.base_operator
        if key == MFA_PRESENT and operator == "Bool" and _all_false(condition.values):
            if condition.if_exists:
                return Requirement(
                    "mfa", "MFA", condition.key, condition.operator, condition.values
                )
            return _other(condition, "MFA when using temporary credentials")
        if key == MFA_AGE and operator == "Null" and _all_true(condition.values):
            return Requirement(
                "mfa", "MFA", condition.key, condition.operator, condition.values
            )
        if key == SOURCE_IP and operator == "NotIpAddress":
            ranges = ", ".join(condition.values)
            return Requirement(
                "source-ip",
                f"source IP in {ranges}",
                condition.key,
                condition.operator,
                condition.values,
            )
    clauses = " and ".join(_requirement(c).text for c in conditions)
    first = conditions[0]
    return Requirement(
        "other", f"not ({clauses})", first.key, first.operator, first.values
    )


def _other(condition: Condition, text: str) -> Requirement:
    return Requirement(
        "other", text, condition.key, condition.operator, condition.values
    )


def _all_true(values: tuple[str, ...]) -> bool:
    return bool(values) and all(v.lower() == "true" for v in values)


def _all_false(values: tuple[str, ...]) -> bool:
    return bool(values) and all(v.lower() == "false" for v in values)
