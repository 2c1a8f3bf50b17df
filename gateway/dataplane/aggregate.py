"""Compute the table an aggregate extract specification asks for, from the linked events.

The linked event table (see :mod:`gateway.dataplane.link`) is built with internal pseudonyms:
for an aggregate nobody outside the hub ever sees a person key, so none is derived. The rows of
the requested dataset are then tabulated by the requested dimensions, every margin included,
and handed to the disclosure checker.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.dataplane.column_checks import BIRTH_YEAR, SEX
from gateway.dataplane.ingest import PERSON
from gateway.dataplane.tabulate import Dimension, count_persons, sum_per_person
from gateway.domain.catalogue import Catalogue, ColumnType
from gateway.domain.cpr import SEXES
from gateway.domain.disclosure import Tabulation
from gateway.domain.extracts import (
    MONTH_DIMENSION,
    AggregateRequest,
    ExtractSpec,
    Statistic,
    month_end,
    month_start,
)
from gateway.domain.release_plan import output_column
from gateway.errors import InvalidRequest

MONTH_COLUMN = "__month"
AGE_COLUMN = "__age_band"
GENDER = "gender"
AGE_BAND = "age_band"
# Age in the year the period starts, from the birth year derived from the CPR at ingestion.
AGE_BANDS = ("under 30", "30-39", "40-49", "50-59", "60 and over")
_AGE_EDGES = np.array([30, 40, 50, 60])


def person_columns(spec: ExtractSpec) -> tuple[str, ...]:
    """The derived person columns an aggregate's dimensions need."""
    dims = set(spec.aggregate.dimensions if spec.aggregate else ())
    return tuple(name for name, dim in ((SEX, GENDER), (BIRTH_YEAR, AGE_BAND)) if dim in dims)


def dimensions(catalogue: Catalogue, spec: ExtractSpec) -> list[Dimension]:
    """The spec's dimensions with their categories; an unusable dimension is an error that
    says why (only categories, municipalities and months make bounded, checkable tables)."""
    agg = _aggregate(spec)
    ds = catalogue.datasets[agg.dataset]
    requested = next(d.columns for d in spec.datasets if d.dataset == agg.dataset)
    out = []
    for name in agg.dimensions:
        if name not in ds.column_names:
            derived = {
                MONTH_DIMENSION: Dimension(name, MONTH_COLUMN, tuple(spec.months)),
                GENDER: Dimension(name, SEX, SEXES),
                AGE_BAND: Dimension(name, AGE_COLUMN, AGE_BANDS),
            }.get(name)
            if derived is not None:
                out.append(derived)
                continue
        if name not in requested:
            raise InvalidRequest(
                f"dimension '{name}' is not among the columns requested from '{ds.id}'"
            )
        kind = ds.column(name).type
        if kind is ColumnType.CATEGORY:
            levels = tuple(ds.column(name).values or ())
        elif kind is ColumnType.MUNICIPALITY:
            levels = tuple(sorted(catalogue.municipalities))
        elif kind is ColumnType.MONTH:
            levels = tuple(spec.months)
        else:
            raise InvalidRequest(
                f"dimension '{name}' is a {kind.value} column; dimensions must be categories, "
                "municipalities or months, or 'month', 'gender', 'age_band'"
            )
        out.append(Dimension(name, output_column(ds.id, name), levels))
    if agg.value is not None:
        if agg.value not in requested:
            raise InvalidRequest(f"value column '{agg.value}' is not among the requested columns")
        if ds.column(agg.value).type is not ColumnType.INTEGER:
            raise InvalidRequest(f"value column '{agg.value}' is not an integer column")
    return out


def _aggregate(spec: ExtractSpec) -> AggregateRequest:
    if spec.aggregate is None:
        raise InvalidRequest("the specification asks for no aggregate")
    return spec.aggregate


def _by_month(events: pa.Table, months: list[str]) -> pa.Table:
    """One copy of each event per month of the period it overlaps, tagged with the month."""
    parts = []
    for month in months:
        first = pa.scalar(month_start(month), pa.date32())
        last = pa.scalar(month_end(month), pa.date32())
        overlap = pc.and_kleene(
            pc.less_equal(events["event_start"], last),
            pc.or_kleene(
                pc.is_null(events["event_end"]), pc.greater_equal(events["event_end"], first)
            ),
        )
        part = events.filter(pc.fill_null(overlap, False))
        parts.append(part.append_column(MONTH_COLUMN, pa.repeat(pa.scalar(month), part.num_rows)))
    return pa.concat_tables(parts)


