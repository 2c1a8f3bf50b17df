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
import io
import os
import tempfile
import threading

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.crypto.envelope import SealingWriter, open_chunk, read_header

_BLOB_ID = "spool"


class UploadAborted(Exception):
    """The body did not arrive whole; nothing read from it may be kept."""


class SealedSpool:
    """One request body: written by the receiving side, read by any number of readers."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        os.makedirs(directory, exist_ok=True)
        self._key = AESGCM.generate_key(bit_length=256)
        fd, self.path = tempfile.mkstemp(prefix="spool-", suffix=".gwb", dir=directory)
        self._file = os.fdopen(fd, "wb")
        self._writer = SealingWriter(self._file, blob_id=_BLOB_ID, kek=self._key, kek_version=0)
        self._file.flush()  # the header, so readers can start at once
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
        self.fail("the upload was discarded")
        if not self._writer.closed:
            self._writer.abort()
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
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


class _LiveReader(io.RawIOBase):
    """Plaintext of a spool that may still be growing; every chunk is authenticated."""

    def __init__(self, spool: SealedSpool) -> None:
        super().__init__()
        self._spool = spool
        self._src = open(spool.path, "rb")  # noqa: SIM115 - closed with the reader
        _, self._aead, self._chunk_size = read_header(self._src, _BLOB_ID, lambda _v: spool._key)
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._spool.sha256()  # the end is known once the body is complete
            base = self._spool.size
        else:
            base = self._pos if whence == io.SEEK_CUR else 0
        self._pos = max(0, base + offset)
        return self._pos

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        last = self._spool._await_chunk(index)
        if last is None:
            return b""
        plain = open_chunk(self._src, self._aead, _BLOB_ID, self._chunk_size, index, last)
        self._cached = (index, plain)
        return plain

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        done = 0
        while done < len(buffer):
            index, offset = divmod(self._pos, self._chunk_size)
            chunk = self._chunk(index)
            n = min(len(buffer) - done, len(chunk) - offset)
            if n <= 0:
                break  # the end of the body
            buffer[done : done + n] = chunk[offset : offset + n]
            done += n
            self._pos += n
        return done

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        buf = bytearray(size)
        n = self.readinto(memoryview(buf))
        return bytes(buf[:n])

    def readall(self) -> bytes:
        parts = []
        while part := self.read(self._chunk_size):
            parts.append(part)
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self._src.close()
        super().close()
