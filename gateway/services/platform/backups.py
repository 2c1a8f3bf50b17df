"""Backup and restore of the embedded default (SQLite and folders).

Order matters. The checkpoint file is copied first, the database second, the blobs last: then
every checkpoint in the copy is older than the copied log (a newer one would make the restored
log look cut off), and every blob the copied database refers to is in the copy (a blob written
meanwhile is an unreferenced extra, never a missing one). Keys are NOT in the backup: they are
backed up separately, so a stolen backup alone reveals nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gateway.config import Settings
from gateway.errors import InvalidRequest
from gateway.storage.sqlite_files import copy_online, sqlite_file

MANIFEST = "backup.json"


def backup(settings: Settings, out: Path) -> None:
    """Copy the checkpoint file, the database and the blobs into the empty folder ``out``."""
    database = sqlite_file(settings.resolved_database_url)
    if out.exists() and any(out.iterdir()):
        raise InvalidRequest(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = settings.resolved_checkpoint_file
    if checkpoints.exists():
        shutil.copy2(checkpoints, out / "checkpoints.jsonl")
    copy_online(database, out / "gateway.db")
    blobs = settings.resolved_blobs_dir
    if blobs.exists():
        shutil.copytree(blobs, out / "blobs", ignore=shutil.ignore_patterns(".*.partial"))
    (out / MANIFEST).write_text(json.dumps({"format": 1, "keys_included": False}) + "\n")


def restore(settings: Settings, source: Path) -> None:
    """Put a backup into an empty data folder (the keys go back separately)."""
    if not (source / MANIFEST).exists():
        raise InvalidRequest(f"{source} is not a gateway backup (no {MANIFEST})")
    database = sqlite_file(settings.resolved_database_url)
    if database.exists() or settings.resolved_blobs_dir.exists():
        raise InvalidRequest("restore only into an empty data folder; move the current one away")
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "gateway.db", database)
    if (source / "blobs").exists():
        shutil.copytree(source / "blobs", settings.resolved_blobs_dir)
    if (source / "checkpoints.jsonl").exists():
        settings.resolved_checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "checkpoints.jsonl", settings.resolved_checkpoint_file)
