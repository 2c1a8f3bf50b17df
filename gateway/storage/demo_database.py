"""The demo's database: the embedded SQLite file, or a database of its own on a PostgreSQL
server named by GATEWAY_DATABASE_URL, never one holding gateway data the demo did not make."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from gateway.errors import ConfigurationError
from gateway.storage.sql_store import SqlStore
from gateway.storage.tables import meta, metadata


def demo_database(url: str | None) -> tuple[str | None, str | None]:
    """The database the demo runs on: the embedded SQLite file (None) unless
    GATEWAY_DATABASE_URL names one. On PostgreSQL the demo uses a database of its own,
    ``<database>_demo``, dropped and created afresh on each run (its keys are new each run, so
    its data must be too; no other database is touched). A role that may not create databases
    gets the URL's own database, if that holds no gateway tables yet. Also says, in a line
    for the demo's reader, which database that is (None for the embedded one)."""
    if not url:
        return None, None
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url, None
    name = f"{parsed.database or 'gateway'}_demo"
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa_exc.DBAPIError:
        return _own_database_if_empty(engine, url, name)
    finally:
        engine.dispose()
    return (
        parsed.set(database=name).render_as_string(hide_password=False),
        f"PostgreSQL: the demo runs on its own database '{name}' (created afresh)",
    )


DEMO_MARK = "demo-database"


def mark_demo_database(url: str | None) -> None:
    """Record in the demo's database that the demo made it (so a later run may start it
    afresh); the schema is created first."""
    if url is None:
        return
    store = SqlStore.open(url)
    try:
        with store.unit_of_work() as uow:
            uow.set_meta(DEMO_MARK, "created by 'gateway demo'; dropped by the next demo run")
    finally:
        store.dispose()


def _is_demo_database(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            found = conn.execute(select(meta.c.value).where(meta.c.key == DEMO_MARK)).first()
    except sa_exc.DBAPIError:
        return False
    return found is not None


def _own_database_if_empty(engine: Engine, url: str, name: str) -> tuple[str, str]:
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    except sa_exc.DBAPIError as exc:
        raise ConfigurationError(
            "the demo cannot reach the PostgreSQL server of GATEWAY_DATABASE_URL "
            f"({type(exc.orig).__name__ if exc.orig else type(exc).__name__})"
        ) from None
    if tables & {"audit_entries", "deliveries", "alembic_version"}:
        if _is_demo_database(engine):  # left by an earlier demo run: start it afresh
            with engine.connect() as conn:
                for table in [*reversed(metadata.sorted_tables), "alembic_version"]:
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            return url, "PostgreSQL: the demo reuses the database of GATEWAY_DATABASE_URL (its own)"
        raise ConfigurationError(
            f"the demo could not create its own database '{name}' (the role needs CREATEDB), "
            "and the database of GATEWAY_DATABASE_URL already holds gateway data: the demo "
            "never writes into a gateway database it did not create. Grant CREATEDB, or point "
            "GATEWAY_DATABASE_URL at an empty database."
        )
    return url, "PostgreSQL: the demo runs on the (empty) database of GATEWAY_DATABASE_URL"


def served_database(url: str | None) -> str | None:
    """The database an earlier demo run used, found again without touching it (for
    ``gateway demo --serve``): None for the embedded file; on PostgreSQL ``<database>_demo``,
    or the URL's own database where the demo had to use it, whichever carries the demo's mark."""
    if not url or make_url(url).get_backend_name() != "postgresql":
        return url or None
    parsed = make_url(url)
    own = parsed.set(database=f"{parsed.database or 'gateway'}_demo")
    for candidate in (own, parsed):
        engine = create_engine(candidate)
        try:
            if _is_demo_database(engine):
                return candidate.render_as_string(hide_password=False)
        finally:
            engine.dispose()
    raise ConfigurationError(
        "no database of an earlier demo on the PostgreSQL server of GATEWAY_DATABASE_URL: "
        "run 'make demo' first"
    )
