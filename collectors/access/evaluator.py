"""Decide locally whether an IAM principal can assume a role (``sts:AssumeRole``).

A principal can assume a role when, following IAM's policy evaluation logic:

- its identity policies (inline and managed, its own and its groups') allow
  ``sts:AssumeRole`` on the role's ARN, ``Action``/``NotAction`` and
  ``Resource``/``NotResource`` with wildcards;
- its permissions boundary, if it has one, allows it too;
- the role's trust policy admits it: by its ARN, its account's root ARN or
  bare id, or ``*``; ``aws:PrincipalOrgID``, ``aws:PrincipalArn`` and the
  other principal keys are decided from the organization's data;
- no explicit ``Deny`` in any of these policies applies.

Within one account a trust policy that names the user's ARN is enough on its
own, without identity policy and beyond a permissions boundary, as IAM
documents for resource-based policies; naming the account's root always needs
the identity side too.

Conditions on request context (MFA, source IP, external id, tags) are not
decided: each way to the role becomes an *option*, the set of requirements
it needs, and a grant keeps every minimal option.

Not modelled: service control policies and resource control policies of the
organization, session policies and session tags passed with the call, role
chaining from another role, federated (SAML, OIDC) and AWS service
principals, IAM Identity Center permission sets, and conditions other than
on the principal's own keys (they are carried, not checked). A grant here is
therefore an upper bound of what AWS would allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product

from collectors.access.conditions import Facts, Requirement, decide
from collectors.access.policy import ALLOW, DENY, Statement, arn_account

ASSUME_ROLE = "sts:AssumeRole"
MAX_OPTIONS = 32
"""Options kept per grant; more are cut after minimising (never seen in practice)."""

Option = frozenset[Requirement]


@dataclass(frozen=True, slots=True)
class Path:
    """One statement that allows the request, and what it requires."""

    requirements: Option
    statement: Statement
    explicit: bool = False
    """For a trust policy: whether it names the principal's own ARN."""


@dataclass
class PolicyDecision:
    """The verdict of one set of policies on the request."""

    paths: list[Path] = field(default_factory=list)
    denied_by: str = ""
    guards: Option = frozenset()
    """Requirements from conditional denies: the request must escape each one."""


@dataclass(frozen=True)
class Decision:
    """Whether the principal can assume the role, and on what requirements."""

    allowed: bool
    options: tuple[Option, ...] = ()
    statements: tuple[Statement, ...] = ()
    """Identity statements (or, for a same-account grant, trust statements) used."""
    reason: str = ""
    """The reason for a refusal; empty when allowed."""

    @property
    def needs_mfa(self) -> bool:
        """Whether every option requires MFA."""
        return bool(self.options) and all(
            any(r.kind == "mfa" for r in option) for option in self.options
        )


def evaluate_identity(
    statements: Iterable[Statement], facts: Facts, action: str, resource: str
) -> PolicyDecision:
    """Evaluate identity (or boundary) statements for one action on one resource."""
    decision = PolicyDecision()
    guards: set[Requirement] = set()
    for statement in statements:
        if not statement.matches_action(action):
            continue
        if not statement.matches_resource(resource, facts.variables):
            continue
        if _apply(statement, facts, decision, guards):
            return decision
    decision.guards = frozenset(guards)
    return decision


def evaluate_trust(
    statements: Iterable[Statement], facts: Facts, action: str = ASSUME_ROLE
) -> PolicyDecision:
    """Evaluate a role's trust policy for a principal calling ``action``."""
    decision = PolicyDecision()
    guards: set[Requirement] = set()
    for statement in statements:
        if not statement.matches_action(action):
            continue
        admitted = admission(statement, facts)
        if admitted is None:
            continue
        if _apply(statement, facts, decision, guards, explicit=admitted == "explicit"):
            return decision
    decision.guards = frozenset(guards)
    return decision


