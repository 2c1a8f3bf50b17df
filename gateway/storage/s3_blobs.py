"""Blob storage on an S3-compatible object store (optional: ``pip install gateway[s3]``).

Blobs are sealed before they get here, so the object store only ever sees ciphertext. Writes
go to a local temporary file and are uploaded when the block ends normally (an aborted write
uploads nothing). Reads download the object to a temporary file, which gives the sealed-blob
reader the random access Parquet needs. A header re-wrap downloads, rewrites the 72 bytes and
uploads the object again.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from gateway.crypto.envelope import HEADER_SIZE, shredded_header
from gateway.errors import ConfigurationError, IntegrityError, NotFound

_KEY = re.compile(r"[a-z0-9][a-z0-9._/-]*")
SPOOL_IN_MEMORY = 8 << 20


class _UploadOnClose:
    """A downloaded copy opened read-write; closing it uploads it back (header re-wraps)."""

    def __init__(self, store: S3BlobStore, key: str, fh: IO[bytes]) -> None:
        self._store, self._key, self._fh = store, key, fh

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def write(self, data: bytes) -> int:
        return self._fh.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def flush(self) -> None:
        self._fh.flush()

    def fileno(self) -> int:
        return self._fh.fileno()

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def close(self) -> None:
        if self._fh.closed:
            return
        try:
            self._fh.flush()
            self._fh.seek(0)
            self._store.upload(self._key, self._fh)
        finally:
            self._fh.close()

    def __enter__(self) -> _UploadOnClose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        from boto3.s3.transfer import TransferConfig

        self._transfer = TransferConfig(use_threads=False)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def connect(cls, bucket: str, prefix: str, endpoint_url: str | None) -> S3BlobStore:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ConfigurationError(
                "S3 blob storage needs boto3: pip install 'gateway[s3]'"
            ) from None
        config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard"})
        client = boto3.client("s3", endpoint_url=endpoint_url, config=config)
        return cls(client, bucket, prefix)

    def _name(self, key: str) -> str:
        if not _KEY.fullmatch(key) or ".." in key:
            raise ValueError(f"invalid blob key '{key}'")
        return self.prefix + key

    @contextmanager
    def create(self, key: str) -> Iterator[BinaryIO]:
        self._name(key)  # validate before writing anything
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as fh:
            yield cast(BinaryIO, fh)
            fh.seek(0)
            self.upload(key, fh)

    def upload(self, key: str, fh: IO[bytes]) -> None:
        """Upload (multipart for large blobs), in this thread."""
        self.client.upload_fileobj(fh, self.bucket, self._name(key), Config=self._transfer)

    def _download(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        fh = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
        try:
            self.client.download_fileobj(self.bucket, self._name(key), fh, Config=self._transfer)
        except ClientError as exc:
            fh.close()
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise NotFound(f"blob '{key}' is missing from the blob store") from None
            raise
        fh.seek(0)
        return fh

    def open(self, key: str) -> BinaryIO:
        return cast(BinaryIO, self._download(key))

    def open_for_update(self, key: str) -> BinaryIO:
        return cast(BinaryIO, _UploadOnClose(self, key, self._download(key)))

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def shred(self, key: str) -> bool:
        """Destroy the data key, then the ciphertext: the object is replaced by its header with
        the wrapped key overwritten (no chunk left), then deleted. An object cannot be changed
        in place; with bucket versioning, earlier versions must expire by the bucket's own
        lifecycle rule (docs/retention.md). False if there was no object."""
        from botocore.exceptions import ClientError

        name = self._name(key)
        try:
            head = self.client.get_object(
                Bucket=self.bucket, Key=name, Range=f"bytes=0-{HEADER_SIZE - 1}"
            )["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        if len(head) == HEADER_SIZE:
            try:
                shredded = shredded_header(head)
            except IntegrityError:
                shredded = b""
            self.client.put_object(Bucket=self.bucket, Key=name, Body=shredded)
        self.client.delete_object(Bucket=self.bucket, Key=name)
        return True

    def partials(self) -> Iterator[tuple[Path, str]]:
        """An object becomes visible only when its upload completes: no partial files."""
        return iter(())

    def local_path(self, key: str) -> Path | None:
        return None  # executors read it at a signed address instead

    def signed_url(self, key: str, seconds: int) -> str | None:
        """A presigned GET of this one object: an executor reads the sealed blob by range
        requests with it, and holds none of the bucket's credentials."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._name(key)}, ExpiresIn=seconds
        )
        return url

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError:
            return False
        return True
