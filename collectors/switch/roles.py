"""Account lookup, role choice and the confirmation before production switches.

An account is named by its name, its id or an unambiguous prefix of either.
The roles offered in an account come from the access map when a snapshot
has one, else from the ``[[switch.role]]`` list of the config (the demo
world fills it from its scenario). Read-only mode keeps only roles whose
access level is ``read-only``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from collectors.config import Config
from collectors.model import Account
from collectors.switch.settings import RoleSetting

MAX_LISTED = 20
"""Candidates listed at most in an error; the rest are counted."""

LEVEL_WORDS = {
    "admin": "admin",
    "power-user": "power user",
    "read-only": "read-only",
    "custom": "custom policies",
    "unknown": "unknown access level",
}


class SwitchError(Exception):
    """A switch that cannot go ahead; the message states why and what to do next."""

    def __init__(self, message: str, candidates: Sequence[str] = ()) -> None:
        """Keep the message and the names the user may choose from instead."""
        super().__init__(message)
        self.message = message
        self.candidates = list(candidates)

    def __str__(self) -> str:
        """Return the message followed by the candidates, one per line."""
        lines = [self.message]
        listed = self.candidates[:MAX_LISTED]
        lines.extend(f"  {candidate}" for candidate in listed)
        if len(self.candidates) > len(listed):
            lines.append(f"  ... and {len(self.candidates) - len(listed)} more")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class OfferedRole:
    """A role the current identity may assume in one account."""

    name: str
    arn: str
    level: str = "unknown"
    max_session_seconds: int | None = None
    mfa_required: bool = False
    origin: str = "config"
    """Source of the grant: ``access map``, ``config`` or ``request``."""

    @property
    def level_words(self) -> str:
        """Return the access level as a person reads it ("power user")."""
        return LEVEL_WORDS.get(self.level, self.level)


def describe_account(account: Account) -> str:
    """Return ``name (id, team/env)`` for lists and messages."""
    return f"{account.name} ({account.id}, {account.team}/{account.env})"


def find_account(accounts: Sequence[Account], key: str) -> Account:
    """Return the account named by name, id or an unambiguous prefix of either.

    Raises:
        SwitchError: no account or several accounts match; lists the candidates.
    """
    query = key.strip().lower()
    if not query:
        raise SwitchError("the account is empty; give a name, an id or a prefix")
    exact = [a for a in accounts if query in (a.id, a.name.lower())]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [
        a
        for a in accounts
        if a.name.lower().startswith(query) or a.id.startswith(query)
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SwitchError(
            f"{key!r} matches {len(matches)} accounts; name one of them:",
            [describe_account(a) for a in matches],
        )
    by_name = {a.name.lower(): a for a in accounts}
    close = difflib.get_close_matches(query, list(by_name), n=5, cutoff=0.6)
    similar = [by_name[name] for name in close]
    if similar:
        raise SwitchError(
            f"no account matches {key!r}; did you mean one of these?",
            [describe_account(a) for a in similar],
        )
    raise SwitchError(
        f"no account matches {key!r}; the organization has these accounts:",
        [describe_account(a) for a in accounts],
    )


def partition_of(region: str) -> str:
    """Return the ARN partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn(account_id: str, name: str, region: str = "us-east-1") -> str:
    """Return the ARN of role ``name`` (which may include a path) in an account."""
    return f"arn:{partition_of(region)}:iam::{account_id}:role/{name.strip('/')}"


def configured_roles(
    settings: Iterable[RoleSetting], account: Account, region: str
) -> list[OfferedRole]:
    """Return the config's roles that apply to ``account``."""
    offered = []
    for setting in settings:
        if setting.accounts and not _selected(account, setting.accounts):
            continue
        offered.append(
            OfferedRole(
                setting.name,
                role_arn(account.id, setting.name, region),
                setting.level,
                setting.max_session_seconds,
            )
        )
    return offered


def _selected(account: Account, selectors: Iterable[str]) -> bool:
    for selector in selectors:
        kind, _, value = selector.partition(":")
        if value and kind == "team" and account.team == value:
            return True
        if value and kind == "env" and account.env == value:
            return True
        if selector in (account.id, account.name):
            return True
    return False


def offered_roles(
    config: Config,
    account: Account,
    granted: Sequence[OfferedRole] | None = None,
    *,
    read_only: bool = False,
) -> list[OfferedRole]:
    """Return the roles offered in ``account``, read-only ones alone if asked.

    ``granted`` are the roles the access map lists for the current identity in
    this account; None means there is no access map, so the config's roles
    are offered instead.
    """
    if granted is None:
        roles = configured_roles(config.switch.roles, account, config.home_region)
    else:
        roles = list(granted)
    if read_only or config.switch.read_only:
        roles = [role for role in roles if role.level == "read-only"]
    return roles


def choose_role(
    roles: Sequence[OfferedRole],
    name: str | None,
    account: Account,
    *,
    region: str = "us-east-1",
    read_only: bool = False,
    access_map: bool = False,
) -> OfferedRole:
    """Return the role named ``name`` among ``roles``, or the only one offered.

    With no role known at all (no access map, no configured roles) a named
    role is still tried, with an unknown access level, unless read-only mode
    is on. ``access_map`` is set when the roles come from the access map, where
    an empty list means the identity has no grant in the account.

    Raises:
        SwitchError: the role is not offered, or several are and none was named.
    """
    mode = "read-only " if read_only else ""
    if name:
        for role in roles:
            if role.name.lower() == name.lower():
                return role
        if not roles and not read_only and not access_map:
            return OfferedRole(
                name, role_arn(account.id, name, region), origin="request"
            )
    if not roles and access_map:
        raise SwitchError(
            f"the access map grants you no {mode}role in {describe_account(account)}; "
            "run `orgtop collect` if your grants changed"
        )
    if not roles:
        raise SwitchError(
            f"no {mode}role is known for {describe_account(account)}; add "
            "[[switch.role]] entries to the config or collect the access map"
        )
    if not name and len(roles) == 1:
        return roles[0]
    listed = [f"{role.name} ({role.level_words})" for role in roles]
    if name:
        raise SwitchError(
            f"role {name!r} is not among the {mode}roles offered in "
            f"{account.name}; choose one of:",
            listed,
        )
    raise SwitchError(
        f"{account.name} offers several roles; choose one with --role:", listed
    )


def production_question(
    config: Config, account: Account, role: OfferedRole
) -> str | None:
    """Return the confirmation to ask before switching, or None when none is needed.

    Production accounts (the configured production environments) need one
    for every role not known to be read-only: admin, power user, custom
    policies (which may write) and roles of unknown level.
    """
    if not config.is_production(account.env) or role.level == "read-only":
        return None
    return (
        f"{account.name} ({account.id}) is a production account "
        f"(environment {account.env}). Switch into it as {role.name} "
        f"({role.level_words})?"
    )
