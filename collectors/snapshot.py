"""A snapshot: everything one refresh collected, as stored and as printed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collectors.model import Account, ErrorRecord, StateRecord, isoformat

SCHEMA_VERSION = 1
"""Version of the ``collect --json`` document and of a stored snapshot's body."""


@dataclass
class Snapshot:
    """One refresh: accounts, errors, states, stats and one section per collector."""

    generated_at: datetime
    organization_id: str = ""
    source: str = ""
    accounts: list[Account] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    states: list[StateRecord] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    generation: int = 0
    demo: bool = False

    def account(self, key: str) -> Account | None:
        """Find an account by id or exact name."""
        for account in self.accounts:
            if key in (account.id, account.name):
                return account
        return None

    def errors_for(self, account_id: str) -> list[ErrorRecord]:
        """Return the error records of one account."""
        return [error for error in self.errors if error.account_id == account_id]

    def to_document(self) -> dict[str, Any]:
        """Build the versioned JSON document of ``orgtop collect --json``."""
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "generated_at": isoformat(self.generated_at),
            "organization_id": self.organization_id,
            "source": self.source,
            "demo": self.demo,
            "accounts": [account.to_dict() for account in self.accounts],
            "errors": [error.to_dict() for error in self.errors],
            "states": [state.to_dict() for state in self.states],
            "stats": self.stats,
        }
        for name, section in self.sections.items():
            document[name] = section
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Snapshot:
        """Rebuild a snapshot from :meth:`to_document` output."""
        fixed = {
            "schema_version",
            "generated_at",
            "organization_id",
            "source",
            "demo",
            "accounts",
            "errors",
            "states",
            "stats",
        }
        return cls(
            generated_at=datetime.fromisoformat(
                document["generated_at"].replace("Z", "+00:00")
            ),
            organization_id=document.get("organization_id", ""),
            source=document.get("source", ""),
            demo=bool(document.get("demo", False)),
            accounts=[Account.from_dict(a) for a in document.get("accounts", [])],
            errors=[ErrorRecord.from_dict(e) for e in document.get("errors", [])],
            states=[StateRecord.from_dict(s) for s in document.get("states", [])],
            stats=document.get("stats", {}),
            sections={k: v for k, v in document.items() if k not in fixed},
        )
