"""Envelope encryption of stored files: AES-256-GCM in fixed-size chunks, one data key per blob.

Layout of a sealed blob::

    header   "GWB1" | kek_version u32 | wrapped data key (nonce 12 | ciphertext 32 | tag 16)
             | chunk_size u32                                            (72 bytes)
    chunks   ciphertext+tag of each plaintext chunk of ``chunk_size`` bytes (last one shorter)

Each chunk's nonce is its index (a data key seals exactly one blob, so nonces never repeat);
its associated data binds the blob id, the index and whether it is the last chunk, so chunks
cannot be reordered, swapped between blobs, or cut off at a chunk boundary. The data key is
wrapped by a key-encryption key derived from the master key (version in the header), so a
KEK rotation rewrites only the 72-byte header. Readers are seekable, so Parquet can read a
sealed file's footer and column chunks without decrypting the whole file.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import IntegrityError

MAGIC = b"GWB1"
CHUNK_SIZE = 1 << 20
TAG = 16
_WRAPPED = 12 + 32 + TAG
HEADER_SIZE = 4 + 4 + _WRAPPED + 4

KekLookup = Callable[[int], bytes]


def _chunk_aad(blob_id: str, index: int, last: bool) -> bytes:
    return b"gateway-blob-v1|" + blob_id.encode() + struct.pack(">QB", index, 1 if last else 0)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _wrap(kek: bytes, kek_version: int, blob_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(12)
    aad = b"gateway-dek-v1|" + blob_id.encode() + struct.pack(">I", kek_version)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, aad)


def _unwrap(kek: bytes, kek_version: int, blob_id: str, wrapped: bytes) -> bytes:
    aad = b"gateway-dek-v1|" + blob_id.encode() + struct.pack(">I", kek_version)
    try:
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], aad)
    except InvalidTag:
        raise IntegrityError(
            f"blob '{blob_id}': its data key does not unwrap with key-encryption key "
            f"v{kek_version} (wrong master key, or the header was altered)"
        ) from None


def header_version(source: BinaryIO) -> int:
    """The key-encryption key version a sealed blob's data key is wrapped under."""
    source.seek(0)
    header = source.read(8)
    if len(header) != 8 or header[:4] != MAGIC:
        raise IntegrityError("not a sealed gateway blob")
    version: int = struct.unpack(">I", header[4:8])[0]
    return version


def rewrap(blob: BinaryIO, *, blob_id: str, kek_for: KekLookup, new_version: int) -> bool:
    """Re-wrap a blob's data key under KEK ``new_version``, rewriting only the 72-byte header.

    The chunks are untouched, so readers never see a half-written file: the header is written
    with one write at offset 0 and synced. Returns False if the blob already uses that version.
    """
    blob.seek(0)
    header = blob.read(HEADER_SIZE)
    if len(header) != HEADER_SIZE or header[:4] != MAGIC:
        raise IntegrityError(f"blob '{blob_id}' is not a sealed gateway blob")
    (old_version,) = struct.unpack(">I", header[4:8])
    if old_version == new_version:
        return False
    data_key = _unwrap(kek_for(old_version), old_version, blob_id, header[8 : 8 + _WRAPPED])
    wrapped = _wrap(kek_for(new_version), new_version, blob_id, data_key)
    new_header = MAGIC + struct.pack(">I", new_version) + wrapped + header[8 + _WRAPPED :]
    blob.seek(0)
    blob.write(new_header)
    blob.flush()
    os.fsync(blob.fileno())
    return True


def shredded_header(header: bytes) -> bytes:
    """A blob's header with its wrapped data key replaced by random bytes: with the key gone,
    no key-encryption key (and so not the master key) opens the chunks any more. The rest of
    the header (magic, KEK version, chunk size) stays, so the blob still says what it was."""
    if len(header) != HEADER_SIZE or header[:4] != MAGIC:
        raise IntegrityError("not a sealed gateway blob header")
    return header[:8] + os.urandom(_WRAPPED) + header[8 + _WRAPPED :]


