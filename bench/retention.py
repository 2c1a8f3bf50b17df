"""The retention sweep: crypto-shredding 10,000 blobs, with the bookkeeping that makes each
erasure provable.

Setup: 5,000 small deliveries of five datasets (each two sealed blobs: the pseudonymised
Parquet and the re-identification vault), one per month from 1900-01 on, so every one is far
past its dataset's retention (15 years after its month) and the sweep erases all of them. Ingested
in-process (not the figure).

Figure: one ``sweep`` (plan, then per erasure: a begun row, key destroyed and synced, blob
deleted, a finished row, the delivery marked erased and one audit entry with its checkpoint).
Baseline, in the same run on the same disk: deleting the same number of files of the same
sizes with ``os.remove`` (no key destruction, no fsync, no database, no audit).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.dataplane import synth
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import ActorKind, Principal, Role
from gateway.services.deliveries import ingest
from gateway.services.deliveries.uploads import BytesUpload
from gateway.services.platform import installation
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.retention import erasure
from gateway.services.retention.erasure import SWEEPER

ROOT = Path(__file__).resolve().parent.parent
# Five datasets of three owners, 1,000 months each (the erasure does not depend on the data).
DATASETS = ("lpr", "ssr", "dfdg-indsats", "dfdg-ydelse", "flis-voksenhandicap")


def _months(count: int) -> list[str]:
    """``count`` months from 1900-01 on (all long past any dataset's retention)."""
    assert count <= 1_200, "at most 100 years of months per dataset"
    return [f"{1900 + i // 12}-{i % 12 + 1:02d}" for i in range(count)]


def run(deliveries: int = 5_000) -> list[dict[str, Any]]:
    catalogue = load_catalogue(ROOT / "policies")
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as tmp:
        folder = Path(tmp)
        files = synth.generate(catalogue, folder / "src", period="2016-11", seed=7, scale=0.01)
        settings = Settings(data_dir=folder / "var", policies_dir=ROOT / "policies")
        installation.init_keys(settings)
        runtime = open_runtime(settings)
        try:
            ctx = runtime.context
            per_dataset = 1_000
            chosen = [f for f in files if f.dataset in DATASETS]
            began = time.perf_counter()
            pushed = 0
            for f in chosen:
                body = (folder / "src" / f.path).read_bytes()
                source = Principal(f.source, frozenset({Role.SOURCE}), "bench", ActorKind.LOCAL)
                for period in _months(min(per_dataset, deliveries - pushed)):
                    ingest.push_delivery(
                        ctx,
                        by=source,
                        source=f.source,
                        dataset=f.dataset,
                        period=period,
                        upload=BytesUpload(body),
                        confirm=True,
                    )
                    pushed += 1
            setup = time.perf_counter() - began
            blobs_root = settings.resolved_blobs_dir
            sizes = [p.stat().st_size for p in blobs_root.rglob("*.gwb")]
            print(
                f"  {pushed:,} deliveries, {len(sizes):,} sealed blobs ingested in "
                f"{setup:.0f} s (setup)",
                flush=True,
            )
            began = time.perf_counter()
            result = erasure.sweep(ctx, by=SWEEPER)
            swept = time.perf_counter() - began
            assert len(result.erased) == pushed, (len(result.erased), pushed)
            assert not any(blobs_root.rglob("*.gwb")), "blobs left after the sweep"
        finally:
            runtime.close()
        plain = folder / "plain"
        plain.mkdir()
        for i, size in enumerate(sizes):
            (plain / f"{i}.bin").write_bytes(os.urandom(size))
        began = time.perf_counter()
        for path in plain.iterdir():
            os.remove(path)
        baseline = time.perf_counter() - began
    blobs = len(sizes)
    print(
        f"  sweep {swept:.1f} s for {blobs:,} blobs ({blobs / swept:,.0f} blobs/s); "
        f"plain delete {baseline:.2f} s",
        flush=True,
    )
    return [
        {
            "figure": f"retention sweep: {blobs:,} blobs crypto-shredded, {deliveries:,} audited "
            "erasures",
            "value": round(blobs / swept),
            "unit": "blobs/s",
            "baseline": round(blobs / baseline),
            "ratio": round(swept / baseline, 1),
            "target": ">= 170 blobs/s (10,000 within a minute)",
            "holds": blobs / swept >= 170,
        }
    ]
