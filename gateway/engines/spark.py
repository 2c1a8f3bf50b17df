"""The Spark engine: a linked release's plan executed on Apache Spark.

What runs where (the trust boundary, ``docs/scale.md``):

* The hub (the Spark driver, in the gateway's worker) unwraps the data key of each sealed
  input blob and hands the job those keys and the recipient's pseudonym key, in the tasks'
  closures (over Spark's authenticated, encrypted RPC). Executors never hold a key-encryption
  key, the master key or the subject-index key.
* Executors open their own slices (one Parquet row group of one blob each) with those data
  keys, filter the rows in time with Arrow, and pass on internal pseudonyms, never a CPR (the
  stored data hold none). The population is a semi-join; the re-keying to the recipient's
  pseudonyms is the project's native HMAC kernel over whole Arrow batches.
* The sorted release is written by the executors, partition by partition, as sealed Parquet
  parts (AES-256-GCM, a fresh data key per part wrapped by a one-job key), each renamed into
  place when complete, so a retried task replaces its part whole and nothing half-written is
  ever read. The release is never collected onto the driver: the hub joins the parts into the
  release's sealed blob one row group at a time, then deletes them.
* Shuffle, spill and RPC are encrypted and authenticated; the engine refuses a session
  without ``spark.authenticate``, ``spark.network.crypto.enabled`` and
  ``spark.io.encryption.enabled``.

Row order and types are the local engine's exactly: persons by their pseudonym, then event
start (no date last), dataset, and the order rows had in the stored files, so the differential
test compares the two engines' tables for equality.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.crypto.envelope import OpeningReader
from gateway.crypto.pseudonyms import recipient_pseudonyms
from gateway.dataplane.link import event_bounds, overlapping
from gateway.domain.catalogue import Catalogue
from gateway.domain.release_plan import PERSON, Bounds, LinkPlan
from gateway.engines import JOB_PREFIX, Built, SealedInput
from gateway.engines.spark_parts import WRITTEN, part_writer, read_parts
from gateway.errors import ConfigurationError

REQUIRED = {
    "spark.authenticate": "true",
    "spark.network.crypto.enabled": "true",
    "spark.io.encryption.enabled": "true",
}
_ORDER = ("__blob", "__row")  # where a row stood in the stored files (the local engine's ties)


def check_security(conf: Mapping[str, str]) -> None:
    """Refuse a Spark session whose shuffle, spill or RPC would travel or rest in clear."""
    off = sorted(k for k, v in REQUIRED.items() if str(conf.get(k, "")).lower() != v)
    if off:
        raise ConfigurationError(
            "the Spark engine needs encrypted, authenticated shuffle, spill and RPC: set "
            + ", ".join(f"{k}=true" for k in off)
        )


@dataclass
class SparkEngine:
    master: str
    work_dir: Path
    conf: dict[str, str] = field(default_factory=dict)
    owner: str = "local"  # the work-area token: a dead owner's job folders are swept
    _session: Any = None

    def session(self) -> Any:
        """The Spark session, started once with the required protections (and checked)."""
        if self._session is not None:
            return self._session
        from pyspark.sql import SparkSession

        local = self.work_dir / "local"
        local.mkdir(parents=True, exist_ok=True)
        settings = {
            **REQUIRED,
            "spark.authenticate.secret": secrets.token_hex(32),
            "spark.local.dir": str(local),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "8",
            "spark.sql.execution.arrow.maxRecordsPerBatch": "65536",
            "spark.task.maxFailures": "4",
            # Executors run this interpreter (the gateway's, with its native kernels); on a
            # cluster, an interpreter with the same gateway installed (docs/scale.md).
            "spark.pyspark.python": sys.executable,
            **self.conf,
        }
        check_security(settings)
        os.environ.setdefault("PYSPARK_PYTHON", settings["spark.pyspark.python"])
        builder = SparkSession.builder.master(self.master).appName("gateway-release")
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        check_security(dict(session.sparkContext.getConf().getAll()))
        self._session = session
        return session

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None

    def link(
        self,
        catalogue: Catalogue,
        plan: LinkPlan,
        inputs: Sequence[SealedInput],
        recipient_key: bytes,
        write: Any,
    ) -> Built:
        """Execute ``plan`` and hand the sorted release, batch by batch, to
        ``write(batches: Iterator[pa.RecordBatch], schema)`` (the hub's sealing writer)."""
        from pyspark.sql import functions as F

        spark = self.session()
        job = f"{JOB_PREFIX}{self.owner}-{secrets.token_hex(8)}"
        parts_dir = self.work_dir / job
        parts_dir.mkdir(parents=True)
        job_key = secrets.token_bytes(32)
        keys = {i.blob_id: i.data_key for i in inputs}
        schema = release_schema(catalogue, plan)
        try:
            union = None
            persons = None
            if plan.population is not None:
                step = plan.population
                pop = _scan(
                    spark, catalogue, inputs, step.dataset, list(step.read), step.bounds, plan, keys
                )
                for column, value in step.match:
                    pop = pop.filter(F.col(column) == F.lit(value))
                persons = pop.select(PERSON).distinct()
            for index, dstep in enumerate(plan.steps):
                rows = _scan(
                    spark,
                    catalogue,
                    inputs,
                    dstep.dataset,
                    list(plan.reads(dstep)),
                    dstep.bounds,
                    plan,
                    keys,
                )
                if persons is not None:
                    # The population is a set of persons, far smaller than the events: each
                    # task gets all of it, and the events are never shuffled for the join.
                    rows = rows.join(F.broadcast(persons), on=PERSON, how="left_semi")
                rows = rows.select(
                    F.col(PERSON),
                    F.lit(dstep.dataset).alias("dataset"),
                    F.col("event_start"),
                    F.col("event_end"),
                    *[F.col(c) for c in plan.person_columns],
                    *[F.col(c).alias(o) for c, o in zip(dstep.columns, dstep.outputs, strict=True)],
                    F.lit(index).alias("__step"),
                    *[F.col(c) for c in _ORDER],
                )
                union = rows if union is None else union.unionByName(rows, allowMissingColumns=True)
            assert union is not None
            keyed = union.mapInArrow(_rekey(recipient_key), _rekeyed_schema(union))
            ordered = keyed.orderBy(
                F.col(PERSON).asc(),
                F.col("event_start").asc_nulls_last(),
                F.col("dataset").asc(),
                F.col("__step").asc(),
                *[F.col(c).asc() for c in _ORDER],
            )
            # One action: each task writes its sealed part and says what it wrote (rows per
            # dataset, the distinct internal pseudonyms in it for the subject index).
            written = ordered.mapInArrow(
                part_writer(str(parts_dir), job_key, schema), WRITTEN
            ).toArrow()
            order = pc.sort_indices(written, sort_keys=[("partition", "ascending")])
            written = written.take(order)
            paths = [
                p
                for p, n in zip(*(written[c].to_pylist() for c in ("path", "rows")), strict=True)
                if n
            ]
            sha = write(read_parts(paths, job_key), schema)
            internal = pc.unique(
                pc.list_flatten(written["persons"]).combine_chunks().cast(pa.binary(32))
            )
            counts = {step.dataset: 0 for step in plan.steps}
            for dataset, n in zip(
                pc.list_flatten(written["datasets"]).to_pylist(),
                pc.list_flatten(written["counts"]).to_pylist(),
                strict=True,
            ):
                counts[dataset] += n
            app = spark.sparkContext.applicationId
            return Built(
                sum(counts.values()),
                len(internal),
                counts,
                internal,
                sha,
                {"engine": "spark", "spark_master": self.master, "spark_app_id": app},
            )
        finally:
            shutil.rmtree(parts_dir, ignore_errors=True)


def release_schema(catalogue: Catalogue, plan: LinkPlan) -> pa.Schema:
    """The release's columns and types, as the local engine makes them."""
    from gateway.dataplane.ingest import stored_schema

    fields = [
        pa.field(PERSON, pa.string()),
        pa.field("dataset", pa.string()),
        pa.field("event_start", pa.date32()),
        pa.field("event_end", pa.date32()),
    ]
    first = stored_schema(catalogue.datasets[plan.steps[0].dataset])
    fields += [first.field(name) for name in plan.person_columns]
    for step in plan.steps:
        stored = stored_schema(catalogue.datasets[step.dataset])
        for column, output in zip(step.columns, step.outputs, strict=True):
            if output not in {f.name for f in fields}:
                fields.append(pa.field(output, stored.field(column).type))
    return pa.schema(fields)


def _plain(kind: pa.DataType) -> pa.DataType:
    """Spark has no dictionary or fixed-size binary type: coded columns travel as their
    values, the 32-byte internal pseudonym as plain binary."""
    if pa.types.is_dictionary(kind):
        return kind.value_type
    if pa.types.is_fixed_size_binary(kind):
        return pa.binary()
    return kind


def _scan(
    spark: Any,
    catalogue: Catalogue,
    inputs: Sequence[SealedInput],
    dataset: str,
    columns: list[str],
    bounds: Bounds,
    plan: LinkPlan,
    keys: dict[str, bytes],
) -> Any:
    """A dataset's stored rows that overlap the plan's period: one task per row group of each
    sealed blob, opened on the executor with that blob's data key."""
    mine = [i for i in inputs if i.dataset == dataset]
    slices = [
        (blob, i.location, i.blob_id, group)
        for blob, i in enumerate(mine)
        for group in range(i.row_groups)
    ]
    needed = {i.blob_id: keys[i.blob_id] for i in mine}
    from gateway.dataplane.ingest import stored_schema

    probe = stored_schema(catalogue.datasets[dataset])
    frame = spark.createDataFrame(
        slices or [(0, "", "", -1)], "blob INT, location STRING, blob_id STRING, grp INT"
    ).repartition(max(1, len(slices)))
    out_schema = pa.schema(
        [
            *(pa.field(n, _plain(probe.field(n).type)) for n in columns),
            pa.field("event_start", pa.date32()),
            pa.field("event_end", pa.date32()),
            pa.field("__blob", pa.int32()),
            pa.field("__row", pa.int64()),
        ]
    )
    reader = _slice_reader(columns, bounds, plan.first, plan.last, needed, out_schema)
    return frame.mapInArrow(reader, _ddl(out_schema))


def _slice_reader(
    columns: list[str],
    bounds: Bounds,
    first: Any,
    last: Any,
    keys: dict[str, bytes],
    schema: pa.Schema,
) -> Any:
    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for blob, location, blob_id, group in zip(
                *(batch.column(i).to_pylist() for i in range(4)), strict=True
            ):
                if group < 0:
                    continue
                with open(location, "rb") as fh:
                    opened = OpeningReader(fh, blob_id=blob_id, data_key=keys[blob_id])
                    stored = pq.ParquetFile(opened)
                    offset = sum(stored.metadata.row_group(g).num_rows for g in range(group))
                    present = [c for c in columns if c in stored.schema_arrow.names]
                    table = stored.read_row_group(group, columns=present)
                for name in columns:  # a column added later (e.g. the derived birth year)
                    if name not in present:
                        kind = schema.field(name).type
                        table = table.append_column(name, pa.nulls(table.num_rows, kind))
                table = table.select(columns)
                keep = overlapping(table, bounds, first, last)
                start, end = event_bounds(table, bounds)
                table = table.append_column("event_start", start).append_column("event_end", end)
                table = table.append_column(
                    "__blob", pa.array([blob] * table.num_rows, pa.int32())
                ).append_column(
                    "__row", pa.array(range(offset, offset + table.num_rows), pa.int64())
                )
                yield from table.filter(keep).cast(schema).to_batches()

    return read


def _rekey(key: bytes) -> Any:
    """The recipient's pseudonyms by the native HMAC kernel, a batch at a time; the internal
    pseudonym travels on (``__internal``) to the writer, for the audit's subject index."""

    def rekey(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            at = batch.schema.get_field_index(PERSON)
            internal = batch.column(at)
            person = recipient_pseudonyms(internal.cast(pa.binary(32)), key)
            batch = batch.set_column(at, pa.field(PERSON, pa.string()), person)
            yield batch.append_column("__internal", internal)

    return rekey


def _rekeyed_schema(frame: Any) -> Any:
    """``frame``'s columns after :func:`_rekey`: the person a pseudonym string, and the
    internal pseudonym carried beside it."""
    from pyspark.sql.types import BinaryType, StringType, StructField, StructType

    fields = [
        StructField(PERSON, StringType(), False) if f.name == PERSON else f
        for f in frame.schema.fields
    ]
    return StructType([*fields, StructField("__internal", BinaryType(), False)])


def _ddl(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
