"""The SQLAlchemy implementation of :class:`gateway.services.ports.Store`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from gateway.audit.checkpointer import Checkpointer
from gateway.audit.encoding import entry_body
from gateway.audit.events import AuditEntry, AuditEvent
from gateway.audit.merkle import leaf_hash, node_hash, root, split_point
from gateway.domain.extracts import ExtractSpec, ExtractStatus
from gateway.domain.ledger import LedgerCells
from gateway.domain.records import DeliveryRecord, ExtractRecord, ReleaseRecord
from gateway.errors import ConfigurationError, Conflict, IntegrityError
from gateway.services.ports import AuditQuery
from gateway.storage import migrate, subject_index
from gateway.storage import tables as t
from gateway.storage.dialects import (
    configure_sqlite,
    insert_many,
    lock_audit_head,
    read_snapshot_options,
)

T = TypeVar("T")
LEDGER_COLUMNS = (
    "release_id",
    "source",
    "cell",
    "recipient",
    "key",
    "first_month",
    "last_month",
    "persons",
)


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
    # A commit returns only once it is on disk, whatever the server's default says.
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": "-c synchronous_commit=on"}
    )


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic; idempotent)."""
    migrate.upgrade(engine)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        index=row.idx,
        recorded_at=row.recorded_at,
        type=row.event_type,
        actor=row.actor,
        dataset=row.dataset,
        recipient=row.recipient,
        body=bytes(row.body),
        leaf_hash=row.leaf_hash,
    )


def node_reader(conn: Connection) -> Callable[[int, int], bytes]:
    """MTH(D[start:end]) from the node table: stored for complete aligned subtrees, combined
    on the right edge (O(log n) reads, memoised for the life of the reader)."""
    n = t.audit_nodes.c
    query = select(n.hash).where(n.level == bindparam("level"), n.idx == bindparam("idx"))
    memo: dict[tuple[int, int], bytes] = {}

    def stored(level: int, idx: int) -> bytes:
        if (level, idx) not in memo:
            value = conn.execute(query, {"level": level, "idx": idx}).scalar()
            if value is None:
                raise IntegrityError(f"audit tree node ({level}, {idx}) is missing")
            memo[(level, idx)] = bytes(value)
        return memo[(level, idx)]

    def subtree(start: int, end: int) -> bytes:
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            level = width.bit_length() - 1
            return stored(level, start >> level)
        k = split_point(width)
        return node_hash(subtree(start, start + k), subtree(start + k, end))

    return subtree


