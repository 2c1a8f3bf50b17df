"""The disclosure checker's time, with its LP audit: the resource-course report on full-scale
synthetic data, and a 4-dimension table checked against a ledger of 1,000 earlier releases.

Baselines in the same run: for the report, computing its tables (the checker's share of a run
is what is measured); for the 4-dimension table, the same check without a ledger (the ledger's
cost is the ratio). Each row also says how many cells the rules hid, so the information the
protection costs is on record beside its time.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gateway.config import Settings
from gateway.dataplane import ressourceforloeb, synth
from gateway.dataplane.ingest import PERSON
from gateway.dataplane.tabulate import Dimension, count_persons
from gateway.domain.disclosure import CheckedTable, DisclosureRules, Method, Placement, check
from gateway.domain.disclosure import ledger as ledger_mod
from gateway.domain.principals import Principal, Role
from gateway.services.deliveries import ingest as deliveries
from gateway.services.deliveries.uploads import BytesUpload
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.platform.sealed import stored_reader

ROOT = Path(__file__).resolve().parent.parent


def _suppressed(checked: list[CheckedTable]) -> str:
    cells = sum(int(c.suppressed.size) for c in checked)
    hidden = sum(int(c.suppressed.sum()) for c in checked)
    return f"{hidden:,} of {cells:,} cells not shown ({100 * hidden / cells:.1f} %)"


def _report(scale: float) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-sdc-") as tmp:
        folder = Path(tmp)
        runtime = open_runtime(Settings(data_dir=folder / "var", policies_dir=ROOT / "policies"))
        ctx = runtime.context
        files = synth.generate(ctx.catalogue, folder / "src", period="2016-11", scale=scale)
        for f in files:
            ds = ctx.catalogue.datasets[f.dataset]
            if ds.collection_basis is None:
                continue
            deliveries.push_delivery(
                ctx,
                by=Principal(ds.owner, frozenset({Role.SOURCE})),
                source=ds.owner,
                dataset=f.dataset,
                period="2016-11",
                upload=BytesUpload((folder / "src" / f.path).read_bytes()),
            )
        began = time.perf_counter()
        data = ressourceforloeb.compute(ctx.catalogue, stored_reader(ctx, ["2016-11"]), "2016-11")
        computed = time.perf_counter() - began
        default = ctx.catalogue.disclosure_rules(["dfdg-indsats", "dfdg-ydelse"])
        rows = []
        for method in (Method.CELL_KEY, Method.SUPPRESSION):
            rules = default.with_method(method)
            began = time.perf_counter()
            checked = [check(t, rules, ptable=ctx.catalogue.ptable(rules)) for t in data.tables]
            elapsed = time.perf_counter() - began
            solves = sum(c.audit.solves for c in checked)
            rows.append(
                {
                    "figure": f"checker with LP audit ({method.value}): resource-course report, "
                    f"{len(checked)} tables, synthetic data at scale {scale:g}; {solves:,} "
                    f"linear programs; {_suppressed(checked)} (target: under 10 s)",
                    "value": round(elapsed, 2),
                    "unit": "s",
                    "baseline": round(computed, 2),
                    "ratio": round(elapsed / computed, 2),
                }
            )
        runtime.store.dispose()
    return rows


def _events(rng: np.random.Generator, persons: int) -> pa.Table:
    """Persons with a gender and an age band, and events by month and offer type."""
    keys = rng.integers(0, 256, size=(persons, 32), dtype=np.uint8)
    keys[:, :8] = np.arange(persons, dtype=np.uint64).view(np.uint8).reshape(persons, 8)
    per = rng.integers(1, 4, persons)
    who = np.repeat(np.arange(persons), per)
    start = rng.integers(1, 13, persons)
    month = np.minimum(
        12, start[who] + (np.arange(who.size) - np.repeat(np.cumsum(per) - per, per))
    )
    gender = rng.choice(["kvinde", "mand"], persons)
    age = rng.choice(AGES, persons, p=[0.2, 0.25, 0.25, 0.2, 0.1])
    offer = rng.choice(OFFERS, who.size, p=[0.45, 0.25, 0.15, 0.1, 0.05])
    return pa.table(
        {
            PERSON: pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(32), who.size, [None, pa.py_buffer(keys[who].tobytes())]
            ),
            "gender": gender[who],
            "age_band": age[who],
            "month": np.array([f"2016-{m:02d}" for m in range(1, 13)])[month - 1],
            "offer_type": offer,
        }
    )


AGES = ("under 30", "30-39", "40-49", "50-59", "60 and over")
OFFERS = ("vejledning", "mentor", "praktik", "loentilskud", "andet")
DIMS = {
    "gender": ("kvinde", "mand"),
    "age_band": AGES,
    "month": tuple(f"2016-{m:02d}" for m in range(1, 13)),
    "offer_type": OFFERS,
}


def _table(events: pa.Table, dims: tuple[str, ...]) -> Any:
    return count_persons("-".join(dims), "t", events, [Dimension(d, d, DIMS[d]) for d in dims])


def _ledger(rng: np.random.Generator, events: pa.Table, rules: DisclosureRules) -> Placement:
    """1,000 earlier releases of the same source: 10 of the same data (sub-tables of the
    4-dimension table, published in turn, linked to it in the LP), 990 of other years, and of
    this year's other versions and populations (the screen compares them cell by cell)."""
    source, basis = "dataset:bench", "same-data"
    linked: list[ledger_mod.LedgerTable] = []
    shapes = [
        ("gender", "age_band"),
        ("month",),
        ("offer_type", "gender"),
        ("age_band", "month"),
        ("offer_type", "month"),
        ("gender", "month"),
        ("offer_type", "age_band"),
        ("gender", "age_band", "month"),
        ("offer_type", "gender", "age_band"),
        ("offer_type", "month", "gender"),
    ]
    ptable = None
    for i, dims in enumerate(shapes):
        table = _table(events, dims)
        earlier = ledger_mod.LedgerCells.concat([t.cells for t in linked])
        placement = Placement(source, basis, "2016-01", "2016-12", earlier, tuple(linked))
        checked = check(table, rules, placement, ptable=ptable)
        cells = ledger_mod.table_cells(table, source, "2016-01", "2016-12").published(
            checked.lower.ravel(), checked.upper.ravel()
        )
        linked.append(
            ledger_mod.LedgerTable(
                f"rel-{i}", table.name, source, basis, "published", table.persons.shape, cells
            )
        )
    others = []
    for cells in (t.cells for t in linked):
        for k in range(99):
            # Other periods, versions and populations: most of other years (no month in
            # common), one in twenty of this year, where a twentieth of the counts differ (a
            # corrected delivery, another population) by a few to many persons.
            overlapping = k % 20 == 0
            shift = 0 if overlapping else 12 * (1 + k % 8)
            changed = rng.random(len(cells)) < 0.05
            jitter = np.where(changed, rng.integers(-30, 31, size=len(cells)), 0)
            moved = np.maximum(cells.persons + jitter, 0)
            others.append(
                ledger_mod.LedgerCells(
                    cells.keys,
                    cells.labels,
                    cells.first - shift,
                    cells.last - shift,
                    moved,
                    moved.astype(float),
                    moved.astype(float),
                )
            )
    earlier = ledger_mod.LedgerCells.concat([t.cells for t in linked] + others)
    return Placement(source, basis, "2016-01", "2016-12", earlier, tuple(linked))


