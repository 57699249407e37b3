"""An opt-in cache of the MFA session in the operating system's keyring.

Within one process :class:`~collectors.credentials.SourceIdentity` prompts
for the MFA code once per session. Across separate command runs this cache keeps
that session (the GetSessionToken credentials and their expiry) in the
keyring, so a second run within the session's lifetime asks for no code. It
refuses keyring backends that store nothing or store plain text, and never
writes a file of its own.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from collectors.clients import Credentials
from collectors.credentials import REFRESH_MARGIN_SECONDS, SourceIdentity

log = logging.getLogger(__name__)

SERVICE = "orgtop"
UNSAFE_BACKENDS = ("keyring.backends.fail", "keyring.backends.null")


def keyring_problem() -> str | None:
    """Return why the keyring cannot keep a session, or None when it can."""
    try:
        backend = keyring.get_keyring()
    except (keyring.errors.KeyringError, RuntimeError, ImportError) as error:
        return f"the keyring cannot be loaded: {error}"
    for member in _members(backend):
        kind = type(member)
        name = f"{kind.__module__}.{kind.__name__}"
        if kind.__module__ in UNSAFE_BACKENDS:
            return f"no keyring backend is available ({name})"
        if "plaintext" in kind.__name__.lower():
            return f"the keyring backend {name} stores secrets in a plain file"
    return None


def _members(backend: KeyringBackend) -> list[KeyringBackend]:
    """Return the backend, or the backends a chainer writes through."""
    members = getattr(backend, "backends", None)
    return list(members) if members else [backend]


class KeyringSession:
    """The MFA session of one source identity, kept in the keyring.

    :meth:`apply` makes the source use a cached session, :meth:`remember`
    stores a fresh one and :meth:`drop` deletes it (AWS reported it expired
    or invalid) and gives the source back its own settings.
    """

    def __init__(
        self, source: SourceIdentity, clock: Callable[[], float] = time.time
    ) -> None:
        """Name the keyring entry after the source profile or access key."""
        self.source = source
        self.clock = clock
        if source.keys is not None:
            origin = f"keys:{source.keys.access_key_id}"
        else:
            origin = f"profile:{source.profile or 'default'}"
        self.username = f"mfa-session {origin}"
        self.in_use = False
        self._original = (source.keys, source.profile, source.mfa_serial)

    def apply(self) -> bool:
        """Point the source at a cached, unexpired session; return whether one was."""
        cached = self._load()
        if cached is None:
            return False
        if (
            cached.expiration is None
            or cached.expiration - REFRESH_MARGIN_SECONDS <= self.clock()
        ):
            self._forget()
            return False
        self.source.keys = cached
        self.source.profile = None
        self.source.mfa_serial = None
        self.source.invalidate()
        self.in_use = True
        log.info("using the MFA session cached in the keyring")
        return True

    async def remember(self) -> None:
        """Store the source's MFA session when this run asked for a code."""
        if self.in_use or self.source.mfa_requests == 0:
            return
        credentials = await self.source.credentials()
        if self.source.chained or credentials.session_token is None:
            return
        document = {
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
            "session_token": credentials.session_token,
            "expiration": credentials.expiration,
        }
        try:
            keyring.set_password(SERVICE, self.username, json.dumps(document))
        except keyring.errors.KeyringError as error:
            log.warning("cannot store the MFA session in the keyring: %s", error)

    def drop(self) -> None:
        """Forget the cached session and restore the source's own settings."""
        if not self.in_use:
            return
        self._forget()
        self.source.keys, self.source.profile, self.source.mfa_serial = self._original
        self.in_use = False

    def _load(self) -> Credentials | None:
        try:
            stored = keyring.get_password(SERVICE, self.username)
        except keyring.errors.KeyringError as error:
            log.warning("cannot read the keyring: %s", error)
            return None
        if not stored:
            return None
        try:
            data = json.loads(stored)
            return Credentials(
                data["access_key_id"],
                data["secret_access_key"],
                data["session_token"],
                float(data["expiration"]),
            )
        except (ValueError, KeyError, TypeError):
            log.warning(
                "the keyring entry %r is not a session; ignoring it", self.username
            )
            return None

    def _forget(self) -> None:
        try:
            keyring.delete_password(SERVICE, self.username)
        except keyring.errors.KeyringError:
            log.debug("no keyring entry %r to delete", self.username)
