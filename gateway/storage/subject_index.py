"""The audit trail's subject index: which entries concern a given (keyed) person.

A small entry's keys go straight into ``audit_subjects`` (one B-tree row each). A large one
(a national delivery: hundreds of thousands of persons) would hold its transaction, and the
SQLite write lock, for most of a second doing that, so its keys are written in the entry's own
transaction as one sorted, packed value (``audit_subject_sets``) and moved into
``audit_subjects`` afterwards, chunk by chunk, by :func:`index_next_chunk` (the server's
subject indexer runs it in the background). A chunk and its progress row
(``audit_subject_merges``) commit together, so a crash loses no progress and repeats none.

Nothing is ever missing from a lookup: until every chunk of a set is indexed, lookups binary
search the packed value itself. Verification reads the set while it is pending and the B-tree
rows once it is indexed, so what a lookup relies on is always what is checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, select
from sqlalchemy import exc as sa_exc

from gateway.domain.subjects import SubjectKeys, packed_sorted
from gateway.storage import tables as t
from gateway.storage.dialects import SUBJECT_BYTES, insert_subjects

DIRECT_LIMIT = 20_000  # keys written straight into the B-tree, in the entry's transaction
CHUNK = 65_536  # keys per background indexing transaction (about a tenth of a second)


def store_subjects(conn: Connection, entry_index: int, subjects: Sequence[bytes]) -> None:
    """Record an entry's subject keys inside the entry's transaction."""
    if len(subjects) <= DIRECT_LIMIT:
        insert_subjects(conn, entry_index, subjects)
        return
    packed = packed_sorted(subjects)
    if len(packed) != SUBJECT_BYTES * len(subjects):
        raise ValueError("subject keys are 16 bytes")
    conn.execute(
        t.audit_subject_sets.insert().values(
            entry_index=entry_index, count=len(subjects), keys=packed
        )
    )


def _chunks(count: int) -> int:
    return (count + CHUNK - 1) // CHUNK


@dataclass(frozen=True)
class PendingSet:
    entry_index: int
    count: int
    indexed: frozenset[int]  # chunks already in audit_subjects

    @property
    def next_chunk(self) -> int:
        return min(set(range(_chunks(self.count))) - self.indexed)


def pending_sets(conn: Connection) -> list[PendingSet]:
    """Subject sets with at least one chunk not yet in the B-tree, oldest first."""
    s, m = t.audit_subject_sets.c, t.audit_subject_merges.c
    indexed: dict[int, set[int]] = {}
    for row in conn.execute(select(m.entry_index, m.chunk)):
        indexed.setdefault(int(row.entry_index), set()).add(int(row.chunk))
    pending = []
    for entry_index, count in conn.execute(
        select(s.entry_index, s["count"]).order_by(s.entry_index)
    ):
        done = indexed.get(int(entry_index), set())
        if len(done) < _chunks(int(count)):
            pending.append(PendingSet(int(entry_index), int(count), frozenset(done)))
    return pending


def _packed(conn: Connection, entry_index: int) -> bytes:
    s = t.audit_subject_sets.c
    return bytes(conn.execute(select(s["keys"]).where(s.entry_index == entry_index)).scalar_one())


def _contains(packed: bytes, subject: bytes) -> bool:
    """Binary search in sorted, packed 16-byte keys (compared as raw bytes, never as
    NUL-stripped numpy strings)."""
    keys = np.frombuffer(packed, dtype=f"S{SUBJECT_BYTES}")
    at = int(np.searchsorted(keys, np.frombuffer(subject, dtype=f"S{SUBJECT_BYTES}")[0]))
    start = at * SUBJECT_BYTES
    return at < len(keys) and packed[start : start + SUBJECT_BYTES] == subject


def pending_entries_with(conn: Connection, subject: bytes) -> set[int]:
    """Entries whose not-yet-indexed subject set contains ``subject``."""
    if len(subject) != SUBJECT_BYTES:
        return set()
    return {
        p.entry_index
        for p in pending_sets(conn)
        if _contains(_packed(conn, p.entry_index), subject)
    }


def index_next_chunk(engine: Engine) -> int:
    """Move one chunk of the oldest pending set into the B-tree, in one transaction; the
    number of keys moved (0: nothing pending). Safe with several workers: the progress row is
    written first, so a worker that loses the race rolls back before inserting any key."""
    with engine.connect() as conn:
        pending = pending_sets(conn)
    for candidate in pending:
        chunk = candidate.next_chunk
        try:
            with engine.begin() as conn:
                conn.execute(
                    t.audit_subject_merges.insert().values(
                        entry_index=candidate.entry_index, chunk=chunk
                    )
                )
                packed = _packed(conn, candidate.entry_index)
                part = packed[chunk * CHUNK * SUBJECT_BYTES : (chunk + 1) * CHUNK * SUBJECT_BYTES]
                keys = SubjectKeys(part)  # already sorted: no Python object per key
                insert_subjects(conn, candidate.entry_index, keys)
            return len(keys)
        except sa_exc.IntegrityError:
            continue  # another worker indexed this chunk first
    return 0


def index_all(engine: Engine) -> int:
    """Index every pending chunk now (start-up, the CLI, tests); the number of keys moved."""
    total = 0
    while moved := index_next_chunk(engine):
        total += moved
    return total


def keys_by_entry(conn: Connection) -> Iterator[tuple[int, list[bytes]]]:
    """Every entry's subject keys as lookups see them: B-tree rows for indexed entries (and for
    small ones), the packed set for entries still pending."""
    pending = {p.entry_index for p in pending_sets(conn)}
    s = t.audit_subjects.c
    rows = conn.execute(select(s.entry_index, s.subject).order_by(s.entry_index))
    current, keys = -1, list[bytes]()
    for row in rows:
        if row.entry_index in pending:
            continue
        if row.entry_index != current and keys:
            yield current, keys
            keys = []
        current = row.entry_index
        keys.append(bytes(row.subject))
    if keys:
        yield current, keys
    for entry_index in sorted(pending):
        packed = _packed(conn, entry_index)
        yield (
            entry_index,
            [packed[i : i + SUBJECT_BYTES] for i in range(0, len(packed), SUBJECT_BYTES)],
        )