def _big() -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    events = _events(rng, 18_462)
    dims = ("offer_type", "month", "gender", "age_band")
    table = _table(events, dims)
    rows = []
    for method in (Method.CELL_KEY, Method.SUPPRESSION):
        rules = DisclosureRules(method=method, audit_seconds=600)
        began = time.perf_counter()
        alone = check(table, rules)
        plain = time.perf_counter() - began
        placement = _ledger(rng, events, rules)
        began = time.perf_counter()
        checked = check(table, rules, placement)
        elapsed = time.perf_counter() - began
        rows.append(
            {
                "figure": f"checker with LP audit ({method.value}): 4-dimension table of "
                f"{table.persons.size:,} cells ({' x '.join(dims)}, 18,462 persons) against "
                f"a ledger of 1,000 releases ({len(placement.earlier):,} cells, "
                f"{len(placement.linked)} of the same data); {checked.audit.solves:,} linear "
                f"programs; {_suppressed([checked])} (alone: {_suppressed([alone])})",
                "value": round(elapsed, 2),
                "unit": "s",
                "baseline": round(plain, 2),
                "ratio": round(elapsed / plain, 2),
            }
        )
    return rows


def run() -> list[dict[str, Any]]:
    # Full scale, as the ministry runs it; and a twentieth of it, where municipalities are
    # small and the audit has many small counts to prove.
    rows = _report(1.0) + _report(0.05)
    for row in rows:
        print(f"  {row['figure']}: {row['value']} s", flush=True)
    rows += _big()
    return rows
