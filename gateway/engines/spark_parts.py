"""The Spark engine's output: each task writes its slice of the sorted release as a sealed
Parquet part, and the hub reads the parts back in order, one row group at a time.

A part is sealed like every blob (AES-256-GCM in chunks, :mod:`gateway.crypto.envelope`) under
a fresh data key, wrapped by a key that lives for one job only and never leaves the hub's
process and the job's closures. It is written to a temporary name, flushed to disk and renamed
into place when whole: a task that Spark retries (an executor lost, a worker killed) replaces
its part whole, and a job that fails leaves no part that could be mistaken for a release (the
engine deletes the job's folder either way).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.crypto.envelope import OpeningReader, SealingWriter

WRITTEN = (
    "partition INT, path STRING, rows LONG, datasets ARRAY<STRING>, counts ARRAY<LONG>, "
    "persons ARRAY<BINARY>"
)


def part_writer(folder: str, job_key: bytes, schema: pa.Schema) -> Any:
    """The task function that writes one partition of the sorted release as a sealed part
    and answers one row: where, how many rows per dataset, and the distinct internal
    pseudonyms in it (the hub indexes them in the audit trail)."""

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        partition = context.partitionId() if context else 0
        attempt = context.attemptNumber() if context else 0
        final = os.path.join(folder, f"part-{partition:05d}.gwb")
        temporary = f"{final}.{attempt}.tmp"
        rows = 0
        counts: dict[str, int] = {}
        persons: list[pa.Array] = []
        with open(temporary, "wb") as fh:
            sealed = SealingWriter(fh, blob_id=f"part-{partition:05d}", kek=job_key, kek_version=0)
            with pq.ParquetWriter(sealed, schema, compression="zstd") as out:
                for batch in batches:
                    whole = pa.Table.from_batches([batch])
                    table = whole.select(schema.names).cast(schema)
                    out.write_table(table)
                    rows += table.num_rows
                    persons.append(pc.unique(whole["__internal"].combine_chunks()))
                    for item in pc.value_counts(whole["dataset"].combine_chunks()).to_pylist():
                        counts[item["values"]] = counts.get(item["values"], 0) + item["counts"]
            sealed.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, final)
        distinct = pc.unique(pa.chunked_array(persons, pa.binary()).combine_chunks())
        yield pa.RecordBatch.from_pydict(
            {
                "partition": [partition],
                "path": [final],
                "rows": [rows],
                "datasets": [list(counts)],
                "counts": [list(counts.values())],
                "persons": [distinct],
            },
            schema=pa.schema(
                [
                    ("partition", pa.int32()),
                    ("path", pa.string()),
                    ("rows", pa.int64()),
                    ("datasets", pa.list_(pa.string())),
                    ("counts", pa.list_(pa.int64())),
                    ("persons", pa.list_(pa.binary())),
                ]
            ),
        )

    return write


def read_parts(paths: list[str], job_key: bytes) -> Iterator[pa.RecordBatch]:
    """The executors' parts in order, one row group at a time (never the whole release)."""
    for path in paths:
        blob_id = os.path.basename(path).removesuffix(".gwb")
        with open(path, "rb") as fh:
            opened = OpeningReader(fh, blob_id=blob_id, kek_for=lambda _v: job_key)
            yield from pq.ParquetFile(opened).iter_batches(batch_size=65536)