def destroy_data_key(blob: BinaryIO) -> bool:
    """Crypto-shred a blob in place: overwrite its wrapped data key (one write at offset 0)
    and sync. False if it is not a sealed blob (already shredded blobs are, and stay so)."""
    blob.seek(0)
    header = blob.read(HEADER_SIZE)
    if len(header) != HEADER_SIZE or header[:4] != MAGIC:
        return False
    blob.seek(0)
    blob.write(shredded_header(header))
    blob.flush()
    os.fsync(blob.fileno())
    return True


class SealingWriter(io.RawIOBase):
    """A write-only file object that seals everything written to it into ``sink``."""

    def __init__(
        self,
        sink: BinaryIO,
        *,
        blob_id: str,
        kek: bytes,
        kek_version: int,
        chunk_size: int = CHUNK_SIZE,
        on_chunk: Callable[[int, bytes | bytearray | memoryview], None] | None = None,
    ) -> None:
        """``on_chunk(index, plaintext)`` is told each chunk just before it is sealed (the
        sealed spool keeps the newest few for its readers, who then need not decrypt them)."""
        super().__init__()
        self._sink = sink
        self._on_chunk = on_chunk
        self._blob_id = blob_id
        self._key = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(self._key)
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._index = 0
        self._written = 0
        wrapped = _wrap(kek, kek_version, blob_id, self._key)
        sink.write(MAGIC + struct.pack(">I", kek_version) + wrapped + struct.pack(">I", chunk_size))

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    @property
    def chunks_sealed(self) -> int:
        """Chunks written to the sink so far (all but the last until :meth:`close`)."""
        return self._index

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        size, chunk = len(view), self._chunk_size
        self._written += size
        # Keep at least one byte back so the final chunk is always sealed with last=True.
        if len(self._buffer) + size <= chunk:
            self._buffer += view
            return size
        start = 0
        if self._buffer:  # complete the pending chunk first
            start = chunk - len(self._buffer)
            self._buffer += view[:start]
            self._emit(self._buffer, last=False)
            self._buffer.clear()
        # Whole chunks straight from the caller's buffer: no copy into ours and no shifting of
        # what is left (Parquet hands over column chunks of many megabytes at once).
        while size - start > chunk:
            self._emit(view[start : start + chunk], last=False)
            start += chunk
        self._buffer += view[start:]
        return size

    def _emit(self, chunk: bytes | bytearray | memoryview, *, last: bool) -> None:
        if self._on_chunk is not None:
            self._on_chunk(self._index, chunk)
        aad = _chunk_aad(self._blob_id, self._index, last)
        self._sink.write(self._aead.encrypt(_nonce(self._index), chunk, aad))
        self._index += 1

    def abort(self) -> None:
        """Close without sealing the last chunk: the blob being written is to be discarded."""
        self._buffer.clear()
        super().close()

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._sink.flush()
        super().close()


def read_header(source: BinaryIO, blob_id: str, kek_for: KekLookup) -> tuple[int, AESGCM, int]:
    """(KEK version, the blob's data cipher, chunk size) from a sealed blob's header."""
    version, key, chunk_size = data_key(source, blob_id, kek_for)
    return version, AESGCM(key), chunk_size


def data_key(source: BinaryIO, blob_id: str, kek_for: KekLookup) -> tuple[int, bytes, int]:
    """(KEK version, the blob's own data key, chunk size): the hub unwraps a blob's data key
    for a distributed job, whose executors then open that one blob (:class:`KeyedReader`)
    and nothing else; they never hold a key-encryption key."""
    header = source.read(HEADER_SIZE)
    if len(header) != HEADER_SIZE or header[:4] != MAGIC:
        raise IntegrityError(f"blob '{blob_id}' is not a sealed gateway blob")
    (version,) = struct.unpack(">I", header[4:8])
    key = _unwrap(kek_for(version), version, blob_id, header[8 : 8 + _WRAPPED])
    chunk_size: int = struct.unpack(">I", header[8 + _WRAPPED :])[0]
    return version, key, chunk_size


