"""The hash-chained audit table on a real SQLite file: append-only and tamper-evident."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from gateway.audit.chain import verify
from gateway.audit.events import AuditEvent, EventType
from gateway.storage.sql_store import SqlStore


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'audit.db'}")
    for i in range(10):
        with store.unit_of_work() as uow:
            uow.append_audit(
                AuditEvent(
                    EventType.DELIVERY_ACCEPTED,
                    f"source-{i}[source]",
                    {"dataset": "lpr", "delivery": f"d{i}"},
                    {"rows": i},
                )
            )
    return store


def _raw(store: SqlStore, *statements: str, **params: object) -> None:
    """Write behind the application's back, as an attacker with the file would."""
    with store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
        for sql in statements:
            conn.execute(text(sql), params)


def test_clean_chain_verifies(store: SqlStore) -> None:
    result = verify(store.audit_entries())
    assert result.ok and result.entries == 10
    assert [e.index for e in store.audit_entries()] == list(range(10))


def test_database_refuses_update_and_delete(store: SqlStore) -> None:
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'x' WHERE idx = 3"))
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE idx = 3"))
    assert verify(store.audit_entries()).ok


TAMPERING = {
    "edit body": (
        "UPDATE audit_entries SET body = CAST(replace(CAST(body AS TEXT), "
        "'\"rows\"\\:4', '\"rows\"\\:5') AS BLOB) WHERE idx = 4",
        4,
    ),
    "edit indexed column": ("UPDATE audit_entries SET dataset = 'ssr' WHERE idx = 6", 6),
    "delete middle": ("DELETE FROM audit_entries WHERE idx = 5", 6),
    "reorder": (
        (
            "UPDATE audit_entries SET idx = -1 WHERE idx = 2",
            "UPDATE audit_entries SET idx = 2 WHERE idx = 3",
            "UPDATE audit_entries SET idx = 3 WHERE idx = -1",
        ),
        2,
    ),
    "rewrite hash": (
        "UPDATE audit_entries SET entry_hash = "
        "'0000000000000000000000000000000000000000000000000000000000000000' "
        "WHERE idx = 7",
        7,
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_detected_at_the_first_bad_index(store: SqlStore, case: str) -> None:
    sql, first_bad = TAMPERING[case]
    _raw(store, *((sql,) if isinstance(sql, str) else sql))
    result = verify(store.audit_entries())
    assert not result.ok
    assert result.first_bad_index == first_bad, result.problem


def test_inserted_entry_is_detected(store: SqlStore) -> None:
    _raw(
        store,
        "UPDATE audit_entries SET idx = idx + 100 WHERE idx >= 8",
        "UPDATE audit_entries SET idx = idx - 99 WHERE idx >= 100",
    )
    entries = list(store.audit_entries())
    fake = entries[2]
    _raw(
        store,
        "INSERT INTO audit_entries (idx, recorded_at, event_type, actor, dataset, "
        "recipient, body, entry_hash) VALUES (8, :t, :e, :a, :d, NULL, :b, :h)",
        t=fake.recorded_at,
        e=fake.type,
        a=fake.actor,
        d=fake.dataset,
        b=fake.body,
        h=fake.entry_hash,
    )
    result = verify(store.audit_entries())
    assert (result.ok, result.first_bad_index) == (False, 8)
