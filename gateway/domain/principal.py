"""Who is acting: a subject with roles, as asserted by a verified bearer token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.errors import Forbidden, NotAuthenticated


class Role(StrEnum):
    SOURCE = "source"  # subject = source id; pushes its own datasets
    RECIPIENT = "recipient"  # subject = recipient id; requests and pulls extracts
    APPROVER = "approver"  # legal staff / DPO; four-eyes approval of specifications
    AUDITOR = "auditor"  # DPO; reads and verifies the audit trail
    OPERATOR = "operator"  # keys, health


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        raw = claims.get("roles", [])
        if isinstance(raw, str):
            raw = [raw]
        try:
            roles = frozenset(Role(r) for r in raw)
        except ValueError:
            raise NotAuthenticated("the bearer token names an unknown role") from None
        if not roles:
            raise NotAuthenticated("the bearer token carries no role")
        return cls(subject=str(claims["sub"]), roles=roles)

    @property
    def label(self) -> str:
        """How the principal appears in audit entries: ``subject[role,role]``."""
        return f"{self.subject}[{','.join(sorted(self.roles))}]"

    def require(self, role: Role) -> None:
        """Raises :class:`Forbidden` unless the principal holds ``role``."""
        if role not in self.roles:
            raise Forbidden(f"this action needs the '{role}' role")
