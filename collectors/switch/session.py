"""Assume a role for a person and turn the session into an environment.

:class:`Switcher` shares the process's :class:`SourceIdentity`, so the MFA
code is asked once per source session however many switches follow, and
reuses :class:`RoleSessions` (one per session duration) so a second switch
into the same role within its session makes no request at all.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from collectors.clients import Credentials
from collectors.config import Config
from collectors.credentials import CHAINED_MAX_SECONDS, RoleSessions, SourceIdentity
from collectors.errors import EXPIRED_CODES
from collectors.model import Account
from collectors.switch.mfa_cache import KeyringSession
from collectors.switch.roles import OfferedRole, SwitchError

log = logging.getLogger(__name__)

DEFAULT_MAX_SECONDS = 3600
"""A role's MaxSessionDuration unless its owner raised it (IAM's default)."""

STALE_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
)
"""Variables dropped from a child's environment: they would name other credentials."""


def clamp_duration(
    requested: int, role_max: int | None, chained: bool, role_name: str = "the role"
) -> tuple[int, list[str]]:
    """Return the session length to ask for and a notice for each cut made.

    AWS rejects a DurationSeconds above the role's MaxSessionDuration, and
    above one hour when the caller's credentials are temporary (an MFA
    session from GetSessionToken or another role's session): AWS calls both
    role chaining.
    """
    seconds = requested
    notices = []
    if role_max is not None and seconds > role_max:
        notices.append(
            f"{role_name} allows sessions of at most {_hours(role_max)}; "
            f"asked for {_hours(requested)}, using {_hours(role_max)}"
        )
        seconds = role_max
    if chained and seconds > CHAINED_MAX_SECONDS:
        notices.append(
            "the source credentials are temporary (an MFA session or a role), "
            "and AWS caps roles assumed with them (role chaining) at 1 hour; "
            f"asked for {_hours(seconds)}, using 1h"
        )
        seconds = CHAINED_MAX_SECONDS
    return seconds, notices


