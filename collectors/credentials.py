"""Source identity, MFA and role sessions.

The source identity is the user's own profile, resolved by botocore (static
keys, SSO, ``credential_process``) and, where the profile or the profile it
sources from names an ``mfa_serial``, upgraded once per process with
``GetSessionToken``. Role sessions are cached in memory until shortly before
they expire. Nothing here writes a credential anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import botocore.session

from collectors.clients import ClientFactory, Credentials, TaskCredentials
from collectors.errors import CredentialError

log = logging.getLogger(__name__)

MfaCallback = Callable[[str], Awaitable[str | None]]
"""Asked for a code with the MFA device's serial; returns None when cancelled."""

CHAINED_MAX_SECONDS = 3600
"""AWS caps a role session obtained with role credentials (chaining) at 1 hour."""

REFRESH_MARGIN_SECONDS = 300


@dataclass(frozen=True, slots=True)
class ProfileChain:
    """A profile resolved to its leaf credentials and the roles stacked on it."""

    leaf: str
    leaf_mfa_serial: str | None
    roles: tuple[tuple[str, str | None, str | None], ...]
    region: str | None


def resolve_profile_chain(session: botocore.session.Session, name: str) -> ProfileChain:
    """Follow ``source_profile`` links, rejecting cycles and missing profiles."""
    profiles = session.full_config.get("profiles", {})
    roles: list[tuple[str, str | None, str | None]] = []
    seen: list[str] = []
    current = name
    region = None
    while True:
        if current in seen:
            loop = " -> ".join([*seen, current])
            raise CredentialError(
                f"profile chain has a cycle: {loop}; fix source_profile in the "
                "AWS config file"
            )
        seen.append(current)
        profile = profiles.get(current)
        if profile is None:
            origin = f" (source_profile of {seen[-2]!r})" if len(seen) > 1 else ""
            raise CredentialError(
                f"AWS profile {current!r}{origin} not found in the AWS config; "
                "add it or set source_profile in orgtop's config"
            )
        region = region or profile.get("region")
        if "role_arn" not in profile or "credential_source" in profile:
            return ProfileChain(
                current, profile.get("mfa_serial"), tuple(roles), region
            )
        roles.append(
            (profile["role_arn"], profile.get("mfa_serial"), profile.get("external_id"))
        )
        if "source_profile" not in profile:
            raise CredentialError(
                f"AWS profile {current!r} has role_arn but no source_profile"
            )
        current = profile["source_profile"]


