"""The rows of storage limitation in a transaction: erasures begun and finished, legal holds,
recipients' deletion requests, pulls and discards, frozen records of processing. Mixed into
:class:`gateway.storage.unit_of_work.SqlUnitOfWork`, which holds the connection."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy import exc as sa_exc

from gateway.domain.records import (
    DeletionRequest,
    DeliveryRecord,
    DeliveryVersion,
    ErasureRecord,
    RecordSnapshot,
    ReleaseRecord,
)
from gateway.domain.retention import Hold
from gateway.errors import Conflict
from gateway.storage import tables as t

_ERASED = {"delivery": t.deliveries, "release": t.releases}


class RetentionRows:
    conn: Connection

    # what there is to keep ------------------------------------------------------
    def all_deliveries(self) -> list[DeliveryRecord]:
        rows = self.conn.execute(select(t.deliveries).order_by(t.deliveries.c.id))
        return [DeliveryRecord(**r._asdict()) for r in rows]

    def all_versions(self) -> list[DeliveryVersion]:
        v = t.delivery_versions.c
        rows = self.conn.execute(
            select(t.delivery_versions).order_by(v.dataset, v.period, v.version)
        )
        return [DeliveryVersion(**r._asdict()) for r in rows]

    def all_releases(self) -> list[ReleaseRecord]:
        rows = self.conn.execute(select(t.releases).order_by(t.releases.c.id))
        return [ReleaseRecord(**r._asdict()) for r in rows]

    def mark_pulled(self, release_id: str, at: str) -> None:
        self.conn.execute(
            update(t.releases).where(t.releases.c.id == release_id).values(last_pulled_at=at)
        )

    def discard_delivery(self, delivery_id: str, at: str) -> bool:
        """Mark a held delivery discarded by its source; False if it already was."""
        done = self.conn.execute(
            update(t.deliveries)
            .where(t.deliveries.c.id == delivery_id, t.deliveries.c.discarded_at.is_(None))
            .values(discarded_at=at)
        )
        return done.rowcount == 1

    # erasures -------------------------------------------------------------------
    def begin_erasure(self, record: ErasureRecord) -> bool:
        """Record that an erasure begins; False if it was begun before (by this sweep before a
        crash, or by another worker)."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(t.erasures.insert().values(**asdict(record)))
        except sa_exc.IntegrityError:
            return False
        return True

    def finish_erasure(self, kind: str, object_id: str, at: str) -> bool:
        """Mark an erasure finished and its object erased; False if another worker finished it
        first (the caller then writes no second audit entry)."""
        done = self.conn.execute(
            update(t.erasures)
            .where(
                t.erasures.c.kind == kind,
                t.erasures.c.object_id == object_id,
                t.erasures.c.done_at.is_(None),
            )
            .values(done_at=at)
        )
        if done.rowcount != 1:
            return False
        table = _ERASED[kind]
        self.conn.execute(update(table).where(table.c.id == object_id).values(erased_at=at))
        return True

    def set_erasure_entry(self, kind: str, object_id: str, audit_index: int) -> None:
        self.conn.execute(
            update(t.erasures)
            .where(t.erasures.c.kind == kind, t.erasures.c.object_id == object_id)
            .values(audit_index=audit_index)
        )

    def unfinished_erasures(self) -> list[ErasureRecord]:
        rows = self.conn.execute(select(t.erasures).where(t.erasures.c.done_at.is_(None)))
        return [ErasureRecord(**r._asdict()) for r in rows]

    def erasures(self, limit: int = 1000) -> list[ErasureRecord]:
        rows = self.conn.execute(
            select(t.erasures)
            .where(t.erasures.c.done_at.is_not(None))
            .order_by(t.erasures.c.done_at.desc())
            .limit(limit)
        )
        return [ErasureRecord(**r._asdict()) for r in rows]

    # legal holds ----------------------------------------------------------------
    def add_hold(self, hold: Hold) -> None:
        self.conn.execute(t.legal_holds.insert().values(**asdict(hold)))

    def holds(self, *, standing_only: bool = False) -> list[Hold]:
        query = select(t.legal_holds).order_by(t.legal_holds.c.placed_at)
        if standing_only:
            query = query.where(t.legal_holds.c.lifted_at.is_(None))
        return [Hold(**r._asdict()) for r in self.conn.execute(query)]

    def get_hold(self, hold_id: str) -> Hold | None:
        row = self.conn.execute(select(t.legal_holds).where(t.legal_holds.c.id == hold_id)).first()
        return Hold(**row._asdict()) if row else None

    def update_hold(self, hold_id: str, **values: Any) -> None:
        self.conn.execute(
            update(t.legal_holds).where(t.legal_holds.c.id == hold_id).values(**values)
        )

    # recipients' deletions ------------------------------------------------------
    def add_deletion_request(self, request: DeletionRequest) -> bool:
        """False if the recipient was already asked about this grant."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(t.deletion_requests.insert().values(**asdict(request)))
        except sa_exc.IntegrityError:
            return False
        return True

    def deletion_requests(self, recipient: str | None = None) -> list[DeletionRequest]:
        query = select(t.deletion_requests).order_by(t.deletion_requests.c.due)
        if recipient is not None:
            query = query.where(t.deletion_requests.c.recipient == recipient)
        return [DeletionRequest(**r._asdict()) for r in self.conn.execute(query)]

    def get_deletion_request(self, request_id: str) -> DeletionRequest | None:
        row = self.conn.execute(
            select(t.deletion_requests).where(t.deletion_requests.c.id == request_id)
        ).first()
        return DeletionRequest(**row._asdict()) if row else None

    def confirm_deletion(self, request_id: str, *, by: str, at: str, note: str | None) -> None:
        done = self.conn.execute(
            update(t.deletion_requests)
            .where(
                t.deletion_requests.c.id == request_id,
                t.deletion_requests.c.confirmed_at.is_(None),
            )
            .values(confirmed_by=by, confirmed_at=at, note=note)
        )
        if done.rowcount != 1:
            raise Conflict(f"deletion request '{request_id}' is already confirmed")

    def remind_deletion(self, request_id: str, at: str) -> None:
        c = t.deletion_requests.c
        self.conn.execute(
            update(t.deletion_requests)
            .where(c.id == request_id)
            .values(reminded_at=at, reminders=c.reminders + 1)
        )

    # records of processing ------------------------------------------------------
    def add_record_snapshot(
        self,
        *,
        created_at: str,
        approved_by: str,
        policy_hash: str,
        sha256: str,
        body: str,
        audit_index: int,
    ) -> int:
        """Freeze the next version; its number."""
        latest = self.conn.execute(select(func.max(t.record_snapshots.c.version))).scalar()
        version = int(latest or 0) + 1
        self.conn.execute(
            t.record_snapshots.insert().values(
                version=version,
                created_at=created_at,
                approved_by=approved_by,
                policy_hash=policy_hash,
                sha256=sha256,
                body=body,
                audit_index=audit_index,
            )
        )
        return version

    def record_snapshots(self) -> list[RecordSnapshot]:
        rows = self.conn.execute(select(t.record_snapshots).order_by(t.record_snapshots.c.version))
        return [RecordSnapshot(**r._asdict()) for r in rows]

    def get_record_snapshot(self, version: int) -> RecordSnapshot | None:
        row = self.conn.execute(
            select(t.record_snapshots).where(t.record_snapshots.c.version == version)
        ).first()
        return RecordSnapshot(**row._asdict()) if row else None
