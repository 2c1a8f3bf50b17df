"""The versions of one dataset's month, as a value: which delivery is current, and which
version a delivery is.

Each accepted delivery of new content for a month is its next version; an earlier content sent
again is current once more (a new version); a withdrawal is a version without a delivery, so
the month then has nothing current until its source delivers again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.domain.records import DeliveryVersion


@dataclass(frozen=True)
class MonthVersions:
    """Every version of a month, oldest first."""

    versions: tuple[DeliveryVersion, ...]

    @classmethod
    def of(cls, versions: Iterable[DeliveryVersion]) -> MonthVersions:
        return cls(tuple(versions))

    @property
    def current(self) -> DeliveryVersion | None:
        """The newest version (its delivery is None if the month was withdrawn)."""
        return self.versions[-1] if self.versions else None

    def is_current(self, delivery_id: str) -> bool:
        newest = self.current
        return newest is not None and newest.delivery_id == delivery_id

    def version_of(self, delivery_id: str) -> int | None:
        """The newest version that is this delivery; None if it never was one (held)."""
        mine = [v.version for v in self.versions if v.delivery_id == delivery_id]
        return mine[-1] if mine else None
