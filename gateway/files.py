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


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old file or the new one, never
    a torn one: write a sibling, fsync it, rename it over, fsync the folder. A leftover
    ``.<name>.tmp`` sibling is an interrupted write and is simply overwritten next time."""
    temp = path.with_name(f".{path.name}.tmp")
    with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(temp, mode)
    os.replace(temp, path)
    fsync_dir(path.parent)


def append_line(path: Path, line: bytes) -> int:
    """Append ``line`` (a complete line, newline included) to ``path`` and sync it; a last
    line without its newline (a write cut short by a crash or a full disk) is cut first, so
    the file only ever holds whole lines. Returns how many torn bytes were cut."""
    new = not path.exists()
    with open(path, "ab") as fh:
        size = fh.seek(0, os.SEEK_END)
        cut = 0
        if size:
            with open(path, "rb") as reader:
                reader.seek(max(0, size - 65536))
                tail = reader.read()
            if not tail.endswith(b"\n"):
                keep = size - len(tail) + tail.rfind(b"\n") + 1
                fh.truncate(keep)
                cut = size - keep
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        fsync_dir(path.parent)
    return cut
