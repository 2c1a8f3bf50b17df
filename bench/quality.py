"""The quality report: what it costs during ingestion, and what it finds on the synthetic month.

Cost: the data plane's ``ingest`` (read, check, pseudonymise, write Parquet) of the same
1,000,000-row LPR-shaped file without the report and with it, alternating, so both see the
machine in the same state; the figure is the median of the per-pair ratios. The report is
computed on the checking thread, beside the pseudonymising and writing thread, so on two cores
it costs what it adds to the slower of the two.

Findings: every dataset of ``gateway synth`` for 2016-10 and 2016-11 (scale 1), each
November delivery judged against October's.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway.dataplane import synth, synth_sized
from gateway.dataplane.ingest import ingest
from gateway.dataplane.quality import QualityCounter
from gateway.domain import quality
from gateway.domain.catalogue import Catalogue
from gateway.domain.policy_files import load_catalogue

ROOT = Path(__file__).resolve().parent.parent
KEY = b"q" * 32


class _Discard(io.RawIOBase):
    """A sink that keeps nothing (the bench measures the data plane, not the disk)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(memoryview(data))


def _ingest(catalogue: Catalogue, dataset: str, body: bytes, period: str, counted: bool) -> Any:
    ds = catalogue.datasets[dataset]
    counter = QualityCounter(ds, period, list(catalogue.municipalities)) if counted else None
    report = ingest(
        lambda: io.BytesIO(body),
        ds,
        municipalities=list(catalogue.municipalities),
        pseudonym_key=KEY,
        sink=_Discard(),
        vault=_Discard(),
        quality=counter,
    )
    assert report.ok, report.problems[:3]
    return report, counter


def cost(rows: int = 1_000_000, repeats: int = 5) -> list[dict[str, Any]]:
    catalogue = load_catalogue(ROOT / "policies")
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        path = Path(tmp) / "lpr.csv"
        synth_sized.lpr_like(catalogue, path, rows=rows, persons=max(1, rows // 4))
        body = path.read_bytes()
    _ingest(catalogue, "lpr", body, "2016-11", True)  # warm up (imports, allocator)
    without: list[float] = []
    with_report: list[float] = []
    for _ in range(repeats):
        for counted, times in ((False, without), (True, with_report)):
            began = time.perf_counter()
            _ingest(catalogue, "lpr", body, "2016-11", counted)
            times.append(time.perf_counter() - began)
    ratio = statistics.median(w / b for w, b in zip(with_report, without, strict=True))
    on, off = statistics.median(with_report), statistics.median(without)
    print(
        f"  ingest without the report {off:.2f} s, with it {on:.2f} s (medians of {repeats})",
        flush=True,
    )
    return [
        {
            "figure": f"ingest {rows:,} rows with the quality report (data plane, in process), "
            f"median of {repeats} alternating pairs",
            "value": round(rows / on),
            "unit": "rows/s",
            "baseline": round(rows / off),
            "ratio": round(ratio, 3),
            "target": "time <= 1.10x the same ingest without the report",
            "holds": ratio <= 1.10,
        }
    ]


def findings(scale: float = 1.0) -> list[dict[str, Any]]:
    """Every dataset's November report against October, printed; one summary row."""
    catalogue = load_catalogue(ROOT / "policies")
    previous: dict[str, dict[str, Any]] = {}
    flagged = total = 0
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        for period, seed in (("2016-10", 2015), ("2016-11", 2016)):
            folder = Path(tmp) / period
            for f in synth.generate(catalogue, folder, period=period, seed=seed, scale=scale):
                if catalogue.datasets[f.dataset].collection_basis is None:
                    continue  # refused at the door: no report
                body = (folder / f.path).read_bytes()
                report, counter = _ingest(catalogue, f.dataset, body, period, True)
                assessed = quality.assess(
                    counter.figures(len(report.distinct_persons())),
                    catalogue.datasets[f.dataset].quality,
                    municipalities=list(catalogue.municipalities),
                    previous=previous.get(f.dataset),
                )
                previous[f.dataset] = {"delivery": f.path, "period": period, "quality": assessed}
                if period == "2016-11":
                    total += 1
                    flagged += assessed["status"] == "flagged"
                    print(f"  {_line(f.dataset, assessed)}", flush=True)
    return [
        {
            "figure": f"quality reports of the synthetic month 2016-11 (scale {scale}) against "
            "2016-10: deliveries flagged",
            "value": flagged,
            "unit": "deliveries",
            "baseline": total,
            "ratio": round(flagged / total, 2) if total else 0,
        }
    ]


def _line(dataset: str, r: dict[str, Any]) -> str:
    parts = [f"{dataset:20} {r['status']:7} {r['rows']:>7} rows {r['persons']:>6} persons"]
    if "coverage" in r:
        parts.append(f"{r['coverage']['delivered']}/{r['coverage']['of']} municipalities")
    events = r["events"]
    if events["outside_period"] or events["within_imprecision"]:
        parts.append(
            f"{events['outside_period']} outside the month"
            + (
                f", {events['within_imprecision']} within the dates' imprecision"
                if events["within_imprecision"]
                else ""
            )
        )
    if r["duplicates"]["rows"]:
        parts.append(f"{r['duplicates']['rows']} repeated")
    prev = r.get("previous")
    if prev and prev["rows_change"] is not None:
        parts.append(f"rows {prev['rows_change']:+.1%} vs {prev['period']}")
    line = "  ".join(parts)
    for flag in r["flags"]:
        line += f"\n{'':24}flag {flag['code']}: {flag['detail']}"
    return line
