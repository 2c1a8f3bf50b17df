"""Turn event rows into the cubes the disclosure checker works on, margins included.

The input is a table with one row per event and a ``person`` column (internal pseudonyms; the
recipient never sees them). For every subset of the dimensions (2^d group-bys, d is small) the
cells are counted in distinct persons, or, for sums, each person's contribution to a cell is
added up first and the cell keeps its total, its largest contributions, and how many persons
contributed a negative amount. Everything is Arrow group-bys and numpy; no loop per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.dataplane.ingest import PERSON
from gateway.domain.disclosure import SumStats, Tabulation
from gateway.domain.disclosure.ptable import record_keys

MAX_DIMENSIONS = 4


@dataclass(frozen=True)
class Dimension:
    """A dimension of a table: its name, the events column it reads, its categories in order."""

    name: str
    column: str
    levels: tuple[str, ...]


def _codes(events: pa.Table, dims: Sequence[Dimension]) -> tuple[pa.Table, int]:
    """Events with each dimension as an integer code; rows outside the categories dropped."""
    if len(dims) > MAX_DIMENSIONS:
        raise ValueError(f"at most {MAX_DIMENSIONS} dimensions per table")
    cols = {PERSON: events[PERSON]}
    keep = pa.array(np.ones(events.num_rows, bool))
    for i, dim in enumerate(dims):
        values = pc.cast(events[dim.column], pa.string())
        code = pc.index_in(values, value_set=pa.array(dim.levels, pa.string()))
        cols[f"c{i}"] = code
        keep = pc.and_(keep, pc.is_valid(code))
    for extra in events.column_names:
        if extra not in cols and extra not in {d.column for d in dims}:
            cols[extra] = events[extra]
    coded = pa.table(cols)
    kept = coded.filter(keep)
    return kept, events.num_rows - kept.num_rows


def _patterns(d: int) -> list[tuple[bool, ...]]:
    return list(itertools.product((True, False), repeat=d))


def _cube_index(
    groups: pa.Table, kept: tuple[bool, ...], dims: Sequence[Dimension]
) -> tuple[np.ndarray, ...]:
    n = groups.num_rows
    return tuple(
        groups[f"c{i}"].to_numpy().astype(np.intp)
        if kept[i]
        else np.full(n, len(dim.levels), np.intp)
        for i, dim in enumerate(dims)
    )


def _shape(dims: Sequence[Dimension]) -> tuple[int, ...]:
    return tuple(len(d.levels) + 1 for d in dims)


def _record_keys(persons: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each row's record key (uint64 holding 0..255) from its 32-byte internal pseudonym."""
    if isinstance(persons, pa.ChunkedArray):
        persons = persons.combine_chunks()
    raw = np.frombuffer(persons.buffers()[1], dtype=np.uint8)
    rows = raw[persons.offset * 32 : (persons.offset + len(persons)) * 32].reshape(-1, 32)
    return pa.array(record_keys(rows).astype(np.uint64))


def key_sums(pairs: pa.Table, dims: Sequence[Dimension]) -> np.ndarray:
    """Per cell and margin: the sum of its distinct persons' record keys (the cell-key
    method reads its noise at this sum modulo the p-table's keys). ``pairs`` holds the person
    and the coded dimensions."""
    keys = [f"c{i}" for i in range(len(dims))]
    table = pairs.select([PERSON, *keys]).append_column("rk", _record_keys(pairs[PERSON]))
    sums = np.zeros(_shape(dims), np.uint64)
    for kept in _patterns(len(dims)):
        by = [k for k, on in zip(keys, kept, strict=True) if on]
        distinct = table.group_by([PERSON, *by]).aggregate([("rk", "min")])
        if by:
            groups = distinct.group_by(by).aggregate([("rk_min", "sum")])
            sums[_cube_index(groups, kept, dims)] = groups["rk_min_sum"].to_numpy()
        else:
            sums[(-1,) * len(dims)] = pc.sum(distinct["rk_min"]).as_py() or 0
    return sums


def count_persons(
    name: str,
    title: str,
    events: pa.Table,
    dims: Sequence[Dimension],
    notes: Sequence[str] = (),
) -> Tabulation:
    """Distinct persons per cell and per margin."""
    coded, dropped = _codes(events, dims)
    keys = [f"c{i}" for i in range(len(dims))]
    pairs = coded.select([PERSON, *keys]).group_by([PERSON, *keys]).aggregate([])
    persons = np.zeros(_shape(dims), np.int64)
    for kept in _patterns(len(dims)):
        by = [k for k, on in zip(keys, kept, strict=True) if on]
        if by:
            groups = pairs.group_by(by).aggregate([(PERSON, "count_distinct")])
            persons[_cube_index(groups, kept, dims)] = groups[f"{PERSON}_count_distinct"].to_numpy()
        else:
            persons[(-1,) * len(dims)] = pc.count_distinct(pairs[PERSON]).as_py()
    return _tabulation(
        name, title, dims, persons, _notes(notes, dropped), keys=key_sums(pairs, dims)
    )


