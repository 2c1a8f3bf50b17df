"""Durable file operations shared by the blob folder, the work area and the checkpoint file."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a create, rename or unlink in ``path`` durable (POSIX leaves directory entries in
    the page cache until the directory itself is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
