"""Everything backend-specific, in one named place: connection set-up and append-only triggers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, text


def sqlite_append_only_triggers(table: str) -> tuple[str, str]:
    """SQLite has no TRUNCATE; a DELETE without WHERE fires the row trigger too."""
    return tuple(  # type: ignore[return-value]
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
        for verb in ("UPDATE", "DELETE")
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


def install_append_only_triggers(engine: Engine, tables: tuple[str, ...]) -> None:
    """Refuse UPDATE and DELETE on the audit tables (defence in depth; the signed checkpoints
    are the proof)."""
    if engine.dialect.name != "sqlite":
        raise NotImplementedError(f"append-only triggers for {engine.dialect.name} are not built")
    with engine.begin() as conn:
        for table in tables:
            for ddl in sqlite_append_only_triggers(table):
                conn.execute(text(ddl))
