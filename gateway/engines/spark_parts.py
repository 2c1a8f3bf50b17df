"""The Spark engine's output: each task writes its slice of the sorted release as a sealed
Parquet part, and the hub reads the parts back in order, one row group at a time.

A part is sealed like every blob (AES-256-GCM in chunks, :mod:`gateway.crypto.envelope`) under
a fresh data key, wrapped by a key that lives for one job only and never leaves the hub's
process and the job's closures. It is written to a temporary name and renamed into place when
whole: a task that Spark retries (an executor lost, a worker killed) replaces its part whole,
and a job that fails leaves no part that could be mistaken for a release (the engine deletes
the job's folder either way). Parts are not forced to disk: they live only while their job
does, and a machine that stops mid-job loses the job (never a recorded release, which the hub
writes durably) and leaves a folder the janitor removes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.crypto.envelope import OpeningReader, SealingWriter
from gateway.dataplane.person_set import PersonSet
from gateway.domain.release_plan import PERSON

WRITTEN = "bucket STRING, path STRING, rows LONG, counts ARRAY<LONG>"
_WRITTEN = pa.schema(
    [
        ("bucket", pa.string()),
        ("path", pa.string()),
        ("rows", pa.int64()),
        ("counts", pa.list_(pa.int64())),  # rows per step, in the plan's order
    ]
)
STEP = "__step"  # the plan's step of a row; the release's ``dataset`` column is made from it


def part_writer(
    folder: str, job_key: bytes, schema: pa.Schema, digits: int, datasets: list[str]
) -> Any:
    """The task function that writes its sorted partition as sealed parts, one per range of
    the pseudonyms' order (their first ``digits`` characters: a range always falls whole in
    one partition; ``digits`` 0: rows in no order, one part per task), and answers one row
    per part: its range, where, and how many rows of each step. Rows travel with their
    step's number, not its dataset's name (``datasets``, by step), which the writer puts
    back: fewer bytes through the shuffle and the sort."""

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        attempt = context.attemptNumber() if context else 0
        names = pa.array(datasets, pa.string())
        part: _Part | None = None
        partition = context.partitionId() if context else 0
        for batch in batches:
            whole = pa.Table.from_batches([batch])
            step = whole[STEP].combine_chunks()
            whole = whole.append_column("dataset", pc.take(names, step))
            runs = (
                _runs(pc.utf8_slice_codeunits(whole[PERSON].combine_chunks(), 0, digits))
                if digits
                else [(f"task{partition:05d}", 0, whole.num_rows)]
            )
            for bucket, start, length in runs:
                if part is None or part.bucket != bucket:
                    if part is not None:
                        yield part.close()
                    part = _Part(folder, bucket, attempt, job_key, schema, len(datasets))
                part.write(whole.slice(start, length))
        if part is not None:
            yield part.close()

    return write


def _runs(values: pa.Array) -> Iterator[tuple[str, int, int]]:
    """(value, start, length) of each run of equal values in a sorted array."""
    encoded = pc.run_end_encode(values)
    ends = encoded.run_ends.to_pylist()
    starts = [0, *ends[:-1]]
    for value, start, end in zip(encoded.values.to_pylist(), starts, ends, strict=True):
        yield value, start, end - start


def _sealed(path: str, attempt: int, job_key: bytes) -> tuple[str, Any, SealingWriter]:
    """A temporary file for ``path`` and the sealing writer over it (one-job key)."""
    temporary = f"{path}.{attempt}.tmp"
    fh = open(temporary, "wb")  # noqa: SIM115 - the caller closes it, then renames
    blob_id = os.path.basename(path).removesuffix(".gwb")
    return temporary, fh, SealingWriter(fh, blob_id=blob_id, kek=job_key, kek_version=0)


class _Part:
    """One sealed part being written: a temporary name until it is whole."""

    def __init__(
        self, folder: str, bucket: str, attempt: int, job_key: bytes, schema: pa.Schema, steps: int
    ) -> None:
        self.bucket = bucket
        self.final = os.path.join(folder, f"part-{bucket}.gwb")
        self.temporary, self.fh, self.sealed = _sealed(self.final, attempt, job_key)
        self.schema = schema
        self.rows = 0
        self.counts = np.zeros(steps, np.int64)
        self.out = pq.ParquetWriter(self.sealed, schema, compression="zstd")

    def write(self, whole: pa.Table) -> None:
        self.out.write_table(whole.select(self.schema.names).cast(self.schema))
        self.rows += whole.num_rows
        steps = whole[STEP].combine_chunks().to_numpy(zero_copy_only=False)
        self.counts += np.bincount(steps, minlength=len(self.counts))

    def close(self) -> pa.RecordBatch:
        self.out.close()
        self.sealed.close()
        self.fh.close()
        os.replace(self.temporary, self.final)
        return pa.RecordBatch.from_pydict(
            {
                "bucket": [self.bucket],
                "path": [self.final],
                "rows": [self.rows],
                "counts": [self.counts.tolist()],
            },
            schema=_WRITTEN,
        )


def write_persons(folder: str, name: str, job_key: bytes, internal: pa.Array) -> None:
    """A reading task's distinct internal pseudonyms of the rows it released, sealed beside
    the parts (the hub indexes them in the audit trail), so they need not travel with every
    row through the shuffle. A retried task writes the same file whole again."""
    from pyspark import TaskContext

    context = TaskContext.get()
    attempt = context.attemptNumber() if context else 0
    final = os.path.join(folder, f"persons-{name}.gwb")
    temporary, fh, sealed = _sealed(final, attempt, job_key)
    sealed.write(PersonSet.of(internal).packed())
    sealed.close()
    fh.close()
    os.replace(temporary, final)


def read_persons(folder: str, job_key: bytes) -> pa.Array:
    """The distinct internal pseudonyms every reading task released."""
    found: list[pa.Array] = []
    for name in sorted(os.listdir(folder)):
        if name.startswith("persons-") and name.endswith(".gwb"):
            with open(os.path.join(folder, name), "rb") as fh:
                opened = OpeningReader(
                    fh, blob_id=name.removesuffix(".gwb"), kek_for=lambda _v: job_key
                )
                found.append(PersonSet.unpacked(opened.read()).array())
    return PersonSet.of(pa.chunked_array(found, pa.binary(32))).array()


BATCH_ROWS = 65536


def read_parts(paths: list[str], job_key: bytes) -> Iterator[pa.RecordBatch]:
    """The executors' parts in order, in batches of about ``BATCH_ROWS`` rows whatever the
    parts' sizes (each becomes a row group of the release), never the whole release."""
    held: list[pa.RecordBatch] = []
    count = 0
    for path in paths:
        blob_id = os.path.basename(path).removesuffix(".gwb")
        with open(path, "rb") as fh:
            opened = OpeningReader(fh, blob_id=blob_id, kek_for=lambda _v: job_key)
            for batch in pq.ParquetFile(opened).iter_batches(batch_size=BATCH_ROWS):
                held.append(batch)
                count += batch.num_rows
                if count >= BATCH_ROWS:
                    yield from pa.Table.from_batches(held).combine_chunks().to_batches()
                    held, count = [], 0
    if held:
        yield from pa.Table.from_batches(held).combine_chunks().to_batches()
