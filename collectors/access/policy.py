"""IAM policy documents parsed into statements, and IAM's wildcard matching.

A policy document is the JSON that ``GetAccountAuthorizationDetails`` returns
(botocore already URL-decodes it into a dict; a JSON string is accepted too).
Each statement keeps its effect, its ``Action``/``NotAction``,
``Resource``/``NotResource``, ``Principal``/``NotPrincipal`` and its conditions,
plus a ``source`` naming where it came from (for example ``group
payments-developers, inline policy grant-0``), so a grant can name the
policy it exists through.

Matching follows the IAM policy reference: ``*`` matches any run of
characters and ``?`` exactly one; action names match case-insensitively,
resource ARNs case-sensitively. Of the policy variables only
``${aws:username}``, ``${aws:userid}`` and ``${aws:PrincipalAccount}`` and the
escapes ``${*}``, ``${?}`` and ``${$}`` are substituted; a resource with any
other variable matches nothing, which is what IAM does when a variable has no
value in the request.

No third-party parser is used. ``policyuniverse`` (last released in
November 2023) and ``arn`` (2021) were considered, but the parsing is a few
dozen lines, and the evaluation this package needs (one request against
``NotAction``/``NotResource``, conditions kept as requirements) would have
to be written here either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ALLOW = "Allow"
DENY = "Deny"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a statement: operator, key and the values it compares."""

    operator: str
    key: str
    values: tuple[str, ...]

    @property
    def base_operator(self) -> str:
        """Return the operator without its ``ForAnyValue:`` prefix or ``IfExists``."""
        name = self.operator.split(":", 1)[-1]
        return name.removesuffix("IfExists")

    @property
    def if_exists(self) -> bool:
        """Whether the condition also holds when the key is absent from the request."""
        return self.operator.endswith("IfExists")


@dataclass(frozen=True, slots=True, eq=False)
class Statement:
    """One statement of a policy document; ``None`` means the element is absent.

    Statements compare and hash by identity: two equal-looking statements of
    different policies are different sources of a grant.
    """

    effect: str
    source: str
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: Mapping[str, tuple[str, ...]] | None = None
    not_principals: Mapping[str, tuple[str, ...]] | None = None
    conditions: tuple[Condition, ...] = ()
    sid: str = ""
    origin: str = ""
    """Owner of the policy: ``user``, ``group:NAME``, ``boundary`` or ``trust``."""

    def matches_action(self, action: str) -> bool:
        """Return whether ``Action`` covers an action or ``NotAction`` omits it."""
        if self.actions is not None:
            return any(
                wildcard_match(p, action, ignore_case=True) for p in self.actions
            )
        if self.not_actions is not None:
            return not any(
                wildcard_match(p, action, ignore_case=True) for p in self.not_actions
            )
        return False

    def matches_resource(self, resource: str, variables: Mapping[str, str]) -> bool:
        """Return whether ``Resource`` covers an ARN or ``NotResource`` omits it."""
        if self.resources is not None:
            return any(_resource_match(p, resource, variables) for p in self.resources)
        if self.not_resources is not None:
            return not any(
                _resource_match(p, resource, variables) for p in self.not_resources
            )
        # Trust policies have no Resource element: the role itself is the resource.
        return True


def parse_policy(document: Any, source: str, origin: str = "") -> list[Statement]:
    """Parse a policy document (a dict or a JSON string) into statements.

    Raises:
        ValueError: the document is not JSON or has no statement list.
    """
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, dict):
        raise ValueError(f"{source}: policy document is not a JSON object")
    raw = document.get("Statement", [])
    entries = raw if isinstance(raw, list) else [raw]
    statements = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{source}: statement {index} is not a JSON object")
        statements.append(_statement(entry, source, origin))
    return statements


def _statement(entry: dict[str, Any], source: str, origin: str) -> Statement:
    sid = str(entry.get("Sid", ""))
    return Statement(
        effect=str(entry.get("Effect", "")),
        source=f"{source} ({sid})" if sid else source,
        actions=_strings(entry.get("Action")),
        not_actions=_strings(entry.get("NotAction")),
        resources=_strings(entry.get("Resource")),
        not_resources=_strings(entry.get("NotResource")),
        principals=_principals(entry.get("Principal")),
        not_principals=_principals(entry.get("NotPrincipal")),
        conditions=_conditions(entry.get("Condition")),
        sid=sid,
        origin=origin,
    )


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return tuple(_scalar(item) for item in items)


def _scalar(value: Any) -> str:
    # JSON booleans in conditions compare as the strings "true" and "false".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principals(value: Any) -> dict[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if value == "*":
        return {"AWS": ("*",)}
    if not isinstance(value, dict):
        return {"AWS": tuple(_strings(value) or ())}
    return {kind: _strings(entries) or () for kind, entries in value.items()}


def _conditions(value: Any) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        return ()
    found = []
    for operator, block in value.items():
        if not isinstance(block, dict):
            continue
        for key, values in block.items():
            found.append(Condition(str(operator), str(key), _strings(values) or ()))
    return tuple(found)


@lru_cache(maxsize=8192)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(_regex(pattern), re.IGNORECASE if ignore_case else 0)


def _regex(glob: str) -> str:
    parts = []
    for char in glob:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Match a value against an IAM pattern where ``*`` and ``?`` are wildcards."""
    if pattern == "*":
        return True
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


def _resource_match(pattern: str, resource: str, variables: Mapping[str, str]) -> bool:
    if "${" not in pattern:
        return wildcard_match(pattern, resource)
    compiled = _with_variables(pattern, tuple(sorted(variables.items())))
    return compiled is not None and compiled.fullmatch(resource) is not None


@lru_cache(maxsize=4096)
def _with_variables(
    pattern: str, variables: tuple[tuple[str, str], ...]
) -> re.Pattern[str] | None:
    """Compile a resource pattern with its policy variables filled in.

    A variable's value and the escapes ``${*}``, ``${?}`` and ``${$}`` are
    literal text, never wildcards. None means a variable has no known value.
    """
    values = {key.lower(): value for key, value in variables}
    parts = []
    position = 0
    for match in _VARIABLE.finditer(pattern):
        parts.append(_regex(pattern[position : match.start()]))
        name = match.group(1)
        value = name if name in ("*", "?", "$") else values.get(name.lower())
        if value is None:
            return None
        parts.append(re.escape(value))
        position = match.end()
    parts.append(_regex(pattern[position:]))
    return re.compile("".join(parts))


def arn_account(value: str) -> str:
    """Return the account id of an ARN or a bare 12-digit id, or ``""``."""
    if len(value) == 12 and value.isdigit():
        return value
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        return parts[4]
    return ""


def is_aws_managed(policy_arn: str) -> bool:
    """Return whether a policy ARN is AWS managed (``arn:*:iam::aws:policy/...``)."""
    parts = policy_arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == "aws"