class SqlUnitOfWork:
    """One transaction. Audit entries, tree nodes and subject keys are buffered and written in
    bulk when the transaction ends (before its checkpoint is signed), so a batch of appends
    costs a few statements, not several per entry."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.appended = 0
        self._next: int | None = None
        self._entries: list[dict[str, Any]] = []
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._subjects: dict[int, Sequence[bytes]] = {}

    # audit -----------------------------------------------------------------
    def append_audit(self, event: AuditEvent, subjects: Sequence[bytes] = ()) -> AuditEntry:
        if self._next is None:
            lock_audit_head(self.conn)
            self._next = self._stored_head()
        index = self._next
        self._next += 1
        recorded_at = utc_now()
        body = entry_body(index, recorded_at, event, subjects)
        leaf = leaf_hash(body)
        entry = AuditEntry(
            index=index,
            recorded_at=recorded_at,
            type=event.type.value,
            actor=event.actor,
            dataset=event.dataset,
            recipient=event.recipient,
            body=body,
            leaf_hash=leaf.hex(),
        )
        self._entries.append(
            {
                "idx": index,
                "recorded_at": recorded_at,
                "event_type": entry.type,
                "actor": entry.actor,
                "dataset": entry.dataset,
                "recipient": entry.recipient,
                "body": body,
                "leaf_hash": entry.leaf_hash,
            }
        )
        self._add_nodes(index, leaf)
        if subjects:
            self._subjects[index] = subjects
        self.appended += 1
        return entry

    def _node(self, level: int, idx: int) -> bytes:
        if (level, idx) in self._nodes:
            return self._nodes[(level, idx)]
        n = t.audit_nodes.c
        value = self.conn.execute(select(n.hash).where(n.level == level, n.idx == idx)).scalar_one()
        return bytes(value)

    def _add_nodes(self, index: int, leaf: bytes) -> None:
        """The leaf and every subtree it completes (left siblings from memory where possible)."""
        self._nodes[(0, index)] = leaf
        value, level, position = leaf, 0, index
        while position & 1:
            value = node_hash(self._node(level, position - 1), value)
            level += 1
            position >>= 1
            self._nodes[(level, position)] = value

    def flush(self) -> None:
        """Write the buffered audit rows (called before the checkpoint is signed)."""
        if self._entries:
            self.conn.execute(t.audit_entries.insert(), self._entries)
            self.conn.execute(
                t.audit_nodes.insert(),
                [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in self._nodes.items()],
            )
            for index, subjects in self._subjects.items():
                subject_index.store_subjects(self.conn, index, subjects)
        self._entries, self._nodes, self._subjects = [], {}, {}

    def _stored_head(self) -> int:
        head = self.conn.execute(select(func.max(t.audit_entries.c.idx))).scalar()
        return 0 if head is None else int(head) + 1

    def audit_head(self) -> int:
        """The number of entries (the next index), buffered appends included."""
        return self._stored_head() if self._next is None else self._next

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

    # release ledger ------------------------------------------------------------
    def add_ledger_cells(
        self, release_id: str, recipient: str, source: str, cells: LedgerCells
    ) -> None:
        if not len(cells):
            return
        rows = list(
            zip(
                [release_id] * len(cells),
                [source] * len(cells),
                range(len(cells)),
                [recipient] * len(cells),
                cells.keys.tolist(),
                cells.first.tolist(),
                cells.last.tolist(),
                cells.persons.tolist(),
                strict=True,
            )
        )
        insert_many(self.conn, "release_ledger", LEDGER_COLUMNS, rows)

    def ledger_cells(self, recipient: str, source: str) -> LedgerCells:
        c = t.release_ledger.c
        rows = self.conn.execute(
            select(c.key, c.first_month, c.last_month, c.persons).where(
                c.recipient == recipient, c.source == source
            )
        ).all()
        columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
        return LedgerCells(*(np.array(col, np.int64) for col in columns))

    # meta ----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) is None:
            self.conn.execute(t.meta.insert().values(key=key, value=value))
        else:
            self.conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=value))


class Snapshot:
    """Reads of the audit log inside one snapshot transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def audit_entries(self) -> Iterator[AuditEntry]:
        position = 0
        while True:
            rows = self.conn.execute(
                select(t.audit_entries)
                .where(t.audit_entries.c.idx >= position)
                .order_by(t.audit_entries.c.idx)
                .limit(5000)
            ).all()
            if not rows:
                return
            yield from (_entry(row) for row in rows)
            position = rows[-1].idx + 1

    def checkpoint_notes(self) -> list[str]:
        c = t.audit_checkpoints.c
        return [r.note for r in self.conn.execute(select(c.note).order_by(c.size))]

    def subjects_by_entry(self) -> Iterator[tuple[int, list[bytes]]]:
        yield from subject_index.keys_by_entry(self.conn)


