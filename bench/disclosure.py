"""The disclosure checker's time: the resource-course report on full-scale synthetic data, and a
4-dimension table of about 100,000 cells checked against a ledger of 1,000 earlier releases.

Baselines in the same run: for the report, computing its tables (the checker's share of a run
is what is measured); for the big table, the same check without a ledger (the ledger's cost is
the ratio).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from gateway.config import Settings
from gateway.dataplane import ressourceforloeb, synth
from gateway.domain.disclosure import DisclosureRules, Tabulation, check
from gateway.domain.ledger import LedgerCells, differencing, table_cells
from gateway.identity.principal import Principal, Role
from gateway.services import deliveries
from gateway.services.bootstrap import open_runtime
from gateway.services.sealed import stored_reader

ROOT = Path(__file__).resolve().parent.parent


def _report() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-sdc-") as tmp:
        folder = Path(tmp)
        runtime = open_runtime(Settings(data_dir=folder / "var", policies_dir=ROOT / "policies"))
        ctx = runtime.context
        files = synth.generate(ctx.catalogue, folder / "src", period="2016-11", scale=1.0)
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
                upload=deliveries.BytesUpload((folder / "src" / f.path).read_bytes()),
            )
        began = time.perf_counter()
        data = ressourceforloeb.compute(ctx.catalogue, stored_reader(ctx, ["2016-11"]), "2016-11")
        computed = time.perf_counter() - began
        rules = ctx.catalogue.disclosure_rules(["dfdg-indsats", "dfdg-ydelse"])
        began = time.perf_counter()
        checked = [check(t, rules) for t in data.tables]
        elapsed = time.perf_counter() - began
        runtime.store.dispose()
    cells = sum(int(c.suppressed.size) for c in checked)
    return {
        "figure": f"checker: resource-course report, {len(checked)} tables, {cells:,} cells "
        "(full-scale synthetic data)",
        "value": round(elapsed * 1000, 1),
        "unit": "ms",
        "baseline": round(computed * 1000, 1),
        "ratio": round(elapsed / computed, 2),
    }


def _big_table(rng: np.random.Generator) -> Tabulation:
    sizes = (20, 20, 15, 15)  # 90,000 inner cells, 112,896 with margins
    inner = rng.poisson(8, size=sizes).astype(np.int64)
    cube = np.zeros([s + 1 for s in sizes], np.int64)
    cube[tuple(slice(0, s) for s in sizes)] = inner
    for axes in range(1, 16):  # margins: a person counted once in every cell it is in
        picked = [a for a in range(4) if axes >> a & 1]
        index = tuple(slice(-1, None) if a in picked else slice(0, sizes[a]) for a in range(4))
        cube[index] = inner.sum(axis=tuple(picked), keepdims=True)
    levels = tuple(tuple(f"l{i}" for i in range(s)) for s in sizes)
    return Tabulation("big", "big", ("a", "b", "c", "d"), levels, cube)


def _ledger(rng: np.random.Generator, cells: LedgerCells, releases: int, each: int) -> LedgerCells:
    picks = rng.integers(0, len(cells), size=releases * each)
    # Most earlier cells saw the same data (equal counts); some a different period or
    # population (a few to many persons apart).
    changed = rng.random(picks.size) < 0.05
    jitter = np.where(changed, rng.integers(-30, 31, size=picks.size), 0)
    return LedgerCells(
        cells.keys[picks],
        cells.labels[picks],
        cells.first[picks],
        cells.last[picks],
        np.maximum(cells.persons[picks] + jitter, 0),
    )


def _big() -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    table = _big_table(rng)
    rules = DisclosureRules()
    began = time.perf_counter()
    check(table, rules)
    plain = time.perf_counter() - began
    cells = table_cells(table, "dataset:bench", "2016-11", "2016-11")
    ledger = _ledger(rng, cells, releases=1_000, each=1_000)
    began = time.perf_counter()
    history = differencing(cells, ledger, rules.min_persons)
    checked = check(table, rules, history)
    elapsed = time.perf_counter() - began
    return [
        {
            "figure": f"checker: 4-dimension table of {table.persons.size:,} cells against a "
            f"ledger of 1,000 releases ({len(ledger):,} cells; {int(history.sum()):,} hidden "
            f"for differencing, {int(checked.suppressed.sum()):,} suppressed in all)",
            "value": round(elapsed, 2),
            "unit": "s",
            "baseline": round(plain, 2),
            "ratio": round(elapsed / plain, 2),
        }
    ]


def run() -> list[dict[str, Any]]:
    rows = [_report()]
    print(f"  {rows[0]['figure']}: {rows[0]['value']} ms", flush=True)
    rows += _big()
    return rows
