"""Who is acting: a subject with roles, as asserted by a verified bearer token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.domain.identifiers import SUBJECT, canonical, is_valid
from gateway.errors import Forbidden, NotAuthenticated


class Role(StrEnum):
    SOURCE = "source"  # subject = source id; pushes its own datasets
    RECIPIENT = "recipient"  # subject = recipient id; requests and pulls extracts
    APPROVER = "approver"  # legal staff / DPO; four-eyes approval of specifications
    AUDITOR = "auditor"  # DPO; reads and verifies the audit trail
    OPERATOR = "operator"  # keys, health


@dataclass(frozen=True)
class Principal:
    """``subject`` is in canonical form (:func:`gateway.domain.identifiers.canonical`)."""

    subject: str
    roles: frozenset[Role]

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """The principal of verified claims. The claims are signed, but still checked for shape:
        an issuer's mistake (a number for ``roles``, an empty or odd ``sub``) is a 401 with
        the failed check named, never a crash and never a value written to a log."""
        raw = claims.get("roles")
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
            raise NotAuthenticated("the bearer token's 'roles' claim is not a list of role names")
        try:
            roles = frozenset(Role(r) for r in raw)
        except ValueError:
            raise NotAuthenticated("the bearer token names an unknown role") from None
        if not roles:
            raise NotAuthenticated("the bearer token carries no role")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not is_valid(SUBJECT, canonical(subject)):
            raise NotAuthenticated("the bearer token's 'sub' claim is not a valid identifier")
        return cls(subject=canonical(subject), roles=roles)

    @property
    def label(self) -> str:
        """How the principal appears in audit entries: ``subject[role,role]``."""
        return f"{self.subject}[{','.join(sorted(self.roles))}]"

    def require(self, role: Role) -> None:
        """Raises :class:`Forbidden` unless the principal holds ``role``."""
        if role not in self.roles:
            raise Forbidden(f"this action needs the '{role}' role")
