"""The Spark engine: a linked release's plan executed on Apache Spark.

What runs where (the trust boundary, ``docs/scale.md``):

* The hub (the Spark driver, in the gateway's worker) unwraps the data key of each sealed
  input blob and hands the job those keys and the recipient's pseudonym key, in the tasks'
  closures (over Spark's authenticated, encrypted RPC). Executors never hold a key-encryption
  key, the master key or the subject-index key.
* Executors open their own slices (Parquet row groups of the sealed blobs, a few consecutive
  ones per task) with those data keys, keep the rows of the plan's period with Arrow, and pass
  on internal pseudonyms, never a CPR (the stored data hold none). The population is found
  first, gathered on the driver as a sorted set (:mod:`gateway.dataplane.person_set`) and
  broadcast, and each reading task keeps only its persons' rows. The same task re-keys the
  rows it keeps with the project's native HMAC kernel and seals the internal pseudonyms it
  released beside the parts (for the audit's subject index): each released row crosses from
  Python to the JVM once, and again on its way to the writer.
* The release is sorted without a sampling pass: pseudonyms are evenly spread HMAC outputs, so
  fixed ranges of their first two hex digits cut it into 256 parts of about equal size, each
  sorted whole by one task (:mod:`gateway.engines.spark_parts`).
* The sorted release is written by the executors, range by range, as sealed Parquet
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

import dataclasses
import os
import secrets
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from gateway.dataplane.person_set import PersonSet
from gateway.domain.catalogue import Catalogue
from gateway.domain.release_plan import PERSON, LinkPlan
from gateway.engines import JOB_PREFIX, Built, SealedInput
from gateway.engines.spark_parts import (
    STEP,
    WRITTEN,
    part_writer,
    read_parts,
    read_persons,
)
from gateway.engines.spark_progress import Progress, Watch
from gateway.engines.spark_scan import Slices
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
        _warm(session)
        self._session = session
        return session

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None

    @contextmanager
    def _job(
        self,
        catalogue: Catalogue,
        plan: LinkPlan,
        inputs: Sequence[SealedInput],
        progress: Progress | None,
    ) -> Iterator[_Job]:
        """One job's folder, key and reading tasks, with its population gathered and
        broadcast; everything of it deleted at its end, whatever happens."""
        spark = self.session()
        name = f"{JOB_PREFIX}{self.owner}-{secrets.token_hex(8)}"
        # The job group names this release's Spark jobs (this thread's only), so its progress
        # can be followed while it runs.
        spark.sparkContext.setJobGroup(name, "gateway release", interruptOnCancel=True)
        folder = self.work_dir / name
        folder.mkdir(parents=True)
        key = secrets.token_bytes(32)
        keys = {i.blob_id: i.data_key for i in inputs}
        slices = Slices(spark, catalogue, inputs, keys, plan, str(folder), key)
        persons = None
        try:
            with Watch(spark.sparkContext, name, progress):
                persons = _population(spark, slices, plan)
                yield _Job(spark, folder, key, slices, persons)
        finally:
            if persons is not None:
                persons.destroy()
            shutil.rmtree(folder, ignore_errors=True)

    def link(
        self,
        catalogue: Catalogue,
        plan: LinkPlan,
        inputs: Sequence[SealedInput],
        recipient_key: bytes,
        write: Any,
        progress: Progress | None = None,
    ) -> Built:
        """Execute ``plan`` and hand the sorted release, batch by batch, to
        ``write(batches: Iterator[pa.RecordBatch], schema)`` (the hub's sealing writer).
        ``progress(tasks_done, tasks_planned, jobs_done)`` is told how the job goes, about
        twice a second, from another thread."""
        from pyspark.sql import functions as F

        schema = release_schema(catalogue, plan)
        # Steps travel as their place in the release's order (dataset, then step).
        ranked = sorted(range(len(plan.steps)), key=lambda i: (plan.steps[i].dataset, i))
        names = [plan.steps[i].dataset for i in ranked]
        with self._job(catalogue, plan, inputs, progress) as job:
            union = None
            for index, dstep in enumerate(plan.steps):
                rows = job.slices.scan(
                    dstep.dataset,
                    list(plan.reads(dstep)),
                    dstep.bounds,
                    (recipient_key, f"{index}"),
                    job.persons,
                )
                rows = _selected(rows, plan, dstep, ranked.index(index))
                union = rows if union is None else union.unionByName(rows, allowMissingColumns=True)
            assert union is not None
            # A global sort without Spark's sampling job (which would run every scan twice):
            # pseudonyms are HMAC outputs, spread evenly, so their first two hex digits cut
            # the release into 256 ranges of about equal size, known in advance. Each range
            # goes whole to one task, which sorts it and writes it as its own part; the hub
            # reads the parts in the ranges' order.
            ordered = union.repartition(
                _partitions(job.spark), F.substring(F.col(PERSON), 1, BUCKET_DIGITS)
            ).sortWithinPartitions(
                F.col(PERSON).asc(),
                F.col("event_start").asc_nulls_last(),
                F.col(STEP).asc(),
                *[F.col(c).asc() for c in _ORDER],
            )
            # One action: each task writes its sealed parts and says what it wrote (the rows of
            # each step); the reading tasks left the released persons beside them.
            written = ordered.mapInArrow(
                part_writer(str(job.folder), job.key, schema, BUCKET_DIGITS, names), WRITTEN
            ).toArrow()
            sha = write(read_parts(_paths(written), job.key), schema)
            internal = read_persons(str(job.folder), job.key)
            counts = {step.dataset: 0 for step in plan.steps}
            for per_part in written["counts"].to_pylist():
                for rank, n in enumerate(per_part):
                    counts[names[rank]] += n
            return Built(
                sum(counts.values()), len(internal), counts, internal, sha, self._said(job)
            )

    def rows(
        self,
        catalogue: Catalogue,
        plan: LinkPlan,
        inputs: Sequence[SealedInput],
        dataset: str,
        progress: Progress | None = None,
    ) -> tuple[pa.Table, dict[str, str]]:
        """``plan``'s linked rows of ``dataset`` under internal pseudonyms, in no order: what
        an aggregate's table is counted from on the hub (the output checker, the ledger and
        the audit stay there). Nothing is re-keyed, sorted or shuffled: each reading task
        writes its rows as one sealed part, and the hub reads only the columns the table
        needs, of the one dataset it counts."""
        own = dataclasses.replace(plan, steps=tuple(s for s in plan.steps if s.dataset == dataset))
        schema = release_schema(catalogue, own, person=pa.binary(32))
        with self._job(catalogue, own, inputs, progress) as job:
            union = None
            for dstep in own.steps:
                rows = job.slices.scan(
                    dstep.dataset, list(own.reads(dstep)), dstep.bounds, None, job.persons
                )
                rows = _selected(rows, own, dstep, 0)
                union = rows if union is None else union.unionByName(rows, allowMissingColumns=True)
            assert union is not None
            written = union.mapInArrow(
                part_writer(str(job.folder), job.key, schema, 0, [dataset]), WRITTEN
            ).toArrow()
            batches = list(read_parts(_paths(written), job.key))
            return pa.Table.from_batches(batches, schema), self._said(job)

    def _said(self, job: _Job) -> dict[str, str]:
        """What the audit entry says of the engine: Spark, its master, the application."""
        app = job.spark.sparkContext.applicationId
        return {"engine": "spark", "spark_master": self.master, "spark_app_id": app}


@dataclass(frozen=True)
class _Job:
    spark: Any
    folder: Path
    key: bytes  # the one-job key that wraps the parts' data keys
    slices: Slices
    persons: Any  # the population, broadcast (None: everyone)


def _population(spark: Any, slices: Slices, plan: LinkPlan) -> Any:
    """The plan's population as a broadcast set of internal pseudonyms (None: everyone)."""
    from pyspark.sql import functions as F

    if plan.population is None:
        return None
    step = plan.population
    pop = slices.scan(step.dataset, list(step.read), step.bounds)
    for column, value in step.match:
        pop = pop.filter(F.col(column) == F.lit(value))
    # The population is a set of persons, far smaller than the events (a broadcast join would
    # gather it on the driver too): every reading task gets all of it and keeps only its
    # persons' rows before they cross to the JVM.
    found = pop.select(PERSON).distinct().toArrow()[PERSON].combine_chunks()
    return spark.sparkContext.broadcast(PersonSet.of(found).packed())