class SourceIdentity:
    """The user's own credentials, with MFA asked at most once per session."""

    def __init__(
        self,
        factory: ClientFactory,
        *,
        profile: str | None = None,
        keys: Credentials | None = None,
        mfa_serial: str | None = None,
        mfa_callback: MfaCallback | None = None,
        mfa_code: str | None = None,
        region: str = "us-east-1",
        session_seconds: int = 43200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Describe where credentials come from; nothing is resolved yet."""
        self.factory = factory
        self.profile = profile
        self.keys = keys
        self.mfa_serial = mfa_serial
        self.mfa_callback = mfa_callback
        self.mfa_code = mfa_code
        self.region = region
        self.session_seconds = session_seconds
        self.clock = clock
        self.chained = False
        self.temporary = False
        self.arn = ""
        self.mfa_requests = 0
        self._cached: Credentials | None = None
        self._resolved_before = False
        self._lock = asyncio.Lock()

    async def credentials(self) -> Credentials:
        """Return valid source credentials, asking for MFA only when needed."""
        async with self._lock:
            cached = self._cached
            if cached and not _near_expiry(cached, self.clock()):
                return cached
            if self._resolved_before:
                # Clients opened under the old session would keep signing with it.
                await self.factory.forget("source")
            self._cached = await self._resolve()
            self.temporary = self._cached.session_token is not None
            self._resolved_before = True
            return self._cached

    def invalidate(self) -> None:
        """Drop the cached session (for instance after ExpiredToken)."""
        self._cached = None

    async def whoami(self) -> str:
        """Return the source identity's ARN from ``GetCallerIdentity``."""
        credentials = await self.credentials()
        sts = await self.factory.client("sts", self.region, credentials, "source")
        answer = await sts.get_caller_identity()
        self.arn = str(answer["Arn"])
        return self.arn

    async def _resolve(self) -> Credentials:
        if self.keys is not None:
            return await self._with_mfa(self.keys, self.mfa_serial)
        return await self._resolve_profile()

    async def _resolve_profile(self) -> Credentials:
        session = botocore.session.Session(profile=self.profile)
        name = self.profile or "default"
        try:
            chain = (
                resolve_profile_chain(session, name)
                if self._has_profiles(session, name)
                else ProfileChain(name, None, (), None)
            )
            leaf = await asyncio.to_thread(_leaf_credentials, chain.leaf)
        except botocore.exceptions.BotoCoreError as error:
            raise CredentialError(_explain_botocore(error, name)) from None
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise CredentialError(
                f"the source of AWS profile {name!r} was rejected ({code}): {error}"
            ) from None
        self.region = chain.region or self.region
        mfa = chain.leaf_mfa_serial if not chain.roles else None
        credentials = await self._with_mfa(leaf, mfa)
        inherited_mfa = chain.leaf_mfa_serial
        for role_arn, role_mfa, external_id in reversed(chain.roles):
            credentials = await self._assume(
                credentials, role_arn, role_mfa or inherited_mfa, external_id
            )
            inherited_mfa = None
            self.chained = True
        return credentials

    @staticmethod
    def _has_profiles(session: botocore.session.Session, name: str) -> bool:
        return name in session.full_config.get("profiles", {})

    async def _with_mfa(self, base: Credentials, serial: str | None) -> Credentials:
        if not serial:
            return base
        code = await self._ask_code(serial)
        sts = await self.factory.client("sts", self.region, base, "source-base")
        self.mfa_requests += 1
        log.info("requesting an MFA session for %s", serial)
        answer = await sts.get_session_token(
            DurationSeconds=self.session_seconds, SerialNumber=serial, TokenCode=code
        )
        return _from_sts(answer["Credentials"])

    async def _assume(
        self,
        base: Credentials,
        role_arn: str,
        serial: str | None,
        external_id: str | None,
    ) -> Credentials:
        arguments: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": "orgtop",
            "DurationSeconds": CHAINED_MAX_SECONDS,
        }
        if serial:
            arguments["SerialNumber"] = serial
            arguments["TokenCode"] = await self._ask_code(serial)
        if external_id:
            arguments["ExternalId"] = external_id
        sts = await self.factory.client("sts", self.region, base, f"chain:{role_arn}")
        answer = await sts.assume_role(**arguments)
        return _from_sts(answer["Credentials"])

    async def _ask_code(self, serial: str) -> str:
        code = self.mfa_code
        self.mfa_code = None
        if code is None and self.mfa_callback is not None:
            code = await self.mfa_callback(serial)
        if code is None:
            raise CredentialError(
                f"an MFA code is needed for {serial}; run in a terminal or pass "
                "--mfa-code"
            )
        if not (len(code) == 6 and code.isdigit()):
            raise CredentialError(f"MFA code must be 6 digits, got {len(code)} chars")
        return code


def _leaf_credentials(profile: str) -> Credentials:
    session = botocore.session.Session(profile=profile)
    resolved = session.get_credentials()
    if resolved is None:
        raise CredentialError(
            f"no credentials found for AWS profile {profile!r}; configure it with "
            "`aws configure` or `aws sso login`"
        )
    frozen = resolved.get_frozen_credentials()
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _explain_botocore(error: Exception, profile: str) -> str:
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return f"AWS profile {profile!r} not found; check source_profile in the config"
    if isinstance(
        error,
        botocore.exceptions.SSOTokenLoadError
        | botocore.exceptions.UnauthorizedSSOTokenError,
    ):
        return (
            f"the SSO session of profile {profile!r} has expired or is missing; "
            f"run `aws sso login --profile {profile}` and refresh"
        )
    if isinstance(error, botocore.exceptions.InfiniteLoopConfigError):
        return f"AWS profile {profile!r} has a source_profile cycle; fix the config"
    return f"cannot resolve credentials of AWS profile {profile!r}: {error}"


def _from_sts(data: dict[str, Any]) -> Credentials:
    expiration = data.get("Expiration")
    stamp = expiration.timestamp() if hasattr(expiration, "timestamp") else None
    return Credentials(
        data["AccessKeyId"], data["SecretAccessKey"], data.get("SessionToken"), stamp
    )