def _apply(
    statement: Statement,
    facts: Facts,
    decision: PolicyDecision,
    guards: set[Requirement],
    *,
    explicit: bool = False,
) -> bool:
    """Add a matching statement's effect; return True on an unconditional deny."""
    outcome = decide(statement.conditions, facts, deny=statement.effect == DENY)
    if not outcome.applies:
        return False
    if statement.effect == DENY:
        if not outcome.requirements:
            decision.denied_by = statement.source
            decision.paths = []
            return True
        guards.update(outcome.requirements)
    elif statement.effect == ALLOW:
        decision.paths.append(Path(outcome.requirements, statement, explicit))
    return False


def admission(statement: Statement, facts: Facts) -> str | None:
    """Return how a trust statement names the principal, or None if it does not.

    ``explicit`` (its ARN or unique id), ``account`` (its account's root ARN
    or bare id) or ``anyone`` (``*``, or an ``Allow`` with ``NotPrincipal``
    that leaves it out).
    """
    if statement.principals is not None:
        return _named(statement.principals.get("AWS", ()), facts)
    if statement.not_principals is not None:
        excluded = _named(statement.not_principals.get("AWS", ()), facts)
        return None if excluded else "anyone"
    return None


def _named(entries: Sequence[str], facts: Facts) -> str | None:
    found: str | None = None
    for entry in entries:
        if entry == "*":
            found = found or "anyone"
        elif entry in (facts.arn, facts.user_id) and entry:
            return "explicit"
        elif entry.endswith(":root") or entry.isdigit():
            if arn_account(entry) == facts.account_id:
                found = "account"
    return found


def evaluate_assume_role(
    facts: Facts,
    identity: Sequence[Statement],
    trust: Sequence[Statement],
    role_arn: str,
    boundary: Sequence[Statement] | None = None,
) -> Decision:
    """Decide whether the principal in ``facts`` can assume the role."""
    trusted = evaluate_trust(trust, facts)
    if trusted.denied_by:
        return Decision(False, reason=f"denied by {trusted.denied_by}")
    if not trusted.paths:
        return Decision(False, reason="the trust policy does not admit the principal")
    allowed = evaluate_identity(identity, facts, ASSUME_ROLE, role_arn)
    if allowed.denied_by:
        return Decision(False, reason=f"denied by {allowed.denied_by}")
    limit = PolicyDecision(paths=[Path(frozenset(), _UNBOUNDED)])
    if boundary is not None:
        limit = evaluate_identity(boundary, facts, ASSUME_ROLE, role_arn)
        if limit.denied_by:
            return Decision(False, reason=f"denied by {limit.denied_by}")
    guards = trusted.guards | allowed.guards | limit.guards

    same_account = arn_account(role_arn) == facts.account_id
    direct = [p for p in trusted.paths if p.explicit] if same_account else []
    options: list[Option] = [p.requirements | guards for p in direct]
    used = [p.statement for p in direct]
    for ident, trust_path, bound in product(allowed.paths, trusted.paths, limit.paths):
        options.append(
            ident.requirements | trust_path.requirements | bound.requirements | guards
        )
        used.append(ident.statement)
    if not options:
        if not allowed.paths:
            reason = f"no identity policy allows {ASSUME_ROLE} on {role_arn}"
        else:
            reason = "the permissions boundary does not allow it"
        return Decision(False, reason=reason)
    return Decision(True, minimal(options), tuple(dict.fromkeys(used)))


_UNBOUNDED = Statement(ALLOW, "no permissions boundary")


def minimal(options: Iterable[Option]) -> tuple[Option, ...]:
    """Drop duplicate options and those that need more than another one."""
    unique = sorted(set(options), key=lambda o: (len(o), sorted(r.text for r in o)))
    kept: list[Option] = []
    for option in unique:
        if not any(other <= option for other in kept):
            kept.append(option)
    return tuple(kept[:MAX_OPTIONS])
