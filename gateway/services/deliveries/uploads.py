"""A delivery's body as the ingestion reads it: in memory, or spooled sealed while it arrives.

The HTTP front streams a push's body into :func:`receive`'s spool and hands the same spool to
:func:`gateway.services.deliveries.ingest.push_delivery`, which reads it as it grows; the spool
is sealed under a per-request key in this process's work area, so no plaintext CPR touches the
disk and a crash leaves it to the sweep.
"""

from __future__ import annotations

import hashlib
import io
from typing import Protocol

from gateway.crypto.spool import SealedSpool
from gateway.dataplane.reading import Readable
from gateway.services.context import Context


class Upload(Protocol):
    """A delivery's body: readable (possibly while it is still arriving) and, once complete,
    its size and SHA-256."""

    size: int

    def open(self) -> Readable: ...

    def sha256(self) -> str:
        """The digest of the whole body; waits for its end."""


class BytesUpload:
    """A body already in memory (the in-process callers: benchmarks, tools)."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.size = len(body)

    def open(self) -> Readable:
        return io.BytesIO(self._body)

    def sha256(self) -> str:
        return hashlib.sha256(self._body).hexdigest()


class StreamingUpload(Upload, Protocol):
    """A body that arrives in chunks: written as it comes, finished at its end, discarded if
    it will never be whole (its readers then fail, and nothing of it stays)."""

    def write(self, chunk: bytes) -> None: ...

    def finish(self) -> str:
        """The body is whole: its SHA-256."""

    def discard(self) -> None: ...


def receive(ctx: Context) -> StreamingUpload:
    """A spool for a body that is about to arrive, sealed in this process's work area."""
    return SealedSpool(ctx.work.spool)
