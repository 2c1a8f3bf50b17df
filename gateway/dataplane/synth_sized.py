"""Synthetic files of a chosen size for benchmarks and drills: rows shaped like a dataset's,
any number of them, for any number of persons (not the month's people: just load)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from gateway.dataplane.synth import SynthFile
from gateway.dataplane.synth_shared import People, date_array, dates, pick
from gateway.domain.catalogue import Catalogue
from gateway.domain.extracts import month_end, month_start


def lpr_like(
    catalogue: Catalogue, path: Path, *, rows: int, persons: int, seed: int = 6
) -> SynthFile:
    """An LPR delivery of exactly ``rows`` rows over ``persons`` distinct synthetic CPRs
    (for benchmarks: a month of national hospital contacts is about a million rows)."""
    rng = np.random.default_rng(seed)
    codes = np.array(sorted(catalogue.municipalities))
    people = People(rng, persons, codes)
    idx = rng.integers(0, persons, rows)
    cprs, kommune = people.take(idx, dashed=False)
    start = dates(rng, dt.date(2016, 11, 1), dt.date(2016, 11, 30), rows)
    chapters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    table = pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "contact_start": date_array(start),
            "contact_end": date_array(start + rng.integers(0, 5, rows), rng.random(rows) < 0.9),
            "contact_type": pick(rng, {"somatisk": 0.8, "psykiatrisk": 0.2}, rows),
            "diagnosis_chapter": pa.array(chapters[rng.integers(0, chapters.size, rows)]),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return SynthFile("lpr", "sundhedsdatastyrelsen", "2016-11", path.name, "csv", rows)


def rows_like(
    catalogue: Catalogue, dataset: str, *, rows: int, persons: int, seed: int, period: str
) -> pa.Table:
    """``rows`` schema-valid rows of any dataset over ``persons`` synthetic CPRs (the same
    persons for the same ``persons`` count, whatever the dataset), events in ``period``."""
    ds = catalogue.datasets[dataset]
    people = People(
        np.random.default_rng(persons), persons, np.array(sorted(catalogue.municipalities))
    )
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, persons, rows)
    cprs, kommune = people.take(idx, dashed=False)
    first, last = month_start(period), month_end(period)
    columns: dict[str, pa.Array] = {}
    for col in ds.columns:
        kind = col.type.value
        if kind == "cpr":
            columns[col.name] = cprs
        elif kind == "municipality":
            columns[col.name] = kommune
        elif kind == "date":
            valid = None if col.required else rng.random(rows) < 0.8
            columns[col.name] = date_array(dates(rng, first, last, rows), valid)
        elif kind == "month":
            columns[col.name] = pa.repeat(pa.scalar(period), rows)
        elif kind == "integer":
            columns[col.name] = pa.array(rng.integers(1, 5, rows))
        elif kind == "category":
            values = list(col.values or ())
            columns[col.name] = pa.array(np.array(values)[rng.integers(0, len(values), rows)])
        else:
            columns[col.name] = pa.repeat(pa.scalar("x"), rows)
    return pa.table(columns)
