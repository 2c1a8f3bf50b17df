"""Everything backend-specific, in one named place: connection set-up and append-only triggers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event, text

from gateway.domain.subjects import packed_sorted


def sqlite_append_only_triggers(table: str) -> tuple[str, str]:
    """SQLite has no TRUNCATE; a DELETE without WHERE fires the row trigger too."""
    return tuple(  # type: ignore[return-value]
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
        for verb in ("UPDATE", "DELETE")
    )


def configure_sqlite(engine: Engine) -> None:
    """WAL with full sync, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for every
    transaction but read snapshots.

    pysqlite's default deferred transactions let two writers both read the audit head and then
    collide; an immediate transaction takes the write lock first, so audit indexes are assigned
    one writer at a time (the SQLAlchemy-documented recipe for taking over BEGIN).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it returns (NORMAL in WAL mode may lose the last
        # commits in a power cut, while the checkpoint file, fsynced, would keep their notes).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_SNAPSHOT):
            connection.exec_driver_sql("BEGIN")  # deferred: a WAL read snapshot, no write lock
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


READ_SNAPSHOT = "gateway_read_snapshot"


def read_snapshot_options(conn: Connection) -> dict[str, Any]:
    """Execution options for one consistent read across statements."""
    if conn.dialect.name == "postgresql":
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {READ_SNAPSHOT: True}


POSTGRES_REFUSE = """
CREATE OR REPLACE FUNCTION gateway_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$"""


def postgres_append_only_triggers(table: str) -> list[str]:
    """Row triggers for UPDATE/DELETE and a statement trigger for TRUNCATE (which skips row
    triggers), enabled ALWAYS so ``session_replication_role = replica`` cannot skip them."""
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION gateway_append_only()",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION gateway_append_only()",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_change",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate",
    ]


def install_append_only_triggers(conn: Connection, tables: tuple[str, ...]) -> None:
    """Refuse UPDATE, DELETE (and TRUNCATE) on the audit tables: defence in depth; the signed
    checkpoints are the proof. Runs inside the caller's transaction (a migration)."""
    if conn.dialect.name == "sqlite":
        statements = [ddl for table in tables for ddl in sqlite_append_only_triggers(table)]
    elif conn.dialect.name == "postgresql":
        statements = [POSTGRES_REFUSE]
        statements += [ddl for table in tables for ddl in postgres_append_only_triggers(table)]
    else:
        raise NotImplementedError(f"no append-only triggers for {conn.dialect.name}")
    for ddl in statements:
        conn.execute(text(ddl))


AUDIT_LOCK_KEY = 0x6761_7465  # "gate": one advisory lock serialises audit appends


def lock_audit_head(conn: Connection) -> None:
    """Serialise audit appends so indexes are unique and gap-free across workers.

    SQLite: already serialised (every transaction is BEGIN IMMEDIATE). PostgreSQL: a
    transaction-level advisory lock, released at commit or rollback.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def grant_application_role(
    engine: Engine, role: str, audit_tables: tuple[str, ...], other_tables: tuple[str, ...]
) -> None:
    """PostgreSQL: the role the gateway runs as may only INSERT and SELECT the audit tables
    (it does not own them, so it cannot drop their triggers either)."""
    if engine.dialect.name != "postgresql":
        raise NotImplementedError("application roles exist on PostgreSQL only")
    quoted = engine.dialect.identifier_preparer.quote(role)
    with engine.begin() as conn:
        for table in audit_tables:
            conn.execute(text(f"REVOKE ALL ON {table} FROM {quoted}"))
            conn.execute(text(f"GRANT SELECT, INSERT ON {table} TO {quoted}"))
        for table in other_tables:
            conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {quoted}"))


def insert_many(
    conn: Connection, table: str, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]
) -> None:
    """Bulk insert through the driver's executemany, skipping per-row statement compilation
    (a delivery's subject index can be hundreds of thousands of rows)."""
    style = conn.dialect.paramstyle
    mark = "?" if style == "qmark" else "%s"
    # Table and column names are the gateway's own constants, never user input.
    names, marks = ", ".join(columns), ", ".join([mark] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
    conn.exec_driver_sql(sql, rows)


SUBJECT_BYTES = 16


def insert_subjects(conn: Connection, entry_index: int, subjects: Sequence[bytes]) -> None:
    """One entry's subject index in a single statement: the keys travel as one packed value
    and the database splits them (no per-row parameter binding for hundreds of thousands of
    rows). Keys go in sorted, so the index B-tree fills left to right."""
    if not subjects:
        return
    packed = packed_sorted(subjects)
    count = len(subjects)
    if len(packed) != SUBJECT_BYTES * count:
        raise ValueError("subject keys are 16 bytes")
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?) "
            "INSERT INTO audit_subjects (entry_index, subject) "
            "SELECT ?, substr(?, n * 16 + 1, 16) FROM i",
            (count, entry_index, packed),
        )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "INSERT INTO audit_subjects (entry_index, subject) "
            "SELECT %s, substring(%s::bytea from n * 16 + 1 for 16) "
            "FROM generate_series(0, %s - 1) AS n",
            (entry_index, packed, count),
        )
    else:
        insert_many(
            conn,
            "audit_subjects",
            ("entry_index", "subject"),
            [(entry_index, s) for s in subjects],
        )
