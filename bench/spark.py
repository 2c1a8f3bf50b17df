"""The Spark engine against the local engine: one linked release, the same sealed deliveries.

dfdg-indsats (the population, a tenth of the rows) and three datasets of ``rows`` rows each
are pushed through ingestion (sealed, pseudonymised), then one plan is built twice: by the
local engine (Arrow in this process; the baseline, measured in the same run) and by the Spark
engine on ``local[2]`` with the driver's memory (which is the executor in local mode) capped.
Spark's start-up (about ten seconds, paid once per worker process) is reported apart. Peak
memory: this process (pushes and the local engine) and Spark's JVM with its Python workers.
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.linking import ROOT, push_sized, statistics_spec
from gateway.config import Settings
from gateway.dataplane.link import pseudonymise_for, run_plan
from gateway.domain.release_plan import compile_link
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.platform.sealed import seal_batches, seal_table, stored_reader

OTHERS = ("lpr", "ssr", "flis-voksenhandicap")


def _gib(kib: int) -> float:
    return round(kib / (1 << 20), 2)


def _children_rss_kib() -> int:
    """The resident memory of every process below this one (Spark's JVM, its Python
    workers), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0] or 0)
    mine = {os.getpid()}
    grew = True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew = bool(below)
        mine |= below
    return sum(rss.get(pid, 0) for pid in mine if pid != os.getpid())


class _Peak:
    """Samples the children's memory every 0.2 s while a block runs."""

    def __enter__(self) -> _Peak:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _children_rss_kib())

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(rows: int = 10_000_000, memory: str = "4g", local: bool = True) -> list[dict[str, Any]]:
    """``local`` False skips the local engine (for sizes it cannot hold on this machine); the
    baseline is then Spark's own start-up."""
    from gateway.engines.spark import SparkEngine

    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        folder = Path(tmp)
        runtime = open_runtime(Settings(data_dir=folder / "var", policies_dir=ROOT / "policies"))
        ctx = runtime.context
        sizes = {"dfdg-indsats": rows // 10, **dict.fromkeys(OTHERS, rows)}
        push_sized(ctx, sizes, persons=max(1, rows // 4), keep=False)
        print(f"  pushed dfdg-indsats ({rows // 10:,}) and {', '.join(OTHERS)} ({rows:,} each)")
        spec = statistics_spec(ctx, sizes)
        plan = compile_link(ctx.catalogue, spec)
        key = ctx.keys.recipient_pseudonym_key("star-statistik", 1)

        local_seconds, local_rows = 0.0, -1
        if local:
            began = time.perf_counter()
            linked = run_plan(plan, stored_reader(ctx, spec.months), pseudonymise_for(key))
            seal_table(ctx, "releases/bench/local.gwb", linked.table)
            local_seconds = time.perf_counter() - began
            local_rows = linked.table.num_rows
            del linked
            print(f"  local engine: {local_seconds:.1f} s, {local_rows:,} rows", flush=True)
        local_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        engine = SparkEngine("local[2]", folder / "spark", conf={"spark.driver.memory": memory})
        began = time.perf_counter()
        engine.session()
        startup = time.perf_counter() - began
        began = time.perf_counter()
        with _Peak() as sampled:
            inputs = stored_reader(ctx, spec.months).sealed_inputs(plan.datasets)
            built = engine.link(
                ctx.catalogue,
                plan,
                inputs,
                key,
                lambda batches, schema: seal_batches(
                    ctx, "releases/bench/spark.gwb", batches, schema
                ),
            )
        spark = time.perf_counter() - began
        counted = _aggregate(ctx, spec, engine) if local else (0.0, 0.0, 0)
        engine.stop()
        spark_peak = sampled.peak
        runtime.store.dispose()
    assert not local or built.rows == local_rows, (built.rows, local_rows)
    (spark_count, local_count, cells) = counted
    label = f"dfdg-indsats x 3 x {rows:,} rows ({built.rows:,} released)"
    memory_row = {
        "figure": f"peak memory, Spark JVM and Python workers ({label})",
        "value": _gib(spark_peak),
        "unit": "GiB",
        "baseline": _gib(local_peak),
        "ratio": round(spark_peak / local_peak, 2),
        "target": f"bounded by the {memory} cap (baseline: this process's peak)",
        "holds": True,
    }
    if not local:
        return [
            {
                "figure": f"linked release on Spark local[2], driver {memory}, local engine "
                f"not run: {label}",
                "value": round(spark, 1),
                "unit": "s",
                "baseline": round(startup, 1),
                "ratio": round(spark / startup, 1),
                "target": "completes in bounded memory",
                "holds": True,
            },
            memory_row,
        ]
    aggregate_row = {
        "figure": f"aggregate (persons in lpr by contact type, month and gender, {cells} cells) "
        f"counted from Spark's rows vs the local engine's ({label})",
        "value": round(spark_count, 1),
        "unit": "s",
        "baseline": round(local_count, 1),
        "ratio": round(spark_count / local_count, 1),
        "target": "the same table (asserted); reported",
        "holds": True,
    }
    return [
        aggregate_row,
        {
            "figure": f"linked release on Spark local[2], driver {memory}: {label}",
            "value": round(spark, 1),
            "unit": "s",
            "baseline": round(local_seconds, 1),
            "ratio": round(spark / local_seconds, 1),
            "target": "<= 3 x the local engine",
            "holds": spark <= 3 * local_seconds,
        },
        {
            "figure": "Spark session start-up (once per worker process)",
            "value": round(startup, 1),
            "unit": "s",
            "baseline": round(local_seconds, 1),
            "ratio": round(startup / local_seconds, 2),
            "target": "reported",
            "holds": True,
        },
        memory_row,
    ]


def _aggregate(ctx: Any, spec: Any, engine: Any) -> tuple[float, float, int]:
    """An aggregate of the pushed hospital contacts, its rows linked by each engine and the
    table counted from them on the hub; the two tables must be equal."""
    import dataclasses

    import numpy as np

    from gateway.dataplane.aggregate import person_columns, tabulate
    from gateway.domain.extracts import ExtractSpec

    lpr = next(d for d in spec.datasets if d.dataset == "lpr")
    counted = ExtractSpec.model_validate(
        {
            **spec.model_dump(mode="json"),
            "datasets": [{"dataset": "lpr", "columns": list(lpr.columns)}],
            "output": "aggregate",
            "aggregate": {
                "dataset": "lpr",
                "statistic": "persons",
                "dimensions": ["contact_type", "month", "gender"],
            },
        }
    )
    plan = compile_link(ctx.catalogue, counted, person_columns=person_columns(counted))
    own = dataclasses.replace(plan, steps=tuple(s for s in plan.steps if s.dataset == "lpr"))
    began = time.perf_counter()
    rows, _said = engine.rows(
        ctx.catalogue, own, stored_reader(ctx, counted.months).sealed_inputs(own.datasets), "lpr"
    )
    on_spark = tabulate(ctx.catalogue, counted, rows)
    spark = time.perf_counter() - began
    del rows
    began = time.perf_counter()
    linked = run_plan(own, stored_reader(ctx, counted.months), lambda i: ("person", i))
    here = tabulate(ctx.catalogue, counted, linked.table)
    local = time.perf_counter() - began
    assert np.array_equal(on_spark.persons, here.persons)
    print(f"  aggregate: Spark {spark:.1f} s, local {local:.1f} s", flush=True)
    return spark, local, int(here.persons.size)
