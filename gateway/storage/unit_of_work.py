"""One transaction of the SQL store: audit appends (buffered, written in bulk before the
checkpoint is signed), records, the release ledger and meta values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    select,
    update,
)

from gateway.audit.encoding import entry_body
from gateway.audit.events import AuditEntry, AuditEvent
from gateway.audit.merkle import leaf_hash, node_hash, split_point
from gateway.domain.builds import BuildRecord
from gateway.domain.disclosure.ledger import LedgerCells, LedgerTable
from gateway.domain.records import (
    SessionRecord,
)
from gateway.errors import IntegrityError
from gateway.storage import build_rows, ledger_store, session_store, subject_index
from gateway.storage import tables as t
from gateway.storage.dialects import (
    lock_audit_head,
)
from gateway.storage.record_rows import RecordRows
from gateway.storage.retention_rows import RetentionRows


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry_of(row: Any) -> AuditEntry:
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


class SqlUnitOfWork(RecordRows, RetentionRows):
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

    def add_session(self, record: SessionRecord) -> None:
        session_store.add(self.conn, record)

    def get_session(self, id_hash: str) -> SessionRecord | None:
        return session_store.get(self.conn, id_hash)

    def touch_session(self, id_hash: str, *, sealed: str, seen: float, expires: float) -> None:
        session_store.touch(self.conn, id_hash, sealed=sealed, seen=seen, expires=expires)

    def end_sessions(
        self,
        *,
        at: float,
        reason: str,
        id_hash: str | None = None,
        principal: str | None = None,
        organisation: str | None = None,
    ) -> list[str]:
        return session_store.end(
            self.conn,
            at=at,
            reason=reason,
            id_hash=id_hash,
            principal=principal,
            organisation=organisation,
        )

    def live_sessions(self, now: float) -> list[SessionRecord]:
        return session_store.live(self.conn, now)

    def forget_sessions(self, before: float) -> int:
        return session_store.forget(self.conn, before)

    # disclosure ledger ---------------------------------------------------------
    def put_build(self, record: BuildRecord) -> None:
        build_rows.put(self.conn, record)

    def builds_of(self, extract_id: str) -> list[BuildRecord]:
        return build_rows.of_extract(self.conn, extract_id)

    def recent_builds(self, since: str) -> list[BuildRecord]:
        return build_rows.recent(self.conn, since)

    def interrupt_builds(self, live: Collection[str], at: str) -> int:
        return build_rows.interrupt(self.conn, live, at)

    def add_ledger_table(self, recipient: str, table: LedgerTable) -> None:
        ledger_store.add_table(self.conn, recipient, table)

    def ledger_cells(self, source: str, scopes: Sequence[str] | None) -> LedgerCells:
        return ledger_store.cells(self.conn, source, scopes)

    def ledger_tables(
        self, source: str, basis: str, scopes: Sequence[str] | None
    ) -> list[LedgerTable]:
        return ledger_store.tables(self.conn, source, basis, scopes)

    # meta ----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) is None:
            self.conn.execute(t.meta.insert().values(key=key, value=value))
        else:
            self.conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=value))