class SqlStore:
    """Records and the audit log in one database; every audited transaction signs a checkpoint."""

    def __init__(self, engine: Engine, checkpointer: Checkpointer | None = None) -> None:
        self.engine = engine
        self.checkpointer = checkpointer

    @classmethod
    def open(
        cls, url: str, checkpointer: Checkpointer | None = None, *, migrate_schema: bool = True
    ) -> SqlStore:
        """Connect; upgrade the schema, or (``migrate_schema=False``) insist it is current."""
        engine = make_engine(url)
        if migrate_schema:
            create_schema(engine)
        else:
            current, head = migrate.current_revision(engine), migrate.head_revision()
            if current != head:
                engine.dispose()
                raise ConfigurationError(
                    f"the database schema is at revision {current}, this gateway needs {head}: "
                    "run 'gateway db upgrade' (the migration job) first"
                )
        return cls(engine, checkpointer)

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        """One transaction. If it appended audit entries, the checkpoint lock is taken before
        signing (the audit lock of the database is already held) and released only after the
        note is in the checkpoint file, so notes reach the file in size order."""
        with ExitStack() as signing:
            note = None
            with self.engine.begin() as conn:
                uow = SqlUnitOfWork(conn)
                yield uow
                if uow.appended:
                    if self.checkpointer is None:
                        raise ConfigurationError(
                            "audit entries need a checkpoint signer; none configured"
                        )
                    signing.enter_context(self.checkpointer.locked())
                    note = self._checkpoint(uow)
            if note is not None and self.checkpointer is not None:
                self.checkpointer.record(note)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """One consistent read of the whole log (entries, checkpoints, subject index) that
        concurrent appends do not change: a deferred read transaction on SQLite (WAL gives it
        a snapshot without blocking writers), REPEATABLE READ on PostgreSQL."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**read_snapshot_options(conn))
            with conn.begin():
                yield Snapshot(conn)

    def _checkpoint(self, uow: SqlUnitOfWork) -> str:
        """Sign the new tree head inside the transaction that grew the tree."""
        assert self.checkpointer is not None
        uow.flush()
        size = uow.audit_head()
        subtree = node_reader(uow.conn)
        head = root(subtree, size)
        note = self.checkpointer.sign(size, head, subtree, utc_now())
        uow.conn.execute(t.audit_checkpoints.insert().values(size=size, root=head.hex(), note=note))
        return note

    def checkpoint_notes(self) -> list[str]:
        """Every signed checkpoint in the database, by size."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.audit_checkpoints.c.note).order_by(t.audit_checkpoints.c.size)
            )
            return [r.note for r in rows]

    def latest_checkpoint(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.audit_checkpoints.c.note)
                .order_by(t.audit_checkpoints.c.size.desc())
                .limit(1)
            ).scalar()

    def with_subtree(self, fn: Callable[[Callable[[int, int], bytes]], T]) -> T:
        """Run ``fn`` with a consistent read of the tree's nodes."""
        with self.engine.connect() as conn:
            return fn(node_reader(conn))

    def subject_entries(self, subject: bytes) -> list[AuditEntry]:
        s = t.audit_subjects.c
        a = t.audit_entries.c
        with self.engine.connect() as conn:
            indexed = select(s.entry_index).where(s.subject == subject)
            pending = subject_index.pending_entries_with(conn, subject)
            condition = or_(a.idx.in_(indexed), a.idx.in_(sorted(pending)))
            rows = conn.execute(select(t.audit_entries).where(condition).order_by(a.idx))
            return [_entry(r) for r in rows]

    def subjects_by_entry(self) -> Iterator[tuple[int, list[bytes]]]:
        """Every entry's subject keys, grouped (for verification)."""
        with self.engine.connect() as conn:
            yield from subject_index.keys_by_entry(conn)

    def index_subjects(self, *, all_pending: bool = False) -> int:
        """Move pending subject keys into the lookup index: one chunk, or (``all_pending``)
        everything; the number of keys moved."""
        if all_pending:
            return subject_index.index_all(self.engine)
        return subject_index.index_next_chunk(self.engine)

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

    def blob_referenced(self, key: str) -> bool:
        """Whether any record refers to blob ``key``: a delivery (stored form or identity
        vault), a release (content or checker report), or the audit entry of a refused
        aggregate (its checker report is kept as evidence). The sweep deletes nothing else."""
        d, r, a = t.deliveries.c, t.releases.c, t.audit_entries.c
        with self.engine.connect() as conn:
            for query in (
                select(d.id).where(or_(d.blob_key == key, d.vault_blob_key == key)),
                select(r.id).where(or_(r.blob_key == key, r.report_blob_key == key)),
            ):
                if conn.execute(query.limit(1)).first() is not None:
                    return True
            needle = json.dumps(key).encode()
            refused = select(a.body).where(a.event_type == "release.refused")
            return any(needle in bytes(row.body) for row in conn.execute(refused))

    def ping(self) -> None:
        """Raises if the database does not answer (readiness)."""
        with self.engine.connect() as conn:
            conn.execute(select(1)).scalar()

    def audit_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.audit_entries)).scalar_one())

    def dispose(self) -> None:
        self.engine.dispose()