def _selected(rows: Any, plan: LinkPlan, step: Any, rank: int) -> Any:
    """A step's rows with the release's columns, its place in the order and its ties."""
    from pyspark.sql import functions as F

    return rows.select(
        F.col(PERSON),
        F.col("event_start"),
        F.col("event_end"),
        *[F.col(c) for c in plan.person_columns],
        *[F.col(c).alias(o) for c, o in zip(step.columns, step.outputs, strict=True)],
        F.lit(rank).alias(STEP),
        *[F.col(c) for c in _ORDER],
    )


def _paths(written: pa.Table) -> list[str]:
    """The parts the tasks wrote, in their ranges' order (empty ones left out)."""
    written = written.take(pc.sort_indices(written, sort_keys=[("bucket", "ascending")]))
    paths, rows = written["path"].to_pylist(), written["rows"].to_pylist()
    return [p for p, n in zip(paths, rows, strict=True) if n]


def _warm(session: Any) -> None:
    """Start the executors' Python workers and load the gateway's modules in them once, with
    the session, so a release does not wait for them (Spark keeps the workers for reuse)."""
    cores = max(1, int(session.sparkContext.defaultParallelism))
    session.range(cores, numPartitions=cores).mapInArrow(_loaded, "id LONG").count()


def _loaded(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import gateway.engines.spark  # noqa: F401 - what every task of a release imports

    yield from batches


def release_schema(
    catalogue: Catalogue, plan: LinkPlan, person: pa.DataType | None = None
) -> pa.Schema:
    """The release's columns and types, as the local engine makes them (``person``: the
    recipient's pseudonyms, or the internal ones an aggregate is counted from)."""
    from gateway.dataplane.ingest import stored_schema

    fields = [
        pa.field(PERSON, person or pa.string()),
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


BUCKET_DIGITS = 2  # the pseudonyms' first two hex digits: 256 ranges, one sealed part each
BUCKETS = 256


def _partitions(spark: Any) -> int:
    """Tasks that sort and write: two per core Spark offers, at most one per range."""
    cores = int(spark.sparkContext.defaultParallelism)
    return max(2, min(BUCKETS, 2 * cores))
