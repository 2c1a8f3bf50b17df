"""Operations verbs: backup and restore of the embedded default (SQLite + folders).

Order matters. The checkpoint file is copied first, the database second, the blobs last: then
every checkpoint in the copy is older than the copied log (a newer one would make the restored
log look cut off), and every blob the copied database refers to is in the copy (a blob written
meanwhile is an unreferenced extra, never a missing one). Keys are NOT in the backup: they are
backed up separately, so a stolen backup alone reveals nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from gateway.cli.framework import CONTEXT, PATH
from gateway.config import Settings
from gateway.errors import ConfigurationError, InvalidRequest

MANIFEST = "backup.json"


@click.command("backup", context_settings=CONTEXT)
@click.option("--out", type=PATH, required=True, help="an empty folder for the copy")
def backup_command(**params: Any) -> int:
    """Copy database, blobs and checkpoints (not the keys: back those up apart)."""
    return backup(argparse.Namespace(**params))


@click.command("restore", context_settings=CONTEXT)
@click.option("--from", "source", type=PATH, required=True, help="a folder written by backup")
def restore_command(**params: Any) -> int:
    """Restore a backup into an empty data folder."""
    return restore(argparse.Namespace(**params))


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise ConfigurationError(
            "backup/restore here covers the embedded SQLite default; for PostgreSQL use "
            "pg_dump -Fc / pg_restore as docs/operations.md describes, then copy the blob "
            "folder and the checkpoint file in the same order"
        )
    return Path(url.database)


def backup(args: argparse.Namespace) -> int:
    settings = Settings()
    database = _sqlite_path(settings)
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        raise InvalidRequest(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = settings.resolved_checkpoint_file
    if checkpoints.exists():
        shutil.copy2(checkpoints, out / "checkpoints.jsonl")
    source = sqlite3.connect(database)
    target = sqlite3.connect(out / "gateway.db")
    with target:
        source.backup(target)  # SQLite's online backup: consistent while the gateway runs
    source.close()
    target.close()
    blobs = settings.resolved_blobs_dir
    if blobs.exists():
        shutil.copytree(blobs, out / "blobs", ignore=shutil.ignore_patterns(".*.partial"))
    (out / MANIFEST).write_text(json.dumps({"format": 1, "keys_included": False}) + "\n")
    print(
        f"backup written to {out}: database, blobs, checkpoints. The keys are not in it: "
        f"back up {settings.resolved_keys_dir} separately."
    )
    return 0


def restore(args: argparse.Namespace) -> int:
    settings = Settings()
    source: Path = args.source
    if not (source / MANIFEST).exists():
        raise InvalidRequest(f"{source} is not a gateway backup (no {MANIFEST})")
    database = _sqlite_path(settings)
    if database.exists() or settings.resolved_blobs_dir.exists():
        raise InvalidRequest("restore only into an empty data folder; move the current one away")
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "gateway.db", database)
    if (source / "blobs").exists():
        shutil.copytree(source / "blobs", settings.resolved_blobs_dir)
    if (source / "checkpoints.jsonl").exists():
        settings.resolved_checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "checkpoints.jsonl", settings.resolved_checkpoint_file)
    print(
        f"restored into {settings.data_dir}. Put the master key back into "
        f"{settings.resolved_keys_dir} (or GATEWAY_MASTER_KEY), then run "
        "'gateway audit verify'."
    )
    return 0


COMMANDS: dict[str, click.Command] = {"backup": backup_command, "restore": restore_command}
