"""The blob port: sealed files by key. Implemented by :mod:`gateway.storage.blobs` (a folder)
and :mod:`gateway.storage.s3_blobs` (an S3-compatible bucket)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol


class BlobStore(Protocol):
    def create(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A file to write; it becomes visible under ``key`` only if the block ends normally."""

    def open(self, key: str) -> BinaryIO:
        """Raises :class:`gateway.errors.NotFound` if there is no blob under ``key``."""

    def open_for_update(self, key: str) -> BinaryIO:
        """Read-write access in place (for header re-wraps). Raises NotFound if missing."""

    def keys(self, prefix: str) -> Iterator[str]:
        """Every blob key starting with ``prefix``, in sorted order."""

    def delete(self, key: str) -> None: ...

    def shred(self, key: str) -> bool:
        """Crypto-shred: destroy the blob's data key, then its ciphertext, so that nothing
        left behind (a crash between the two, a copy of the bytes) opens with any key. False
        if there was no blob."""

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """Where the blob lies on a file system that a distributed job's executors can open
        (its sealed bytes, never plaintext); None for an object store."""

    def signed_url(self, key: str, seconds: int) -> str | None:
        """A time-limited address at which another process reads the blob (its sealed bytes)
        by HTTP range requests, without this store's credentials; None for a store whose
        blobs are opened by their path (:meth:`local_path`)."""

    def partials(self) -> Iterator[tuple[Path, str]]:
        """Partly written local files and their writer's work token (none for object stores,
        which make an object visible only when it is complete)."""
