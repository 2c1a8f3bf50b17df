"""Linking: a microdata release over dfdg-indsats and three 1,000,000-row datasets.

Baseline in the same run: reading the same four tables from plain Parquet, filtering them to
the population with ``pyarrow.compute.is_in`` and concatenating (the bare work of a release,
without decryption, pseudonyms, sealing or audit).
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gateway.config import Settings
from gateway.dataplane import synth_sized
from gateway.domain.extracts import ExtractSpec
from gateway.domain.principals import Principal, Role
from gateway.services.deliveries import ingest as deliveries
from gateway.services.deliveries.uploads import BytesUpload
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.releases import extracts

ROOT = Path(__file__).resolve().parent.parent
OTHERS = ("lpr", "ssr", "flis-voksenhandicap")


def push_sized(
    ctx: Any, sizes: dict[str, int], persons: int, keep: bool = True
) -> dict[str, pa.Table]:
    """Push synthetic deliveries of the given sizes (2016-11) through ingestion; returns the
    plain tables (for a baseline) unless ``keep`` is False (large runs)."""
    plain: dict[str, pa.Table] = {}
    for seed, (dataset, n) in enumerate(sizes.items()):
        table = synth_sized.rows_like(
            ctx.catalogue, dataset, rows=n, persons=persons, seed=seed, period="2016-11"
        )
        if keep:
            plain[dataset] = table
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        ds = ctx.catalogue.datasets[dataset]
        deliveries.push_delivery(
            ctx,
            by=Principal(ds.owner, frozenset({Role.SOURCE})),
            source=ds.owner,
            dataset=dataset,
            period="2016-11",
            upload=BytesUpload(buf.getvalue()),
        )
        del buf, table
    return plain


def statistics_spec(ctx: Any, sizes: dict[str, int]) -> ExtractSpec:
    """star-statistik's specification over the pushed datasets, every column its grants allow,
    for the month the pushes are of."""
    columns = {d: list(ctx.catalogue.grants_for("star-statistik", d)[0].columns) for d in sizes}
    return ExtractSpec.model_validate(
        {
            "purpose": "statistics",
            "population": "persons-in-resource-course",
            "period_from": "2016-11",
            "period_to": "2016-11",
            "datasets": [{"dataset": d, "columns": columns[d]} for d in sizes],
        }
    )


def run(rows: int = 1_000_000, persons: int = 250_000) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        folder = Path(tmp)
        runtime = open_runtime(Settings(data_dir=folder / "var", policies_dir=ROOT / "policies"))
        ctx = runtime.context
        sizes = {"dfdg-indsats": rows // 10, **dict.fromkeys(OTHERS, rows)}
        plain = push_sized(ctx, sizes, persons)
        print(
            f"  pushed dfdg-indsats ({rows // 10:,} rows) and {', '.join(OTHERS)} "
            f"({rows:,} rows each)",
            flush=True,
        )
        spec = statistics_spec(ctx, sizes)
        recipient = Principal("star-statistik", frozenset({Role.RECIPIENT}))
        ext = extracts.request_extract(ctx, by=recipient, spec=spec)
        extracts.decide_extract(
            ctx, by=Principal("dpo", frozenset({Role.APPROVER})), extract_id=ext.id, approve=True
        )
        began = time.perf_counter()
        release = extracts.run_release(ctx, by=recipient, extract_id=ext.id)
        elapsed = time.perf_counter() - began

        for dataset, table in plain.items():
            pq.write_table(table, folder / f"{dataset}.parquet")
        began = time.perf_counter()
        dfdg = pq.read_table(folder / "dfdg-indsats.parquet")
        population = pc.unique(
            dfdg.filter(pc.equal(dfdg["record_type"], "ressourceforloeb"))["cpr"]
        )
        parts = [pq.read_table(folder / f"{d}.parquet") for d in sizes]
        kept = [t.filter(pc.is_in(t["cpr"], value_set=population)).select(["cpr"]) for t in parts]
        pa.concat_tables(kept)
        baseline = time.perf_counter() - began
        runtime.store.dispose()
    return [
        {
            "figure": f"linked release: dfdg-indsats x {len(OTHERS)} datasets of {rows:,} "
            f"rows ({release.rows:,} rows, {release.persons:,} persons)",
            "value": round(elapsed, 2),
            "unit": "s",
            "baseline": round(baseline, 2),
            "ratio": round(elapsed / baseline, 1),
            "target": "<= 3 s",
            "holds": elapsed <= 3,
        }
    ]
