"""The embedded default's database as a file: where it is, and a consistent copy of it while
the gateway runs (SQLite's online backup). PostgreSQL has its own tools (pg_dump, pg_restore)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.errors import ConfigurationError


def sqlite_file(database_url: str) -> Path:
    """The file of an SQLite URL; a configuration error for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise ConfigurationError(
            "backup/restore here covers the embedded SQLite default; for PostgreSQL use "
            "pg_dump -Fc / pg_restore as docs/operations.md describes, then copy the blob "
            "folder and the checkpoint file in the same order"
        )
    return Path(url.database)


def copy_online(source: Path, target: Path) -> None:
    """A consistent copy of a live database file (readers and writers may go on meanwhile)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
