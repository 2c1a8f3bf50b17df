"""Who is acting: an organisation, the person or machine client acting for it, and its roles.
Domain values: the identity package produces them from tokens, every use case reads them.

The organisation decides ownership (a source pushes its own datasets, a recipient pulls its
own releases); the person or client decides four eyes (the approver is never the requester,
whichever organisation or role either acts under). Both are recorded in every audit entry
through :attr:`Principal.label`, and stored on records through :attr:`Principal.identity`.
Every part is in canonical form (:func:`gateway.domain.identifiers.canonical`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.identifiers import ACTOR, IDENTITY, ORGANISATION, UNIT, canonical
from gateway.errors import Forbidden


class FourEyes(StrEnum):
    """How far apart a second pair of eyes must be from the first (the requester, the one who
    ran it, another reviewer): ``person``, any other person; ``other-unit``, and not of the
    same organisation unit (the default); ``other-organisation``, and not of the same
    organisation."""

    PERSON = "person"
    OTHER_UNIT = "other-unit"
    OTHER_ORGANISATION = "other-organisation"


_STRICTNESS = [FourEyes.PERSON, FourEyes.OTHER_UNIT, FourEyes.OTHER_ORGANISATION]


def strictest(levels: list[FourEyes]) -> FourEyes:
    """The strictest of ``levels``; another unit when none is given (the safe default)."""
    return max(levels, key=_STRICTNESS.index, default=FourEyes.OTHER_UNIT)


class Role(StrEnum):
    SOURCE = "source"  # organisation = source id; pushes its own datasets
    RECIPIENT = "recipient"  # organisation = recipient id; requests and pulls extracts
    APPROVER = "approver"  # legal staff / DPO; four-eyes approval of specifications
    AUDITOR = "auditor"  # DPO; reads and verifies the audit trail
    OPERATOR = "operator"  # keys, health


class ActorKind(StrEnum):
    PERSON = "person"  # a person logged in at the identity provider
    CLIENT = "client"  # a machine client (client credentials)
    LOCAL = "local"  # someone at the gateway's own console (the local CLI, an OS account)


__all__ = [
    "ACTOR",
    "ORGANISATION",
    "UNIT",
    "ActorKind",
    "FourEyes",
    "Identity",
    "Principal",
    "Role",
]


@dataclass(frozen=True)
class Principal:
    """``organisation`` owns; ``actor`` (of ``kind``) acts; ``unit`` is the part of the
    organisation the actor belongs to, if the issuer says. An empty ``actor`` means the
    organisation itself acting through a local process (tests, benchmarks, the local CLI)."""

    organisation: str
    roles: frozenset[Role]
    actor: str = ""
    kind: ActorKind = ActorKind.LOCAL
    unit: str | None = None
    issuer: str | None = None

    def __post_init__(self) -> None:
        if not self.actor:
            object.__setattr__(self, "actor", self.organisation)

    @property
    def subject(self) -> str:
        """The organisation: what ownership is checked against."""
        return self.organisation

    @property
    def identity(self) -> str:
        """``organisation[/unit]/kind:actor``: who acted, without the roles (stored on records
        for four eyes)."""
        unit = f"/{self.unit}" if self.unit else ""
        return f"{self.organisation}{unit}/{self.kind}:{self.actor}"

    @property
    def label(self) -> str:
        """How the principal appears in audit entries: ``identity[role,role]``."""
        return f"{self.identity}[{','.join(sorted(self.roles))}]"

    def require(self, role: Role) -> None:
        """Raises :class:`Forbidden` unless the principal holds ``role``."""
        if role not in self.roles:
            raise Forbidden(f"this action needs the '{role}' role")


@dataclass(frozen=True)
class Identity:
    """A stored :attr:`Principal.identity` (or label), read back for four-eyes checks."""

    organisation: str
    unit: str | None
    kind: str
    actor: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Reads ``organisation[/unit]/kind:actor`` (a label's ``[roles]`` suffix is dropped).
        Records written before principals named persons hold a bare organisation id: that
        is read as the organisation acting as a whole."""
        text = canonical(text).split("[", 1)[0]
        match = IDENTITY.fullmatch(text)
        if match is None:
            return cls(text, None, ActorKind.LOCAL, text)
        return cls(match["org"], match["unit"], match["kind"], match["actor"])

    def same_actor(self, by: Principal) -> bool:
        """Is ``by`` the same person or client, under whatever organisation or role?"""
        return self.kind == by.kind and self.actor == by.actor

    def same_unit(self, by: Principal) -> bool:
        """Does ``by`` belong to the same organisation unit (an organisation that names no
        units is one unit)?"""
        return self.organisation == by.organisation and self.unit == by.unit


def acts_as_person(by: Principal) -> bool:
    """Approvals and reviews are a second *person's* act: a machine client never approves,
    whatever roles its provider gave it (someone at the gateway's own terminal is a person)."""
    return by.kind is not ActorKind.CLIENT


def apart(other: str, by: Principal, level: FourEyes) -> str | None:
    """Why ``by`` is not a second pair of eyes to the principal stored as ``other`` at
    ``level`` (the policy's: another person, another unit, another organisation), or None."""
    them = Identity.parse(other)
    if them.same_actor(by):
        return "is the same person or client"
    if them.kind == ActorKind.LOCAL and them.organisation == by.organisation:
        return "acts for the same organisation"
    if level is FourEyes.OTHER_ORGANISATION and them.organisation == by.organisation:
        return "is from the same organisation (this policy requires another organisation)"
    if level is FourEyes.OTHER_UNIT and them.same_unit(by):
        return "is from the same organisation unit (this policy requires another unit)"
    return None
