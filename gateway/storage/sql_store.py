"""The SQLAlchemy implementation of :class:`gateway.services.ports.Store`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from gateway.audit.chain import GENESIS, chain_hash, entry_body
from gateway.audit.events import AuditEntry, AuditEvent
from gateway.domain.extracts import ExtractSpec, ExtractStatus
from gateway.domain.records import DeliveryRecord, ExtractRecord, ReleaseRecord
from gateway.errors import Conflict
from gateway.services.ports import AuditQuery
from gateway.storage import tables as t
from gateway.storage.dialects import configure_sqlite, install_append_only_triggers


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    """Create tables and triggers if missing (idempotent)."""
    t.metadata.create_all(engine)
    install_append_only_triggers(engine)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        index=row.idx,
        recorded_at=row.recorded_at,
        type=row.event_type,
        actor=row.actor,
        dataset=row.dataset,
        recipient=row.recipient,
        body=bytes(row.body),
        entry_hash=row.entry_hash,
    )


class SqlUnitOfWork:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # audit -----------------------------------------------------------------
    def append_audit(self, event: AuditEvent) -> AuditEntry:
        head = self.conn.execute(
            select(t.audit_entries.c.idx, t.audit_entries.c.entry_hash)
            .order_by(t.audit_entries.c.idx.desc())
            .limit(1)
        ).first()
        index = 0 if head is None else head.idx + 1
        previous = GENESIS if head is None else bytes.fromhex(head.entry_hash)
        recorded_at = utc_now()
        body = entry_body(index, recorded_at, event)
        entry = AuditEntry(
            index=index,
            recorded_at=recorded_at,
            type=event.type.value,
            actor=event.actor,
            dataset=event.dataset,
            recipient=event.recipient,
            body=body,
            entry_hash=chain_hash(previous, body).hex(),
        )
        self.conn.execute(
            t.audit_entries.insert().values(
                idx=entry.index,
                recorded_at=entry.recorded_at,
                event_type=entry.type,
                actor=entry.actor,
                dataset=entry.dataset,
                recipient=entry.recipient,
                body=entry.body,
                entry_hash=entry.entry_hash,
            )
        )
        return entry

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
        rows = self.conn.execute(
            select(t.deliveries)
            .where(t.deliveries.c.dataset == dataset, t.deliveries.c.period.in_(periods))
            .order_by(t.deliveries.c.period, t.deliveries.c.audit_index.desc())
        ).all()
        latest: dict[str, DeliveryRecord] = {}
        for row in rows:
            latest.setdefault(row.period, DeliveryRecord(**row._asdict()))
        return list(latest.values())

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

    # meta ----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) is None:
            self.conn.execute(t.meta.insert().values(key=key, value=value))
        else:
            self.conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=value))


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> SqlStore:
        engine = make_engine(url)
        create_schema(engine)
        return cls(engine)

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        with self.engine.begin() as conn:
            yield SqlUnitOfWork(conn)

    def audit_entries(self, start: int = 0) -> Iterator[AuditEntry]:
        batch = 5000
        position = start
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(t.audit_entries)
                    .where(t.audit_entries.c.idx >= position)
                    .order_by(t.audit_entries.c.idx)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            position = rows[-1].idx + 1

    def search_audit(self, query: AuditQuery) -> list[AuditEntry]:
        a = t.audit_entries.c
        stmt = select(t.audit_entries).order_by(a.idx)
        filters = {
            a.event_type: query.event_type,
            a.actor: query.actor,
            a.dataset: query.dataset,
            a.recipient: query.recipient,
        }
        for column, value in filters.items():
            if value is not None:
                stmt = stmt.where(column == value)
        if query.since is not None:
            stmt = stmt.where(a.recorded_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(a.recorded_at < query.until)
        stmt = stmt.limit(query.limit).offset(query.offset)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(stmt)]

    def audit_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.audit_entries)).scalar_one())

    def dispose(self) -> None:
        self.engine.dispose()
