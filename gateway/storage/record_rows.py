"""The records of a transaction: deliveries and the versions of their months, extract
specifications, releases and reviewers' votes, as rows of the SQL store. Mixed into
:class:`gateway.storage.unit_of_work.SqlUnitOfWork`, which holds the connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy import exc as sa_exc

from gateway.domain.extracts import ExtractSpec, ExtractStatus
from gateway.domain.records import (
    DeliveryRecord,
    DeliveryVersion,
    ExtractRecord,
    ReleaseRecord,
    Vote,
)
from gateway.errors import Conflict
from gateway.storage import tables as t


class RecordRows:
    conn: Connection

    # deliveries --------------------------------------------------------------
    def find_delivery(self, dataset: str, period: str, sha256: str) -> DeliveryRecord | None:
        row = self.conn.execute(
            select(t.deliveries).where(
                t.deliveries.c.dataset == dataset,
                t.deliveries.c.period == period,
                t.deliveries.c.sha256 == sha256,
            )
        ).first()
        return DeliveryRecord(**row._asdict()) if row else None

    def get_delivery(self, delivery_id: str) -> DeliveryRecord | None:
        row = self.conn.execute(
            select(t.deliveries).where(t.deliveries.c.id == delivery_id)
        ).first()
        return DeliveryRecord(**row._asdict()) if row else None

    def add_delivery(self, record: DeliveryRecord) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(t.deliveries.insert().values(**record.__dict__))
        except sa_exc.IntegrityError:
            raise Conflict("the same content was already delivered for this period") from None

    def latest_deliveries(self, dataset: str, periods: list[str]) -> list[DeliveryRecord]:
        """The current version's delivery of each month (none for a withdrawn month)."""
        v, d = t.delivery_versions.c, t.deliveries.c
        newest = (
            select(v.period, func.max(v.version).label("version"))
            .where(v.dataset == dataset, v.period.in_(periods))
            .group_by(v.period)
            .subquery()
        )
        rows = self.conn.execute(
            select(t.deliveries)
            .join(t.delivery_versions, v.delivery_id == d.id)
            .join(newest, (newest.c.period == v.period) & (newest.c.version == v.version))
            .where(v.dataset == dataset)
            .order_by(d.period)
        ).all()
        return [DeliveryRecord(**row._asdict()) for row in rows]

    def previous_delivery(self, dataset: str, period: str) -> DeliveryRecord | None:
        v = t.delivery_versions.c
        months = self.conn.execute(
            select(v.period)
            .where(v.dataset == dataset, v.period < period)
            .group_by(v.period)
            .order_by(v.period.desc())
            .limit(24)
        ).scalars()
        current = self.latest_deliveries(dataset, list(months))
        return current[-1] if current else None

    def versions_of(self, dataset: str, period: str) -> list[DeliveryVersion]:
        v = t.delivery_versions.c
        rows = self.conn.execute(
            select(t.delivery_versions)
            .where(v.dataset == dataset, v.period == period)
            .order_by(v.version)
        ).all()
        return [DeliveryVersion(**row._asdict()) for row in rows]

    def add_version(
        self,
        dataset: str,
        period: str,
        delivery_id: str | None,
        action: str,
        at: str,
        by: str,
        audit_index: int,
    ) -> int:
        """The month's next version (call in the transaction that appended its audit entry,
        which serialises writers)."""
        v = t.delivery_versions.c
        newest = self.conn.execute(
            select(func.max(v.version)).where(v.dataset == dataset, v.period == period)
        ).scalar()
        version = 1 if newest is None else int(newest) + 1
        self.conn.execute(
            t.delivery_versions.insert().values(
                dataset=dataset,
                period=period,
                version=version,
                delivery_id=delivery_id,
                action=action,
                recorded_at=at,
                recorded_by=by,
                audit_index=audit_index,
            )
        )
        return version

    # extracts ------------------------------------------------------------------
    def add_extract(self, record: ExtractRecord) -> None:
        values = dict(record.__dict__)
        values["spec"] = record.spec.model_dump_json()
        values["status"] = record.status.value
        self.conn.execute(t.extracts.insert().values(**values))

    @staticmethod
    def _extract(row: Any) -> ExtractRecord:
        values = row._asdict()
        values["spec"] = ExtractSpec.model_validate_json(values["spec"])
        values["status"] = ExtractStatus(values["status"])
        return ExtractRecord(**values)

    def get_extract(self, extract_id: str) -> ExtractRecord | None:
        row = self.conn.execute(select(t.extracts).where(t.extracts.c.id == extract_id)).first()
        return self._extract(row) if row else None

    def list_extracts(self, recipient: str | None) -> list[ExtractRecord]:
        query = select(t.extracts).order_by(t.extracts.c.created_at)
        if recipient is not None:
            query = query.where(t.extracts.c.recipient == recipient)
        return [self._extract(r) for r in self.conn.execute(query)]

    def set_extract_status(
        self, extract_id: str, status: ExtractStatus, *, by: str, at: str, note: str | None
    ) -> None:
        self.conn.execute(
            update(t.extracts)
            .where(t.extracts.c.id == extract_id)
            .values(status=status.value, decided_by=by, decided_at=at, decision_note=note)
        )

    # releases ------------------------------------------------------------------
    def add_release(self, record: ReleaseRecord) -> None:
        self.conn.execute(t.releases.insert().values(**record.__dict__))

    def get_release(self, release_id: str) -> ReleaseRecord | None:
        row = self.conn.execute(select(t.releases).where(t.releases.c.id == release_id)).first()
        return ReleaseRecord(**row._asdict()) if row else None

    def list_releases(self, extract_id: str) -> list[ReleaseRecord]:
        rows = self.conn.execute(
            select(t.releases)
            .where(t.releases.c.extract_id == extract_id)
            .order_by(t.releases.c.created_at)
        )
        return [ReleaseRecord(**r._asdict()) for r in rows]

    def releases_by_status(self, status: str) -> list[ReleaseRecord]:
        rows = self.conn.execute(
            select(t.releases)
            .where(t.releases.c.status == status)
            .order_by(t.releases.c.created_at)
        )
        return [ReleaseRecord(**r._asdict()) for r in rows]

    def set_release_status(
        self, release_id: str, status: str, *, by: str, at: str, note: str | None
    ) -> None:
        self.conn.execute(
            update(t.releases)
            .where(t.releases.c.id == release_id)
            .values(status=status, reviewed_by=by, reviewed_at=at, review_note=note)
        )

    # reviewers' votes ------------------------------------------------------------
    def add_vote(
        self,
        release_id: str,
        voter: str,
        vote: str,
        note: str | None,
        at: str,
        salt: str | None = None,
    ) -> None:
        self.conn.execute(
            t.release_votes.insert().values(
                release_id=release_id, voter=voter, vote=vote, note=note, recorded_at=at, salt=salt
            )
        )

    def change_vote(
        self, release_id: str, voter: str, vote: str, note: str | None, at: str, salt: str
    ) -> None:
        c = t.release_votes.c
        self.conn.execute(
            update(t.release_votes)
            .where(c.release_id == release_id, c.voter == voter)
            .values(vote=vote, note=note, recorded_at=at, salt=salt)
        )

    def votes(self, release_id: str) -> list[Vote]:
        c = t.release_votes.c
        rows = self.conn.execute(
            select(c.voter, c.vote, c.note, c.recorded_at, c.salt)
            .where(c.release_id == release_id)
            .order_by(c.recorded_at, c.voter)
        )
        return [Vote(r.voter, r.vote, r.note, r.recorded_at, r.salt) for r in rows]

    # console sessions ------------------------------------------------------------