def sum_per_person(
    name: str,
    title: str,
    events: pa.Table,
    dims: Sequence[Dimension],
    value: str,
    *,
    top: int = 2,
    notes: Sequence[str] = (),
    label: str | None = None,
) -> Tabulation:
    """Sums per cell and margin, with each cell's largest per-person contributions (for the
    dominance and p-percent rules), negative contributors and missing values."""
    coded, dropped = _codes(events, dims)
    keys = [f"c{i}" for i in range(len(dims))]
    values = pc.cast(coded[value], pa.float64())
    base = pa.table(
        {
            PERSON: coded[PERSON],
            **{k: coded[k] for k in keys},
            "v": values,
            "missing": pc.cast(pc.is_null(values), pa.int64()),
        }
    )
    per_person = base.group_by([PERSON, *keys]).aggregate([("v", "sum"), ("missing", "sum")])
    per_person = per_person.rename_columns(
        [c.replace("v_sum", "v").replace("missing_sum", "missing") for c in per_person.column_names]
    )
    shape = _shape(dims)
    persons = np.zeros(shape, np.int64)
    total = np.zeros(shape, np.float64)
    largest = np.zeros((*shape, top), np.float64)
    negative = np.zeros(shape, np.int64)
    missing = np.zeros(shape, np.int64)
    for kept in _patterns(len(dims)):
        by = [k for k, on in zip(keys, kept, strict=True) if on]
        contrib = per_person.group_by([*by, PERSON]).aggregate([("v", "sum"), ("missing", "sum")])
        v = pc.fill_null(contrib["v_sum"], 0.0)
        contrib = contrib.append_column("neg", pc.cast(pc.less(v, 0.0), pa.int64()))
        contrib = contrib.set_column(contrib.schema.get_field_index("v_sum"), "v_sum", v)
        if by:
            groups = contrib.group_by(by).aggregate(
                [
                    (PERSON, "count_distinct"),
                    ("v_sum", "sum"),
                    ("neg", "sum"),
                    ("missing_sum", "sum"),
                ]
            )
            where = _cube_index(groups, kept, dims)
            persons[where] = groups[f"{PERSON}_count_distinct"].to_numpy()
            total[where] = groups["v_sum_sum"].to_numpy()
            negative[where] = groups["neg_sum"].to_numpy()
            missing[where] = groups["missing_sum_sum"].to_numpy()
            ordered = contrib.sort_by([(k, "ascending") for k in by] + [("v_sum", "descending")])
            group_keys = np.stack([ordered[k].to_numpy() for k in by], axis=1)
        else:
            where = (np.array([-1]),) * len(dims)
            persons[where] = contrib.num_rows
            total[where] = pc.sum(contrib["v_sum"]).as_py() or 0.0
            negative[where] = pc.sum(contrib["neg"]).as_py() or 0
            missing[where] = pc.sum(contrib["missing_sum"]).as_py() or 0
            ordered = contrib.sort_by([("v_sum", "descending")])
            group_keys = np.zeros((ordered.num_rows, 1), np.int64)
        _fill_largest(largest, ordered, group_keys, kept, dims, top)
    sums = SumStats(total, largest, negative, missing)
    return _tabulation(
        name,
        title,
        dims,
        persons,
        _notes(notes, dropped),
        sums,
        label or f"sum_{value}",
        keys=key_sums(per_person, dims),
    )


def _tabulation(
    name: str,
    title: str,
    dims: Sequence[Dimension],
    persons: np.ndarray,
    notes: tuple[str, ...],
    sums: SumStats | None = None,
    value_name: str = "sum",
    *,
    keys: np.ndarray | None = None,
) -> Tabulation:
    return Tabulation(
        name,
        title,
        tuple(d.name for d in dims),
        tuple(d.levels for d in dims),
        persons,
        sums=sums,
        value_name=value_name,
        notes=notes,
        key_sums=keys,
    )


def _fill_largest(
    largest: np.ndarray,
    ordered: pa.Table,
    group_keys: np.ndarray,
    kept: tuple[bool, ...],
    dims: Sequence[Dimension],
    top: int,
) -> None:
    """Write the ``top`` largest contributions of each group (rows sorted by group, value desc)."""
    n = ordered.num_rows
    if n == 0:
        return
    new_group = np.ones(n, bool)
    new_group[1:] = (group_keys[1:] != group_keys[:-1]).any(axis=1)
    starts = np.flatnonzero(new_group)
    rank = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    take = rank < top
    index = _cube_index(ordered.filter(pa.array(take)), kept, dims)
    largest[(*index, rank[take])] = ordered["v_sum"].to_numpy()[take]


def _notes(notes: Sequence[str], dropped: int) -> tuple[str, ...]:
    extra = [f"{dropped} rows outside the table's categories were left out"] if dropped else []
    return (*notes, *extra)
