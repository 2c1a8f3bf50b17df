"""Blob storage on a local folder: write to a temporary name, rename into place on success.

A blob is durable when ``create`` returns: the file is fsynced before the rename and its folder
after it. The temporary name carries the writing process's work token
(``.name.<token>.partial``), so a file left by a crashed writer is recognised and removed by the
sweep (:mod:`gateway.services.platform.janitor`) and never mistaken for one still being written.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from gateway.crypto.envelope import destroy_data_key
from gateway.errors import NotFound
from gateway.files import fsync_dir

_KEY = re.compile(r"[a-z0-9][a-z0-9._/-]*")
_PARTIAL = re.compile(r"\..+\.([0-9a-f]{32})\.partial")


class LocalBlobStore:
    """Blobs as files under ``root``. Keys are relative paths of lower-case safe characters."""

    def __init__(self, root: Path, owner: str | None = None) -> None:
        self.root = root
        self.owner = owner or uuid.uuid4().hex
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key) or ".." in key:
            raise ValueError(f"invalid blob key '{key}'")
        return self.root / key

    @contextmanager
    def create(self, key: str) -> Iterator[BinaryIO]:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f".{final.name}.{self.owner}.partial")
        try:
            with open(temp, "xb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, final)
            fsync_dir(final.parent)
        finally:
            temp.unlink(missing_ok=True)

    def partials(self) -> Iterator[tuple[Path, str]]:
        """Partly written files and the work token of the process that wrote each."""
        for path in self.root.rglob(".*.partial"):
            match = _PARTIAL.fullmatch(path.name)
            if match and path.is_file():
                yield path, match[1]

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

    def shred(self, key: str) -> bool:
        """Destroy the blob's data key in place (synced), then the file (and sync its folder):
        a crash between the two leaves a file no key opens. False if there was no blob."""
        path = self._path(key)
        try:
            with open(path, "r+b") as fh:
                destroy_data_key(fh)
        except FileNotFoundError:
            return False
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)
        return True

    def local_path(self, key: str) -> Path | None:
        return self._path(key).resolve()

    def signed_url(self, key: str, seconds: int) -> str | None:
        return None  # opened by its path

    def exists(self, key: str) -> bool:
        return self._path(key).exists()
