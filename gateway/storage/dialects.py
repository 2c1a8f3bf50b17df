"""Everything backend-specific, in one named place: connection set-up and append-only triggers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, text

SQLITE_AUDIT_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: DELETE refused'); END""",
)


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction.

    pysqlite's default deferred transactions let two writers both read the audit head and then
    collide; an immediate transaction takes the write lock first, so audit indexes are assigned
    one writer at a time (the SQLAlchemy-documented recipe for taking over BEGIN).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def install_append_only_triggers(engine: Engine) -> None:
    """Refuse UPDATE and DELETE on the audit table (defence in depth; the chain is the proof)."""
    if engine.dialect.name != "sqlite":
        raise NotImplementedError(f"append-only triggers for {engine.dialect.name} are not built")
    with engine.begin() as conn:
        for ddl in SQLITE_AUDIT_TRIGGERS:
            conn.execute(text(ddl))