def tabulate(catalogue: Catalogue, spec: ExtractSpec, linked: pa.Table) -> Tabulation:
    """The requested table over the linked events (person = internal pseudonym)."""
    agg = _aggregate(spec)
    dims = dimensions(catalogue, spec)
    events = linked.filter(pc.equal(linked["dataset"], agg.dataset))
    if any(d.column == MONTH_COLUMN for d in dims):
        events = _by_month(events, spec.months)
    if any(d.column == AGE_COLUMN for d in dims):
        events = events.append_column(AGE_COLUMN, _age_bands(events[BIRTH_YEAR], spec))
    title = f"{agg.statistic.value} of {agg.dataset}" + (
        f" by {', '.join(agg.dimensions)}" if agg.dimensions else ""
    )
    notes = (
        f"population: {spec.population}; period {spec.period_from} to {spec.period_to}",
        "persons are counted once per cell, however many rows they have in it",
    )
    name = f"{agg.dataset}-{agg.statistic.value}"
    nested = implications(catalogue, spec, events)
    if agg.statistic is Statistic.SUM:
        assert agg.value is not None
        events = events.append_column("__value", events[output_column(agg.dataset, agg.value)])
        table = sum_per_person(
            name,
            title,
            events.select([PERSON, *_columns(dims), "__value"]),
            dims,
            "__value",
            notes=notes,
            label=f"sum_{agg.value}",
        )
    else:
        table = count_persons(name, title, events.select([PERSON, *_columns(dims)]), dims, notes)
    return dataclasses.replace(table, implications=nested)


def implications(
    catalogue: Catalogue, spec: ExtractSpec, events: pa.Table
) -> tuple[tuple[tuple[str, str], tuple[str, str]], ...]:
    """The dataset's declared implications, and those its rows show: a category value every
    row of which holds one and the same value of another category column (``contact_type =
    psykiatrisk`` only ever with ``diagnosis_chapter = F``). Such nesting lets an attacker
    subtract two tables' counts; the checker treats it as containment. Found on the rows the
    table is computed from, for every category column the specification read."""
    agg = _aggregate(spec)
    ds = catalogue.datasets[agg.dataset]
    found = set(catalogue.implications(ds.id))
    requested = next(d.columns for d in spec.datasets if d.dataset == agg.dataset)
    columns = [
        c
        for c in requested
        if ds.column(c).type is ColumnType.CATEGORY
        and output_column(ds.id, c) in events.schema.names
    ]
    for a, b in itertools.permutations(columns, 2):
        col_a, col_b = output_column(ds.id, a), output_column(ds.id, b)
        pairs = events.select([col_a, col_b]).group_by([col_a, col_b]).aggregate([])
        pairs = pairs.filter(pc.is_valid(pairs[col_a]))
        per_a = pairs.group_by([col_a]).aggregate([(col_b, "count"), ([], "count_all")])
        single = per_a.filter(
            pc.and_(pc.equal(per_a[f"{col_b}_count"], 1), pc.equal(per_a["count_all"], 1))
        )
        if not single.num_rows:
            continue
        lookup = pairs.filter(pc.is_in(pairs[col_a], value_set=single[col_a]))
        for x, y in zip(lookup[col_a].to_pylist(), lookup[col_b].to_pylist(), strict=True):
            found.add(((a, str(x)), (b, str(y))))
    return tuple(sorted(found))


def _age_bands(birth_year: pa.ChunkedArray, spec: ExtractSpec) -> pa.Array:
    years = birth_year.to_numpy(zero_copy_only=False)
    known = ~np.isnan(years.astype(float))
    age = spec.start.year - np.where(known, years, 0).astype(np.int64)
    labels = np.array(AGE_BANDS)[np.searchsorted(_AGE_EDGES, age, side="right")]
    return pa.array(labels, mask=~known)


def _columns(dims: list[Dimension]) -> list[str]:
    return list(dict.fromkeys(d.column for d in dims))
