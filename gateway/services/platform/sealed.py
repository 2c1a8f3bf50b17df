"""Reading and writing sealed blobs: stored deliveries in, releases and reports out.

Every blob is sealed (chunked AES-256-GCM under a per-blob data key wrapped by the current blob
KEK, see :mod:`gateway.crypto.envelope`); these helpers are the only way services touch them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gateway.crypto.envelope import OpeningReader, SealingWriter, data_key
from gateway.dataplane.ingest import stored_schema
from gateway.domain.quality import for_release
from gateway.domain.records import DeliveryRecord
from gateway.engines import SealedInput
from gateway.engines.locations import SIGNED_SECONDS, open_location
from gateway.errors import Conflict
from gateway.services.context import Context


class MonthReader:
    """A dataset's stored rows (internal pseudonyms) from the current version of each of
    ``months`` (an empty table of the stored schema when there is none), remembering which
    deliveries, and which versions of their months, it read: a release names them."""

    def __init__(self, ctx: Context, months: list[str]) -> None:
        self.ctx = ctx
        self.months = months
        self._read: dict[tuple[str, str], tuple[str, int | None]] = {}
        self._quality: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._current: dict[str, list[DeliveryRecord]] = {}

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """What was read, with each delivery's quality summary: what a recipient must know to
        read the figures (:func:`gateway.domain.quality.for_release`)."""
        return [
            {
                "dataset": dataset,
                "period": period,
                "delivery": delivery,
                "version": version,
                "quality": self._quality.get((dataset, period)),
            }
            for (dataset, period), (delivery, version) in sorted(self._read.items())
        ]

    def current(self, dataset: str) -> list[DeliveryRecord]:
        """The current delivery of each month that has one (in the order the months' rows
        are read), remembered as inputs; refused if one was erased. Asked once per dataset,
        so what a release counts, records and reads is one and the same set."""
        if dataset in self._current:
            return self._current[dataset]
        ctx = self.ctx
        with ctx.store.unit_of_work() as uow:
            deliveries = uow.latest_deliveries(dataset, self.months)
        erased = [d for d in deliveries if d.erased_at]
        if erased:
            months = ", ".join(f"{d.period} (erased {(d.erased_at or '')[:10]})" for d in erased)
            raise Conflict(
                f"the current delivery of {dataset} for {months} was erased under its retention "
                "rule; a release cannot read it",
                erased=[{"dataset": dataset, "period": d.period, "delivery": d.id} for d in erased],
            )
        with ctx.store.unit_of_work() as uow:
            for d in deliveries:
                versions = uow.versions_of(dataset, d.period)
                self._read[(dataset, d.period)] = (d.id, versions[-1].version if versions else None)
                report = d.quality_report()
                self._quality[(dataset, d.period)] = for_release(report) if report else None
        self._current[dataset] = deliveries
        return deliveries

    def sealed_inputs(self, datasets: Sequence[str]) -> list[SealedInput]:
        """The stored blobs of ``datasets`` for a distributed job: each with its location and
        its own data key, unwrapped here (the hub) so executors need no key-encryption key."""
        found = []
        blobs = self.ctx.blobs
        for dataset in datasets:
            for delivery in self.current(dataset):
                path = blobs.local_path(delivery.blob_key)
                location = (
                    str(path) if path else blobs.signed_url(delivery.blob_key, SIGNED_SECONDS)
                )
                if location is None:
                    raise Conflict("this blob store cannot hand its blobs to a distributed job")
                # Opened as the executors will open it (an object store: by range requests,
                # only the header and the footer fetched here).
                with open_location(location) as fh:
                    _version, key, _chunk = data_key(fh, delivery.blob_key, self.ctx.keys.blob_kek)
                    fh.seek(0)
                    opened = OpeningReader(fh, blob_id=delivery.blob_key, data_key=key)
                    groups = pq.ParquetFile(opened).metadata.num_row_groups
                found.append(SealedInput(dataset, location, delivery.blob_key, key, groups))
        return found

    def __call__(self, dataset: str, columns: Sequence[str]) -> pa.Table:
        ctx = self.ctx
        deliveries = self.current(dataset)
        schema = stored_schema(ctx.catalogue.datasets[dataset])
        tables = [pa.Table.from_batches([], schema=schema).select(list(columns))]
        for delivery in deliveries:
            with open_sealed(ctx, delivery.blob_key) as fh:
                stored = pq.ParquetFile(fh)
                present = [c for c in columns if c in stored.schema_arrow.names]
                table = stored.read(columns=present)
            for name in columns:  # a column added later (e.g. the derived birth year)
                if name not in present:
                    kind = schema.field(name).type
                    table = table.append_column(name, pa.nulls(table.num_rows, kind))
            # Coded columns (categories, municipalities) are written dictionary-encoded.
            tables.append(table.select(list(columns)).cast(tables[0].schema))
        return pa.concat_tables(tables)


def stored_reader(ctx: Context, months: list[str]) -> MonthReader:
    return MonthReader(ctx, months)


def open_sealed(ctx: Context, blob_key: str) -> OpeningReader:
    """A decrypting reader of a sealed blob; a blob whose key does not open (shredded,
    tampered with) raises at once, leaving no file open."""
    fh = ctx.blobs.open(blob_key)
    try:
        return OpeningReader(fh, blob_id=blob_key, kek_for=ctx.keys.blob_kek)
    except BaseException:
        fh.close()
        raise


def read_sealed(ctx: Context, blob_key: str) -> bytes:
    """A small sealed blob (a report, a bundle of tables) read whole."""
    with open_sealed(ctx, blob_key) as fh:
        data: bytes = fh.read()
    return data


class _HashingSink(io.RawIOBase):
    """Passes writes through to a sealing writer while hashing the plaintext."""

    def __init__(self, inner: SealingWriter) -> None:
        super().__init__()
        self.inner = inner
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sha.update(data)
        return self.inner.write(data)


def _sealing(ctx: Context, fh: Any, blob_key: str) -> _HashingSink:
    version = ctx.blob_kek_version()
    writer = SealingWriter(
        fh, blob_id=blob_key, kek=ctx.keys.blob_kek(version), kek_version=version
    )
    return _HashingSink(writer)


def seal_table(ctx: Context, blob_key: str, table: pa.Table) -> str:
    """Write ``table`` as Parquet, sealed; returns the SHA-256 of the plaintext Parquet."""
    with ctx.blobs.create(blob_key) as fh:
        sink = _sealing(ctx, fh, blob_key)
        pq.write_table(table, sink, compression="zstd")
        sink.inner.close()
    return sink.sha.hexdigest()


def seal_batches(
    ctx: Context, blob_key: str, batches: Iterator[pa.RecordBatch], schema: pa.Schema
) -> str:
    """Write ``batches`` as one Parquet file, sealed, as they come (a distributed engine's
    release, never held whole); returns the SHA-256 of the plaintext Parquet."""
    with ctx.blobs.create(blob_key) as fh:
        sink = _sealing(ctx, fh, blob_key)
        with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
            for batch in batches:
                writer.write_batch(batch)
        sink.inner.close()
    return sink.sha.hexdigest()


def seal_bytes(ctx: Context, blob_key: str, data: bytes) -> str:
    """Write ``data`` sealed; returns its SHA-256."""
    with ctx.blobs.create(blob_key) as fh:
        sink = _sealing(ctx, fh, blob_key)
        sink.write(data)
        sink.inner.close()
    return sink.sha.hexdigest()
