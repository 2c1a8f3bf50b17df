"""Setting an installation up and looking after it from its own terminal: the key folder, the
log's public key, the database schema, and the demo's own database.

These are what ``gateway keys init|show-public``, ``gateway db upgrade`` and ``gateway demo``
do; they need access to the key folder or the database, which is their authentication.
"""

from __future__ import annotations

from pathlib import Path

from gateway.config import Settings
from gateway.crypto.keys import KeyRing, init_key_folder, master_key_source
from gateway.services.platform.bootstrap import audit_checkpointer, open_runtime
from gateway.storage import demo_database as demo_db
from gateway.storage import migrate
from gateway.storage.sql_store import SqlStore


def init_keys(settings: Settings) -> list[Path]:
    """Create what is missing of the key folder; the files created (none if complete)."""
    return init_key_folder(settings.resolved_keys_dir)


def log_vkey(settings: Settings) -> str:
    """The audit log's checkpoint verifier key (C2SP vkey). Reads only: creates no key, no
    database and no log entry (a missing key is an error that says what to do)."""
    master = master_key_source(settings.resolved_keys_dir, settings.master_key).load()
    return audit_checkpointer(settings, KeyRing(master)).signer.vkey


def upgrade_database(settings: Settings) -> tuple[str | None, int]:
    """The migration job: upgrade the schema, then check that the installation starts (keys,
    policies, the checkpoint file); the schema's revision and the log's size."""
    store = SqlStore.open(settings.resolved_database_url, migrate_schema=True)
    revision = migrate.current_revision(store.engine)
    store.dispose()
    runtime = open_runtime(settings.model_copy(update={"auto_migrate": False}))
    try:
        return revision, runtime.store.audit_size()
    finally:
        runtime.close()


def demo_database(url: str | None) -> tuple[str | None, str | None]:
    """The database the demo runs on (None: the embedded one) and a line saying which
    (:func:`gateway.storage.demo_database.demo_database`)."""
    return demo_db.demo_database(url)


def mark_demo_database(url: str | None) -> None:
    """Record in the demo's database that the demo made it (a later run may start it afresh)."""
    demo_db.mark_demo_database(url)


def served_demo_database(url: str | None) -> str | None:
    """The database the last demo ran on, unchanged, for serving its data again
    (:func:`gateway.storage.demo_database.served_database`)."""
    return demo_db.served_database(url)
