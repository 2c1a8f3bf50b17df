"""Operations verbs: backup and restore of the embedded default (SQLite + folders); what is
copied, and in which order, is :mod:`gateway.services.platform.backups`."""

from __future__ import annotations

import argparse
from typing import Any

import click

from gateway.cli.framework import CONTEXT, PATH
from gateway.config import Settings
from gateway.services.platform import backups


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


def backup(args: argparse.Namespace) -> int:
    settings = Settings()
    backups.backup(settings, args.out)
    print(
        f"backup written to {args.out}: database, blobs, checkpoints. The keys are not in it: "
        f"back up {settings.resolved_keys_dir} separately."
    )
    return 0


def restore(args: argparse.Namespace) -> int:
    settings = Settings()
    backups.restore(settings, args.source)
    print(
        f"restored into {settings.data_dir}. Put the master key back into "
        f"{settings.resolved_keys_dir} (or GATEWAY_MASTER_KEY), then run "
        "'gateway audit verify'."
    )
    return 0


COMMANDS: dict[str, click.Command] = {"backup": backup_command, "restore": restore_command}
