"""A request body spooled to disk sealed, readable while it is still arriving.

Deliveries can be far larger than memory, but plaintext CPR must never touch the disk: the
spool file is ciphertext (the envelope format of :mod:`gateway.crypto.envelope`), and its key
dies with the object. Readers do not wait for the whole body: each 1 MiB chunk can be read as
soon as it is sealed, so validation and pseudonymisation run while the body is still being
received (a 56 MB delivery no longer waits a third of a second for its last byte before the
first row is checked). A reader that needs the end (Parquet's footer, the size) waits for it.

If the upload fails (the client goes away, the body is over the limit), readers raise
:class:`UploadAborted` instead of seeing a short file as if it were complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.crypto.envelope import ChunkedReader, SealingWriter, read_header

_BLOB_ID = "spool"
# Plaintext chunks kept in memory for readers that keep up with the body (1 MiB each): they
# take them from here instead of reading the file back and decrypting it. A reader further
# behind reads the sealed file, so memory stays bounded whatever the body's size.
RECENT_CHUNKS = 16


def _close_quietly(fh: Any) -> None:
    """Close ``fh`` even if its last flush fails (the descriptor must not leak)."""
    try:
        fh.close()
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            fh.raw.close()


class UploadAborted(Exception):
    """The body did not arrive whole; nothing read from it may be kept."""


class SealedSpool:
    """One request body: written by the receiving side, read by any number of readers."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        os.makedirs(directory, exist_ok=True)
        self._key = AESGCM.generate_key(bit_length=256)
        fd, self.path = tempfile.mkstemp(prefix="spool-", suffix=".gwb", dir=directory)
        self._file = os.fdopen(fd, "wb")
        self._recent: dict[int, bytes] = {}
        try:
            self._writer = SealingWriter(
                self._file,
                blob_id=_BLOB_ID,
                kek=self._key,
                kek_version=0,
                on_chunk=self._keep_recent,
            )
            self._file.flush()  # the header, so readers can start at once
        except BaseException:  # e.g. no space for the header: nothing may stay behind
            _close_quietly(self._file)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise
        self._sha = hashlib.sha256()
        self.size = 0
        self._changed = threading.Condition()
        self._sealed = 0  # chunks on disk, none of them the last until finished
        self._chunks: int | None = None  # all chunks, once finished
        self._digest: str | None = None
        self._failure: str | None = None

    # -- the receiving side -------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self._sha.update(data)
        self.size += len(data)
        self._writer.write(data)
        if self._writer.chunks_sealed != self._sealed:
            self._file.flush()
            with self._changed:
                self._sealed = self._writer.chunks_sealed
                self._changed.notify_all()

    def _keep_recent(self, index: int, plaintext: bytes | bytearray | memoryview) -> None:
        # Stored before the chunk is announced to readers (write() notifies after sealing).
        self._recent[index] = bytes(plaintext)
        self._recent.pop(index - RECENT_CHUNKS, None)

    def finish(self) -> str:
        """Seal the last chunk; returns the SHA-256 of the plaintext."""
        self._writer.close()
        self._file.close()
        with self._changed:
            self._chunks = self._writer.chunks_sealed
            self._digest = self._sha.hexdigest()
            self._changed.notify_all()
        return self._digest

    def fail(self, reason: str) -> None:
        """The body will not be complete: wake every reader with :class:`UploadAborted`."""
        with self._changed:
            if self._digest is None:
                self._failure = reason
            self._changed.notify_all()

    def discard(self) -> None:
        """Fail readers and remove the file; never raises (it runs on error paths, where a
        full disk may refuse the last flush)."""
        self.fail("the upload was discarded")
        self._recent.clear()
        if not self._writer.closed:
            with contextlib.suppress(OSError, ValueError):
                self._writer.abort()
        _close_quietly(self._file)
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    # -- the reading side ---------------------------------------------------------------
    def sha256(self) -> str:
        """The SHA-256 of the whole body (waits for its end)."""
        with self._changed:
            while self._digest is None:
                self._raise_if_failed()
                self._changed.wait()
            return self._digest

    def open(self) -> _LiveReader:
        """A seekable plaintext reader from the start of the body."""
        return _LiveReader(self)

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise UploadAborted(self._failure)

    def _await_chunk(self, index: int) -> bool | None:
        """Wait until chunk ``index`` is sealed: whether it is the last one, or None if the
        body ended before it."""
        with self._changed:
            while True:
                self._raise_if_failed()
                if index < self._sealed:
                    return False
                if self._chunks is not None:
                    return None if index >= self._chunks else index == self._chunks - 1
                self._changed.wait()


class _LiveReader(ChunkedReader):
    """Plaintext of a spool that may still be growing: a chunk is read once it is sealed, the
    end (size, last chunk) once the body is complete."""

    def __init__(self, spool: SealedSpool) -> None:
        source = open(spool.path, "rb")  # noqa: SIM115 - closed with the reader
        _, aead, chunk_size = read_header(source, _BLOB_ID, lambda _v: spool._key)
        super().__init__(source, _BLOB_ID, aead, chunk_size)
        self._spool = spool

    def _end(self) -> int:
        self._spool.sha256()  # waits for the end of the body
        return self._spool.size

    def _is_last(self, index: int) -> bool | None:
        return self._spool._await_chunk(index)

    def _plaintext(self, index: int, last: bool) -> bytes:
        recent = self._spool._recent.get(index)  # never left the process: nothing to verify
        return recent if recent is not None else super()._plaintext(index, last)
