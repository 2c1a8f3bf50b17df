"""Blob storage on a local folder: write to a temporary name, rename into place on success."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from gateway.errors import NotFound

_KEY = re.compile(r"^[a-z0-9][a-z0-9._/-]*$")


class LocalBlobStore:
    """Blobs as files under ``root``. Keys are relative paths of lower-case safe characters."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key:
            raise ValueError(f"invalid blob key '{key}'")
        return self.root / key

    @contextmanager
    def create(self, key: str) -> Iterator[BinaryIO]:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.partial")
        try:
            with open(temp, "xb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob '{key}' is missing from the blob store") from None

    def open_for_update(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "r+b")
        except FileNotFoundError:
            raise NotFound(f"blob '{key}' is missing from the blob store") from None

    def keys(self, prefix: str) -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()
