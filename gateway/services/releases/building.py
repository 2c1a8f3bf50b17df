"""Building a release on the engine its size calls for.

A specification is compiled into a plan (:mod:`gateway.domain.release_plan`) and executed by
the local engine (Arrow, in this process) or, where the operator configured a Spark master
(``GATEWAY_ENGINE``) and the plan's inputs hold at least ``GATEWAY_SPARK_MIN_ROWS`` rows, by
the Spark engine (:mod:`gateway.engines.spark`). A linked release's sealed blob is written
here, under the hub's keys; an aggregate's rows come back here to be counted. The caller
records either: the decision, the output checker, the audit entry and the subject index stay in
the services. Releases with CPR numbers (read back from the identity vaults) always build
locally: the vaults never leave the hub's process.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import structlog

from gateway.dataplane.aggregate import person_columns
from gateway.dataplane.ingest import PERSON
from gateway.dataplane.link import Identify, run_plan
from gateway.domain.extracts import ExtractSpec
from gateway.domain.release_plan import LinkPlan, compile_link
from gateway.engines import Built
from gateway.errors import GatewayError, ServiceUnavailable
from gateway.services.context import Context
from gateway.services.platform.sealed import MonthReader, seal_batches, seal_table
from gateway.services.releases.builds import BuildTracker

_log = structlog.get_logger("gateway.engines")
_SPARK: dict[str, Any] = {}  # one Spark session per process and master, started when first used
_LOCK = threading.Lock()


def input_rows(read: MonthReader, plan: LinkPlan) -> int:
    """The stored rows a plan reads (the current delivery of each month of each dataset)."""
    return sum(d.rows for dataset in plan.datasets for d in read.current(dataset))


def build_linked(
    ctx: Context,
    spec: ExtractSpec,
    read: MonthReader,
    identify: Identify,
    *,
    recipient_key: bytes | None,
    municipality: str | None,
    blob_key: str,
    tracker: BuildTracker | None = None,
) -> Built:
    """Build and seal ``spec``'s linked release into ``blob_key``. ``recipient_key`` None
    (a release with CPR numbers) keeps it on the local engine."""
    plan = compile_link(ctx.catalogue, spec, municipality=municipality)
    engine = ctx.engines.engine_for(input_rows(read, plan)) if recipient_key else "local"
    if tracker is not None:
        tracker.started(engine)
    if engine == "local":
        linked = run_plan(plan, read, identify)
        digest = seal_table(ctx, blob_key, linked.table)
        return Built(
            linked.table.num_rows,
            linked.persons,
            linked.rows_by_dataset,
            linked.internal_persons,
            digest,
            {"engine": "local"},
        )
    assert recipient_key is not None and ctx.engines.master is not None
    spark = _spark_engine(ctx)
    inputs = read.sealed_inputs(plan.datasets)

    def write(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> str:
        return seal_batches(ctx, blob_key, batches, schema)

    with _spark_failures(ctx):
        built: Built = spark.link(
            ctx.catalogue,
            plan,
            inputs,
            recipient_key,
            write,
            progress=None if tracker is None else tracker.progress,
        )
    return built


def aggregate_rows(
    ctx: Context,
    spec: ExtractSpec,
    read: MonthReader,
    *,
    municipality: str | None,
    tracker: BuildTracker | None = None,
) -> tuple[pa.Table, dict[str, str]]:
    """The linked rows an aggregate's table is counted from (under internal pseudonyms: no
    person key leaves the hub in a table), on the engine their size calls for, and what the
    audit entry says of the engine. Only the counted dataset and the population are read."""
    assert spec.aggregate is not None
    plan = compile_link(
        ctx.catalogue, spec, municipality=municipality, person_columns=person_columns(spec)
    )
    counted = spec.aggregate.dataset
    own = dataclasses.replace(plan, steps=tuple(s for s in plan.steps if s.dataset == counted))
    engine = ctx.engines.engine_for(input_rows(read, own))
    if tracker is not None:
        tracker.started(engine)
    if engine == "local":
        linked = run_plan(own, read, lambda internal: (PERSON, internal))
        return linked.table, {"engine": "local"}
    spark = _spark_engine(ctx)
    with _spark_failures(ctx):
        rows: tuple[pa.Table, dict[str, str]] = spark.rows(
            ctx.catalogue,
            own,
            read.sealed_inputs(own.datasets),
            counted,
            progress=None if tracker is None else tracker.progress,
        )
    return rows


@contextmanager
def _spark_failures(ctx: Context) -> Iterator[None]:
    """A Spark job's failure (after Spark's own retries) as a 503 that says nothing was
    released; the gateway's own errors pass as they are."""
    try:
        yield
    except GatewayError:
        raise
    except Exception as exc:
        _log.warning("spark job failed", error_type=type(exc).__name__, master=ctx.engines.master)
        raise ServiceUnavailable(
            "the Spark job that builds this release failed (its tasks were retried); nothing "
            "was released and no run of the approval was used: run it again, and if it fails "
            "again, ask the operator to look at the Spark cluster"
        ) from None


def _spark_engine(ctx: Context) -> Any:
    from gateway.engines.spark import SparkEngine

    master = ctx.engines.master
    assert master is not None
    with _LOCK:
        if master not in _SPARK:
            _SPARK[master] = SparkEngine(
                master, ctx.engines.work_dir, dict(ctx.engines.conf), owner=ctx.engines.owner
            )
        return _SPARK[master]