def _near_expiry(credentials: Credentials, now: float) -> bool:
    if credentials.expiration is None:
        return False
    return credentials.expiration - REFRESH_MARGIN_SECONDS <= now


class RoleSessions:
    """Role sessions by ARN, assumed from the source identity and reused."""

    def __init__(
        self,
        source: SourceIdentity,
        *,
        session_name: str = "orgtop",
        duration_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Use ``source`` for every AssumeRole; sessions are created on demand."""
        self.source = source
        self.factory = source.factory
        self.session_name = session_name
        self.duration_seconds = duration_seconds
        self.clock = clock
        self.assume_requests = 0
        self.assumed: Counter[str] = Counter()
        self._failures: dict[str, botocore.exceptions.ClientError] = {}
        self._sessions: dict[str, tuple[Credentials, str]] = {}
        self._signing: dict[str, TaskCredentials] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def effective_duration(self) -> int:
        """Return the requested duration, clamped to 1 hour for chained sessions.

        AWS counts any AssumeRole made with temporary source credentials as
        role chaining, an MFA session from GetSessionToken and SSO role
        credentials included, and rejects a DurationSeconds above 3600.
        """
        if self.source.chained or self.source.temporary:
            return min(self.duration_seconds, CHAINED_MAX_SECONDS)
        return self.duration_seconds

    async def credentials(
        self, role_arn: str, external_id: str | None = None
    ) -> tuple[Credentials, str]:
        """Return the role's credentials and the client-cache key of the session."""
        lock = self._locks.setdefault(role_arn, asyncio.Lock())
        async with lock:
            failure = self._failures.get(role_arn)
            if failure is not None:
                raise failure
            cached = self._sessions.get(role_arn)
            if cached and not _near_expiry(cached[0], self.clock()):
                return cached
            if cached:
                log.info("renewing role session %s", role_arn)
                await self.factory.forget(cached[1])
            try:
                fresh = await self._assume(role_arn, external_id)
            except botocore.exceptions.ClientError as error:
                # Every task of the account would be denied the same way; ask
                # STS once per refresh, not once per collector and region.
                self._failures[role_arn] = error
                raise
            self._sessions[role_arn] = fresh
            return fresh

    def forget_failures(self) -> None:
        """Allow roles that failed in the previous refresh to be tried again."""
        self._failures.clear()

    async def _assume(
        self, role_arn: str, external_id: str | None
    ) -> tuple[Credentials, str]:
        source = await self.source.credentials()
        sts = await self.factory.client("sts", self.source.region, source, "source")
        arguments: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": self.effective_duration(),
        }
        if external_id:
            arguments["ExternalId"] = external_id
        self.assume_requests += 1
        self.assumed[role_arn] += 1
        answer = await sts.assume_role(**arguments)
        credentials = _from_sts(answer["Credentials"])
        return credentials, f"{role_arn}@{credentials.expiration}"

    async def drop(self, role_arn: str) -> None:
        """Forget a role session (after ExpiredToken) and close its clients."""
        cached = self._sessions.pop(role_arn, None)
        if cached:
            await self.factory.forget(cached[1])

    async def client(self, role_arn: str, service: str, region: str) -> Any:
        """Return the shared client for ``service`` in ``region``.

        The role is assumed first, so a denied role fails here as before;
        calls on the client sign with :meth:`signing_credentials`.
        """
        await self.credentials(role_arn)
        return await self.factory.shared_client(service, region)

    async def own_client(self, role_arn: str, service: str, region: str) -> Any:
        """Return a client that signs as the role by itself, for calls outside tasks.

        Such a client is opened per role session; the refresh never uses one.
        """
        credentials, key = await self.credentials(role_arn)
        return await self.factory.client(service, region, credentials, key)

    async def signing_credentials(self, role_arn: str) -> TaskCredentials:
        """Return the role's current credentials in the form botocore signs with."""
        credentials, key = await self.credentials(role_arn)
        signing = self._signing.get(key)
        if signing is None:
            # A renewed session replaces the role's previous entry.
            self._signing = {
                k: v for k, v in self._signing.items() if v.role != role_arn
            }
            signing = TaskCredentials(credentials, role_arn)
            self._signing[key] = signing
        return signing
