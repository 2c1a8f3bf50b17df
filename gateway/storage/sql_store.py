"""The SQLAlchemy implementation of :class:`gateway.ports.Store`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    func,
    or_,
    select,
)
from sqlalchemy.engine import make_url

from gateway.audit.checkpointer import Checkpointer
from gateway.audit.events import AuditEntry
from gateway.audit.merkle import root
from gateway.audit.tiles import Tile, TileHashes
from gateway.domain.audit_query import AuditQuery
from gateway.errors import ConfigurationError
from gateway.storage import log_checks, migrate, subject_index, tlog
from gateway.storage import tables as t
from gateway.storage.dialects import (
    configure_sqlite,
    read_snapshot_options,
)
from gateway.storage.unit_of_work import SqlUnitOfWork, entry_of, node_reader, utc_now

T = TypeVar("T")


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


ENTRY_BATCH = 5000


def _entry_batch(conn: Connection, position: int) -> list[Any]:
    """The next batch of audit entries from index ``position``, in index order."""
    e = t.audit_entries.c
    query = select(t.audit_entries).where(e.idx >= position).order_by(e.idx)
    return list(conn.execute(query.limit(ENTRY_BATCH)).all())


class Snapshot:
    """Reads of the audit log inside one snapshot transaction."""

    def __init__(self, conn: Connection, engine: Engine | None = None) -> None:
        self.conn = conn
        self.engine = engine
        self._nodes_conn: Connection | None = None

    def entry_rows(self, batch: int = 20_000) -> Iterator[list[Any]]:
        """Rows of ``audit_entries`` in index order as plain driver tuples, a batch at a
        time: what the verification kernel reads (:mod:`gateway.audit.fast_verify`), with no
        row objects per entry."""
        rows_sql = log_checks.entry_rows_sql(self.conn.dialect.paramstyle, batch)
        driver = self.conn.connection.driver_connection
        sqlite = self.conn.dialect.name == "sqlite"
        position = 0
        while True:
            if sqlite:  # text as bytes: the kernel compares bytes, a decode per value spared
                driver.text_factory = bytes  # type: ignore[union-attr]
            try:
                rows = driver.execute(rows_sql, (position,)).fetchall()  # type: ignore[union-attr]
            finally:
                if sqlite:
                    driver.text_factory = str  # type: ignore[union-attr]
            if not rows:
                return
            yield list(rows)
            position = rows[-1][0] + 1

    def level0_nodes(self, first: int, last: int) -> bytes:
        """The level-0 tree nodes of indexes ``first..last`` concatenated, read on a
        connection of its own (nodes are append-only, so any snapshot that holds them agrees),
        so that it runs beside :meth:`entry_rows` rather than after it."""
        if self._nodes_conn is None:
            assert self.engine is not None
            self._nodes_conn = self.engine.connect()
        sql = log_checks.level0_nodes_sql(self.conn.dialect.name, self.conn.dialect.paramstyle)
        value = self._nodes_conn.exec_driver_sql(sql, (first, last)).scalar()
        self._nodes_conn.rollback()
        return bytes(value or b"")

    def close(self) -> None:
        if self._nodes_conn is not None:
            self._nodes_conn.close()
            self._nodes_conn = None

    def tiles(self, size: int) -> TileHashes:
        return TileHashes(lambda tile: tlog.read_tile(self.conn, tile), size)

    def audit_entries(self) -> Iterator[AuditEntry]:
        position = 0
        while rows := _entry_batch(self.conn, position):
            yield from (entry_of(row) for row in rows)
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
        self.on_checkpoint: Callable[[], None] | None = None  # after a checkpoint is recorded
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
                if self.on_checkpoint is not None:
                    self.on_checkpoint()  # e.g. wake the witnessing thread

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """One consistent read of the whole log (entries, checkpoints, subject index) that
        concurrent appends do not change: a deferred read transaction on SQLite (WAL gives it
        a snapshot without blocking writers), REPEATABLE READ on PostgreSQL."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**read_snapshot_options(conn))
            with conn.begin():
                snapshot = Snapshot(conn, self.engine)
                try:
                    yield snapshot
                finally:
                    snapshot.close()

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

    def read_tile(self, tile: Tile) -> bytes:
        with self.engine.connect() as conn:
            return tlog.read_tile(conn, tile)

    def checkpoint_at(self, size: int) -> str | None:
        with self.engine.connect() as conn:
            return tlog.checkpoint_at(conn, size)

    def cosignatures(self, size: int) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return tlog.cosignatures(conn, size)

    def latest_cosigned(self, witness: str) -> int:
        with self.engine.connect() as conn:
            return tlog.latest_cosigned(conn, witness)

    def cosigned_sizes(self, at_least: int = 0, limit: int = 20) -> list[int]:
        with self.engine.connect() as conn:
            return tlog.cosigned_sizes(conn, at_least, limit)

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        with self.engine.begin() as conn:
            tlog.add_cosignature(conn, size, witness, line, utc_now())

    def subject_entries(self, subject: bytes) -> list[AuditEntry]:
        s = t.audit_subjects.c
        a = t.audit_entries.c
        with self.engine.connect() as conn:
            indexed = select(s.entry_index).where(s.subject == subject)
            pending = subject_index.pending_entries_with(conn, subject)
            condition = or_(a.idx.in_(indexed), a.idx.in_(sorted(pending)))
            rows = conn.execute(select(t.audit_entries).where(condition).order_by(a.idx))
            return [entry_of(r) for r in rows]

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
        """Streamed in batches, each on a short connection of its own (a long export never
        holds a transaction open; :meth:`snapshot` is for one consistent read)."""
        position = start
        while True:
            with self.engine.connect() as conn:
                rows = _entry_batch(conn, position)
            if not rows:
                return
            yield from (entry_of(row) for row in rows)
            position = rows[-1].idx + 1

    def search_audit(self, query: AuditQuery) -> list[AuditEntry]:
        a = t.audit_entries.c
        stmt = _audit_filters(select(t.audit_entries), query).order_by(a.idx)
        stmt = stmt.limit(query.limit).offset(query.offset)
        with self.engine.connect() as conn:
            return [entry_of(r) for r in conn.execute(stmt)]

    def count_audit(self, query: AuditQuery) -> int:
        stmt = _audit_filters(select(func.count()).select_from(t.audit_entries), query)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

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


def _audit_filters(stmt: Any, query: AuditQuery) -> Any:
    """The query's filters (validated by the audit service) as WHERE clauses."""
    a = t.audit_entries.c
    if query.actor is not None:
        stmt = stmt.where(actor_matches(a.actor, query.actor))
    if query.event_types:
        stmt = stmt.where(a.event_type.in_(query.event_types))
    filters = {
        a.event_type: query.event_type,
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
    return stmt


def actor_matches(column: Any, actor: str) -> Any:
    """The audit search's actor filter (validated by ``ACTOR_FILTER``): a whole label matches
    itself; an identity, every label of it (any roles); ``person:x`` or ``client:x``, that
    person or client under any organisation; a bare id, the organisation's principals (and
    labels written before principals named persons: ``org[roles]``)."""

    def like(pattern: str) -> Any:
        return column.like(pattern, escape="\\")

    text = actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if actor.endswith("]"):
        return column == actor
    if "/" in actor:
        return like(f"{text}[%")
    if ":" in actor and actor.split(":", 1)[0] in {"person", "client", "local"}:
        return like(f"%/{text}[%")
    return or_(like(f"{text}/%"), like(f"{text}[%"))
