"""Where a distributed job's executors open a sealed input blob: a path on a file system they
share with the gateway, or a signed, time-limited address of an object store.

An executor reading from S3 gets no credentials: the hub signs one address per blob (it allows
a GET of that object only, until it expires), and the executor reads the blob's header, its
Parquet footer and its row groups with HTTP range requests. What it fetches is sealed: without
the data key the hub handed the job, the bytes say nothing.
"""

from __future__ import annotations

import io
from typing import BinaryIO, cast

import httpx

SIGNED_SECONDS = 6 * 3600  # a signed address outlives any job, not a working day
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def is_remote(location: str) -> bool:
    return location.startswith(("https://", "http://"))


def open_location(location: str) -> BinaryIO:
    """The sealed blob at ``location`` as a seekable file."""
    if is_remote(location):
        return cast(BinaryIO, io.BufferedReader(RangeReader(location), buffer_size=1 << 20))
    return open(location, "rb")


class RangeReader(io.RawIOBase):
    """A read-only, seekable file over HTTP range requests (one per read), for a signed GET
    address (which allows no HEAD: the size comes from the first range's answer)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._client = httpx.Client(timeout=_TIMEOUT, follow_redirects=False)
        self._position = 0
        first = self._get(0, 0)
        total = first.headers.get("content-range", "").rpartition("/")[2]
        if not total.isdigit():
            self._client.close()
            raise OSError("the blob store did not say the blob's size")
        self._size = int(total)

    def _get(self, start: int, end: int) -> httpx.Response:
        answer = self._client.get(self._url, headers={"Range": f"bytes={start}-{end}"})
        if answer.status_code != 206:
            raise OSError(f"the blob store answered {answer.status_code} to a range request")
        return answer

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._position >= self._size or not len(buffer):
            return 0
        end = min(self._size, self._position + len(buffer)) - 1
        data = self._get(self._position, end).content
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._client.close()
        super().close()
