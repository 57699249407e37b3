"""AWS config profiles for every account and role, in a managed block.

``orgtop profiles`` writes one ``[profile NAME]`` per account and role the
person may assume, so that tools which cannot assume roles themselves still
reach every account. The profiles live between two marker lines of the AWS
config file. Everything outside the markers is kept byte for byte, the old
file is copied aside before a write, and an unchanged block is not written.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from collectors.model import Account
from collectors.switch.roles import OfferedRole

BEGIN = "# >>> orgtop managed profiles >>>"
END = "# <<< orgtop managed profiles <<<"
HEADER = (
    "# Written by `orgtop profiles --write`: edits inside this block are replaced",
    "# on the next write. `orgtop profiles --remove --write` takes the block out.",
)
_SECTION = re.compile(r"^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]")
_UNSAFE = re.compile(r"[^\w.@+=-]")


class ProfileFileError(Exception):
    """The AWS config file cannot be read or its managed block is damaged."""


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """One generated profile: a role in an account, reached from the source profile."""

    name: str
    account: Account
    role: OfferedRole
    source_profile: str
    mfa_serial: str
    region: str

    def lines(self) -> list[str]:
        """Return the profile's section as config lines."""
        lines = [
            f"[profile {self.name}]",
            f"# {self.account.name} ({self.account.id}), {self.role.level_words}",
            f"role_arn = {self.role.arn}",
            f"source_profile = {self.source_profile}",
        ]
        if self.mfa_serial:
            lines.append(f"mfa_serial = {self.mfa_serial}")
        lines.append(f"region = {self.region}")
        return lines


def profile_name(pattern: str, account: Account, role: OfferedRole) -> str:
    """Fill the name pattern, replacing characters unsafe in a profile name."""
    name = pattern.format(
        team=account.team,
        env=account.env,
        role=role.name.rsplit("/", 1)[-1],
        account=account.name,
        account_id=account.id,
    )
    return _UNSAFE.sub("-", name)


def build_entries(
    accounts: Sequence[Account],
    roles_of: Callable[[Account], list[OfferedRole]],
    *,
    pattern: str,
    source_profile: str,
    mfa_serial: str,
    region: str,
    existing_names: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[ProfileEntry], list[str]]:
    """Return the profiles of every active account's roles, and notices.

    Two accounts whose names fill the pattern alike (unassigned accounts)
    get their account id appended. Names already used outside the block
    (``existing_names``) are skipped with a notice, because a second section of the
    same name makes botocore reject the whole file.
    """
    candidates = [
        (profile_name(pattern, account, role), account, role)
        for account in sorted(accounts, key=lambda a: (a.team, a.env, a.name))
        if account.active
        for role in roles_of(account)
    ]
    counts = Counter(name for name, _, _ in candidates)
    entries = []
    notices = []
    for name, account, role in candidates:
        if counts[name] > 1:
            name = f"{name}-{account.id}"
        if name in existing_names:
            notices.append(
                f"profile {name!r} already exists outside orgtop's block; "
                "it is left alone and not generated"
            )
            continue
        entries.append(
            ProfileEntry(name, account, role, source_profile, mfa_serial, region)
        )
    return entries, notices


def render_block(entries: Sequence[ProfileEntry], newline: str = "\n") -> str:
    """Return the whole managed block, markers included, ending with a newline."""
    lines = [BEGIN, *HEADER]
    for entry in entries:
        lines.append("")
        lines.extend(entry.lines())
    lines.append("")
    lines.append(END)
    return newline.join(lines) + newline


def split_block(text: str) -> tuple[str, str | None, str]:
    """Split a config into the text before the block, the block and the text after.

    Raises:
        ProfileFileError: the markers are missing, repeated or out of order.
    """
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if not begins and not ends:
        return text, None, ""
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ProfileFileError(
            f"the orgtop block is damaged: {len(begins)} start and {len(ends)} end "
            f"markers ({BEGIN!r}, {END!r}); fix or delete the block by hand"
        )
    start, stop = begins[0], ends[0] + 1
    return "".join(lines[:start]), "".join(lines[start:stop]), "".join(lines[stop:])


def sections_outside(text: str) -> set[str]:
    """Return the profile names defined outside the managed block."""
    before, _, after = split_block(text)
    names = set()
    for line in (before + after).splitlines():
        match = _SECTION.match(line)
        if match:
            names.add(match.group(1))
    return names


def replace_block(text: str, block: str | None) -> str:
    """Return ``text`` with its managed block replaced, added or (None) removed.

    A new block goes at the end of the file. A file whose last line has no
    newline gets one first, and that is the only change outside the block.
    """
    before, old, after = split_block(text)
    if old is None:
        if block is None:
            return text
        if before and not before.endswith(("\n", "\r")):
            before += _newline_of(before)
        return before + block
    return before + (block or "") + after


def newline_of(text: str) -> str:
    """Return the line ending a config uses (CRLF or LF)."""
    return _newline_of(text)


def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def unified_diff(old: str, new: str, path: Path) -> str:
    """Return a unified diff from ``old`` to ``new`` (empty when they are equal)."""
    lines = difflib.unified_diff(
        _diff_lines(old),
        _diff_lines(new),
        fromfile=str(path),
        tofile=f"{path} (orgtop)",
    )
    return "".join(lines)


def _diff_lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def read_config(path: Path) -> str:
    """Read the AWS config file (empty text when it does not exist)."""
    try:
        with path.open(encoding="utf-8", errors="surrogateescape", newline="") as file:
            return file.read()
    except FileNotFoundError:
        return ""
    except OSError as error:
        raise ProfileFileError(f"cannot read {path}: {error.strerror}") from None


def write_config(path: Path, text: str, now: datetime | None = None) -> Path | None:
    """Replace the file atomically, keeping its mode; return the backup's path.

    A symbolic link is followed, so a config kept in a dotfiles repository
    is updated where it lives. The old file is copied next to it as
    ``NAME.orgtop-YYYYmmddTHHMMSS.bak`` first.
    """
    target = path.resolve()
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    backup = None
    mode = 0o600
    try:
        if target.exists():
            mode = target.stat().st_mode & 0o777
            backup = target.with_name(f"{target.name}.orgtop-{moment}.bak")
            shutil.copy2(target, backup)
        else:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", dir=target.parent
        )
        with os.fdopen(
            handle, "w", encoding="utf-8", errors="surrogateescape", newline=""
        ) as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        raise ProfileFileError(f"cannot write {target}: {error.strerror}") from None
    return backup
