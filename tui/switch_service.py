"""Role switching on top of a runtime, shared by the command line and the TUI.

:class:`SwitchService` finds the accounts (the stored snapshot refreshed by
an inventory-only run), the roles offered in one of them, and assumes them
through the runtime's own source identity, so the collectors and every
switch share one MFA session.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from collectors.access.queries import grants_for, roles_in, user_arn
from collectors.config import Config
from collectors.credentials import resolve_profile_chain
from collectors.errors import CredentialError
from collectors.model import Account
from collectors.snapshot import Snapshot
from collectors.store import StoreError
from collectors.switch.federation import signin_url
from collectors.switch.mfa_cache import KeyringSession, keyring_problem
from collectors.switch.roles import OfferedRole, offered_roles
from collectors.switch.session import RoleSwitch, Switcher
from collectors.switch.settings import RoleSetting
from tui.runtime import Runtime

log = logging.getLogger(__name__)

ACCESS_SECTION = "iam"
"""Snapshot section of the IAM collector, which contains the access map."""
INVENTORY_ONLY = ("-",)
"""A collector filter no collector's name matches: the refresh lists accounts only."""


class SwitchService:
    """Accounts, roles and role sessions for one runtime."""

    def __init__(self, runtime: Runtime, *, use_keyring: bool | None = None) -> None:
        """Prepare; no credentials are resolved until the first call needing them.

        ``use_keyring`` overrides ``[switch] mfa_keyring`` for this runtime.
        """
        self.runtime = runtime
        self.snapshot: Snapshot | None = None
        self.notices: list[str] = []
        self.keyring_session: KeyringSession | None = None
        self._use_keyring = (
            self.config.switch.mfa_keyring if use_keyring is None else use_keyring
        )
        self._switcher: Switcher | None = None

    @property
    def config(self) -> Config:
        """Return the runtime's config."""
        return self.runtime.config

    def switcher(self) -> Switcher:
        """Return the switcher, built on the runtime's source identity.

        Building it applies a keyring-cached MFA session to the source, so it
        is built before the first request of the run.
        """
        if self._switcher is None:
            source = self.runtime.build().source
            if self._use_keyring:
                self.keyring_session = self._keyring_session()
            self._switcher = Switcher(
                self.config, source, keyring_session=self.keyring_session
            )
        return self._switcher

    def take_notices(self) -> list[str]:
        """Return the notices gathered so far and forget them."""
        notices, self.notices = self.notices, []
        return notices

    def _keyring_session(self) -> KeyringSession | None:
        if self.runtime.demo:
            self.notices.append(
                "the demo world's MFA sessions end with this process, so the "
                "keyring cache is not used"
            )
            return None
        problem = keyring_problem()
        if problem:
            self.notices.append(
                f"{problem}; the MFA session is not cached, so the code is asked "
                "on every run"
            )
            return None
        cached = KeyringSession(self.runtime.build().source)
        cached.apply()
        return cached

    async def accounts(self) -> list[Account]:
        """Return the organization's accounts: listed now, or stored when offline.

        Raises:
            StoreError: offline with no stored snapshot.
        """
        self.snapshot = self.runtime.latest()
        if self.runtime.options.offline:
            if self.snapshot is None:
                raise StoreError(
                    f"no snapshot in {self.runtime.store_path}; run `orgtop collect` "
                    "or drop --offline"
                )
            return list(self.snapshot.accounts)
        self.switcher()
        refresher = self.runtime.build()
        listed = await refresher.run(self.snapshot, only=INVENTORY_ONLY)
        return list(listed.accounts)

    def roles(self, account: Account, *, read_only: bool = False) -> list[OfferedRole]:
        """Return the roles offered to the current identity in ``account``."""
        granted = granted_roles(self.snapshot, account, self.config.switch.roles)
        return offered_roles(self.config, account, granted, read_only=read_only)

    def uses_access_map(self, account: Account) -> bool:
        """Return whether the roles of ``account`` come from the access map."""
        return granted_roles(self.snapshot, account) is not None

    async def switch(
        self, account: Account, role: OfferedRole, duration: int | None = None
    ) -> RoleSwitch:
        """Assume ``role`` in ``account``; the MFA session is kept if asked for."""
        switched = await self.switcher().switch(account, role, duration)
        if self.keyring_session is not None:
            await self.keyring_session.remember()
        return switched

    async def console_url(self, switched: RoleSwitch) -> str:
        """Return the console sign-in URL of a role session (a secret)."""
        return await signin_url(switched, self.config.switch)

    def profile_source(self) -> tuple[str, str]:
        """Return the ``source_profile`` and ``mfa_serial`` for generated profiles."""
        settings = self.config.switch
        source = settings.profile_source or self.config.source_profile or "default"
        return source, settings.mfa_serial or _mfa_serial_of(source)


def granted_roles(
    snapshot: Snapshot | None,
    account: Account,
    settings: Sequence[RoleSetting] = (),
) -> list[OfferedRole] | None:
    """Return the roles the access map grants the snapshot's identity in ``account``.

    None means the access map cannot tell: no snapshot or ``iam`` section,
    a source identity that is not an IAM user, or no role of the account
    collected. A role's maximum session length comes from the config's
    ``[[switch.role]]`` of the same name, since IAM's authorization details
    do not include it.
    """
    if snapshot is None:
        return None
    section = snapshot.sections.get(ACCESS_SECTION)
    principal = user_arn(snapshot.source)
    if not section or not principal or not roles_in(section, account.id):
        return None
    maxima = {setting.name: setting.max_session_seconds for setting in settings}
    return [
        OfferedRole(
            grant["role"],
            grant["role_arn"],
            grant["level"],
            maxima.get(grant["role"]),
            bool(grant["mfa_required"]),
            origin="access map",
        )
        for grant in grants_for(section, principal)
        if grant["account_id"] == account.id
    ]


def _mfa_serial_of(profile: str) -> str:
    import botocore.session

    session = botocore.session.Session()
    profiles = session.full_config.get("profiles", {})
    own = profiles.get(profile, {}).get("mfa_serial")
    if own:
        return str(own)
    try:
        chain = resolve_profile_chain(session, profile)
    except CredentialError:
        return ""
    return chain.leaf_mfa_serial or ""


def describe_roles(roles: Sequence[OfferedRole]) -> list[str]:
    """Return ``name (level)`` lines for a role list."""
    return [f"{role.name} ({role.level_words})" for role in roles]