def _hours(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"{hours}h{minutes:02d}m"
    return f"{hours}h" if hours else f"{minutes}m"


@dataclass(frozen=True)
class RoleSwitch:
    """One assumed role in one account, ready to export or open."""

    account: Account
    role: OfferedRole
    credentials: Credentials
    region: str
    duration_seconds: int
    chained: bool
    endpoint_url: str = ""
    notices: tuple[str, ...] = ()

    @property
    def expires_at(self) -> str:
        """Return the session's expiry as ISO 8601 UTC (empty if unknown)."""
        if self.credentials.expiration is None:
            return ""
        moment = datetime.fromtimestamp(self.credentials.expiration, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def environment(self) -> dict[str, str]:
        """Return the variables a shell or command needs to act as the role."""
        credentials = self.credentials
        variables = {
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_SESSION_TOKEN": credentials.session_token or "",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CREDENTIAL_EXPIRATION": self.expires_at,
            "ORGTOP_ACCOUNT": self.account.name,
            "ORGTOP_ACCOUNT_ID": self.account.id,
            "ORGTOP_ENV": self.account.env,
            "ORGTOP_ROLE": self.role.name,
        }
        if self.endpoint_url:
            variables["AWS_ENDPOINT_URL"] = self.endpoint_url
        return {name: value for name, value in variables.items() if value}

    def child_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """Return ``base`` without other credentials' variables, plus the role's."""
        merged = {k: v for k, v in base.items() if k not in STALE_VARIABLES}
        merged.update(self.environment())
        return merged

    def export_lines(self) -> str:
        """Return POSIX shell ``export`` lines, quoted for ``eval``."""
        lines = [
            "unset " + " ".join(STALE_VARIABLES),
            *(
                f"export {name}={shlex.quote(value)}"
                for name, value in self.environment().items()
            ),
        ]
        return "\n".join(lines) + "\n"


class Switcher:
    """Assumes roles for a person, sharing one source identity and its MFA."""

    def __init__(
        self,
        config: Config,
        source: SourceIdentity,
        *,
        keyring_session: KeyringSession | None = None,
    ) -> None:
        """Use ``source`` for every AssumeRole.

        ``keyring_session`` is the MFA session cached from an earlier run. It
        is dropped when AWS rejects it, so the source prompts for a code again.
        """
        self.config = config
        self.source = source
        self.keyring_session = keyring_session
        self._sessions: dict[int, RoleSessions] = {}
        self._renew_lock = asyncio.Lock()

    async def switch(
        self, account: Account, role: OfferedRole, duration: int | None = None
    ) -> RoleSwitch:
        """Assume ``role`` in ``account`` and return the session.

        Raises:
            SwitchError: AWS refused the role or could not be reached.
            CredentialError: the source identity has no usable credentials.
        """
        if not account.active:
            raise SwitchError(
                f"{account.name} ({account.id}) is {account.status}; roles in it "
                "cannot be assumed"
            )
        used = await self.source.credentials()
        chained = self.source.chained or used.session_token is not None
        requested = duration or self.config.switch.duration_seconds
        seconds, notices = clamp_duration(
            requested, role.max_session_seconds, chained, role.name
        )
        try:
            credentials = await self._assume(role, seconds)
        except ClientError as error:
            code = _code(error)
            if code in EXPIRED_CODES or self._cached_session_rejected(code):
                await self._renew_source(used)
                credentials = await self._assume(role, seconds)
            elif _exceeds_max(error) and seconds > DEFAULT_MAX_SECONDS:
                notices.append(
                    f"{role.name} rejected a session of {_hours(seconds)} (more than "
                    f"its maximum); using {_hours(DEFAULT_MAX_SECONDS)}"
                )
                seconds = DEFAULT_MAX_SECONDS
                credentials = await self._assume(role, seconds)
            else:
                raise _explain(error, role) from None
        log.info(
            "switched into %s (%s) as %s for %d s",
            account.name,
            account.id,
            role.name,
            seconds,
        )
        return RoleSwitch(
            account,
            role,
            credentials,
            _region(account, self.config.home_region),
            seconds,
            chained,
            self.config.switch.endpoint_url,
            tuple(notices),
        )

    async def _assume(self, role: OfferedRole, seconds: int) -> Credentials:
        sessions = self._sessions.get(seconds)
        if sessions is None:
            sessions = RoleSessions(
                self.source,
                session_name=self.config.switch.session_name,
                duration_seconds=seconds,
            )
            self._sessions[seconds] = sessions
        # RoleSessions remembers a rejected AssumeRole for the rest of a
        # refresh. A switch is a new request by the person, so STS is asked again.
        sessions.forget_failures()
        try:
            credentials, _ = await sessions.credentials(role.arn)
        except BotoCoreError as error:
            raise SwitchError(f"AssumeRole into {role.arn} failed: {error}") from None
        return credentials

    def _cached_session_rejected(self, code: str) -> bool:
        cached = self.keyring_session
        return code == "InvalidClientTokenId" and cached is not None and cached.in_use

    async def _renew_source(self, failed: Credentials) -> None:
        """Drop the expired source session once, however many switches saw it."""
        async with self._renew_lock:
            if await self.source.credentials() is not failed:
                return
            log.info("the source session expired; resolving it again")
            if self.keyring_session is not None:
                self.keyring_session.drop()
            self.source.invalidate()
            await self.source.credentials()


def _region(account: Account, home_region: str) -> str:
    if home_region in account.regions or not account.regions:
        return home_region
    return account.regions[0]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _exceeds_max(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return _code(error) == "ValidationError" and "MaxSessionDuration" in message


def _explain(error: ClientError, role: OfferedRole) -> SwitchError:
    code = _code(error)
    message = error.response.get("Error", {}).get("Message", "")
    if code in ("AccessDenied", "AccessDeniedException"):
        hint = "the role's trust policy or your own policies do not allow it" + (
            ", or it needs MFA" if role.mfa_required else ""
        )
        return SwitchError(f"not allowed to assume {role.arn}: {hint} ({message})")
    return SwitchError(f"AssumeRole into {role.arn} failed: {code}: {message}")