def open_chunk(
    source: BinaryIO, aead: AESGCM, blob_id: str, chunk_size: int, index: int, last: bool
) -> bytes:
    """Read and authenticate chunk ``index`` of a sealed blob."""
    stride = chunk_size + TAG
    source.seek(HEADER_SIZE + index * stride)
    sealed = source.read(stride)
    try:
        return aead.decrypt(_nonce(index), sealed, _chunk_aad(blob_id, index, last))
    except InvalidTag:
        raise IntegrityError(
            f"blob '{blob_id}': chunk {index} failed authentication "
            "(altered, truncated or reordered)"
        ) from None


class ChunkedReader(io.RawIOBase):
    """A seekable read-only file object over a sealed blob's plaintext; every chunk is
    authenticated as it is read. Subclasses say where the blob ends and which chunk is last
    (known at once for a stored blob, only at its end for a spool still being written)."""

    def __init__(self, source: BinaryIO, blob_id: str, aead: AESGCM, chunk_size: int) -> None:
        super().__init__()
        self._src = source
        self._blob_id = blob_id
        self._aead = aead
        self._chunk_size = chunk_size
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def _end(self) -> int:
        """The plaintext size."""
        raise NotImplementedError

    def _is_last(self, index: int) -> bool | None:
        """Whether chunk ``index`` is the last one; None if the blob ends before it."""
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # The end only when asked for: a growing blob's end is not known until it is complete.
        starts = {io.SEEK_SET: lambda: 0, io.SEEK_CUR: lambda: self._pos, io.SEEK_END: self._end}
        self._pos = max(0, starts[whence]() + offset)
        return self._pos

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        last = self._is_last(index)
        if last is None:
            return b""
        plain = self._plaintext(index, last)
        self._cached = (index, plain)
        return plain

    def _plaintext(self, index: int, last: bool) -> bytes:
        """Chunk ``index``, read from the source and authenticated."""
        return open_chunk(self._src, self._aead, self._blob_id, self._chunk_size, index, last)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        done = 0
        while done < len(buffer):
            index, offset = divmod(self._pos, self._chunk_size)
            chunk = self._chunk(index)
            n = min(len(buffer) - done, len(chunk) - offset)
            if n <= 0:
                break  # the end of the blob
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


class OpeningReader(ChunkedReader):
    """A stored sealed blob: its size and last chunk are known from the file's length. Opened
    with the key-encryption keys (the hub), or with the blob's own data key alone
    (``data_key``: an executor of a distributed job, see :func:`data_key`)."""

    def __init__(
        self,
        source: BinaryIO,
        *,
        blob_id: str,
        kek_for: KekLookup | None = None,
        data_key: bytes | None = None,
    ) -> None:
        if data_key is not None:
            header = source.read(HEADER_SIZE)
            if len(header) != HEADER_SIZE or header[:4] != MAGIC:
                raise IntegrityError(f"blob '{blob_id}' is not a sealed gateway blob")
            (self.kek_version,) = struct.unpack(">I", header[4:8])
            aead, chunk_size = AESGCM(data_key), struct.unpack(">I", header[8 + _WRAPPED :])[0]
        elif kek_for is not None:
            self.kek_version, aead, chunk_size = read_header(source, blob_id, kek_for)
        else:
            raise ValueError("a sealed blob opens with kek_for or data_key")
        super().__init__(source, blob_id, aead, chunk_size)
        total = source.seek(0, io.SEEK_END) - HEADER_SIZE
        stride = chunk_size + TAG
        self._chunks = max(1, -(-total // stride))
        last_len = total - (self._chunks - 1) * stride - TAG
        if last_len < 0:
            raise IntegrityError(f"blob '{blob_id}' is truncated")
        self._size: int = (self._chunks - 1) * chunk_size + last_len

    @property
    def size(self) -> int:
        return self._size

    def _end(self) -> int:
        return self._size

    def _is_last(self, index: int) -> bool | None:
        return None if index >= self._chunks else index == self._chunks - 1
