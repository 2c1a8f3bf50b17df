"""The Spark engine's reading tasks: each opens slices (Parquet row groups) of sealed input
blobs on an executor with the data keys the hub unwrapped, keeps the rows of the plan's period
(and population), re-keys the released ones and leaves their persons beside the parts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.crypto.envelope import OpeningReader
from gateway.crypto.pseudonyms import recipient_pseudonyms
from gateway.dataplane.link import event_bounds, overlapping
from gateway.dataplane.person_set import PersonSet
from gateway.domain.catalogue import Catalogue
from gateway.domain.release_plan import PERSON, Bounds, LinkPlan
from gateway.engines import SealedInput
from gateway.engines.locations import open_location
from gateway.engines.spark_parts import write_persons

TASKS_PER_CORE = 3


def _plain(kind: pa.DataType) -> pa.DataType:
    """Spark has no dictionary or fixed-size binary type: coded columns travel as their
    values, the 32-byte internal pseudonym as plain binary."""
    if pa.types.is_dictionary(kind):
        return kind.value_type
    if pa.types.is_fixed_size_binary(kind):
        return pa.binary()
    return kind


@dataclass(frozen=True)
class Slices:
    """What every scan of one job shares: the session, the inputs with the data keys the hub
    unwrapped for them, and the plan's period."""

    spark: Any
    catalogue: Catalogue
    inputs: Sequence[SealedInput]
    keys: dict[str, bytes]
    plan: LinkPlan
    folder: str  # the job's folder: the reading tasks leave the released persons there
    job_key: bytes

    def scan(
        self,
        dataset: str,
        columns: list[str],
        bounds: Bounds,
        released: tuple[bytes, str] | None = None,
        population: Any = None,
    ) -> Any:
        """A dataset's stored rows that overlap the plan's period, read on the executors from
        the sealed blobs' row groups (a few consecutive ones per task) with each blob's data
        key.

        With ``population`` (a broadcast :class:`PersonSet`, packed) the task keeps only
        those persons' rows. ``released`` (the recipient's pseudonym key, a label for the
        step) marks a scan whose rows are released: they leave the task already re-keyed, and
        the task seals the internal pseudonyms it released beside the parts for the audit's
        subject index. Each row crosses from Python to the JVM once, and only if released."""
        from gateway.dataplane.ingest import stored_schema

        mine = [i for i in self.inputs if i.dataset == dataset]
        slices = [
            (blob, i.location, i.blob_id, group)
            for blob, i in enumerate(mine)
            for group in range(i.row_groups)
        ] or [(0, "", "", -1)]
        # Consecutive slices in each task, about three tasks per core Spark offers: a task
        # costs its Python worker a round trip of its own (70-140 ms measured here), which
        # one task per row group would pay hundreds of times. Made on the driver: no shuffle.
        tasks = min(len(slices), TASKS_PER_CORE * int(self.spark.sparkContext.defaultParallelism))
        frame = self.spark.createDataFrame(
            self.spark.sparkContext.parallelize(slices, tasks),
            "blob INT, location STRING, blob_id STRING, grp INT",
        )
        probe = stored_schema(self.catalogue.datasets[dataset])
        schema = pa.schema(
            [
                *(pa.field(n, _plain(probe.field(n).type)) for n in columns),
                pa.field("event_start", pa.date32()),
                pa.field("event_end", pa.date32()),
                pa.field("__blob", pa.int32()),
                pa.field("__row", pa.int64()),
            ]
        )
        if released is not None:
            schema = schema.set(schema.get_field_index(PERSON), pa.field(PERSON, pa.string()))
        reader = _SliceReader(
            columns,
            bounds,
            self.plan.first,
            self.plan.last,
            {i.blob_id: self.keys[i.blob_id] for i in mine},
            schema,
            population,
            None if released is None else (*released, self.folder, self.job_key),
        )
        return frame.mapInArrow(reader, _ddl(schema))


@dataclass(frozen=True)
class _SliceReader:
    """The task that opens slices (row groups) of sealed blobs on an executor."""

    columns: list[str]
    bounds: Bounds
    first: Any
    last: Any
    keys: dict[str, bytes]
    schema: pa.Schema
    population: Any  # a Spark broadcast of the population's internal pseudonyms, or None
    released: tuple[bytes, str, str, bytes] | None  # recipient key, label, job folder, job key

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        persons = None if self.population is None else PersonSet.unpacked(self.population.value)
        slices = [
            s
            for batch in batches
            for s in zip(*(batch.column(i).to_pylist() for i in range(4)), strict=True)
            if s[3] >= 0
        ]
        # A task's slices are consecutive row groups, mostly of one blob: each blob is opened
        # (its header and footer read and authenticated) once.
        for (blob, location, blob_id), same in itertools.groupby(slices, key=lambda s: s[:3]):
            with open_location(location) as fh:
                opened = OpeningReader(fh, blob_id=blob_id, data_key=self.keys[blob_id])
                stored = pq.ParquetFile(opened)
                for *_, group in same:
                    table = self._read(stored, blob, group, persons)
                    yield from table.cast(self.schema).to_batches()

    def _read(
        self, stored: pq.ParquetFile, blob: int, group: int, persons: PersonSet | None
    ) -> pa.Table:
        columns = self.columns
        offset = sum(stored.metadata.row_group(g).num_rows for g in range(group))
        present = [c for c in columns if c in stored.schema_arrow.names]
        table = stored.read_row_group(group, columns=present)
        for name in columns:  # a column added later (e.g. the derived birth year)
            if name not in present:
                kind = self.schema.field(name).type
                table = table.append_column(name, pa.nulls(table.num_rows, kind))
        table = table.select(columns)
        keep = overlapping(table, self.bounds, self.first, self.last)
        if persons is not None:
            keep = pc.and_(keep, persons.contains(table[PERSON]))
        start, end = event_bounds(table, self.bounds)
        table = table.append_column("event_start", start).append_column("event_end", end)
        table = table.append_column(
            "__blob", pa.array(np.full(table.num_rows, blob, np.int32))
        ).append_column("__row", pa.array(np.arange(offset, offset + table.num_rows)))
        table = table.filter(keep)
        if self.released is not None:
            key, label, folder, job_key = self.released
            internal = table[PERSON].combine_chunks()
            write_persons(folder, f"{label}-{blob}-{group}", job_key, internal)
            person = recipient_pseudonyms(internal.cast(pa.binary(32)), key)
            at = table.schema.get_field_index(PERSON)
            table = table.set_column(at, pa.field(PERSON, pa.string()), person)
        return table


def _ddl(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
