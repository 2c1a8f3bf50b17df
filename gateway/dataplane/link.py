"""Build a linked microdata release: persons in the population, events in the period, one key.

The release is an event table in long form, the usual shape for linked register data: one row
per event (a resource-course period, an offer, a hospital contact, a GP service ...) with

    person | dataset | event_start | event_end | <dataset>__<column> ...

so every dataset's rows share one person key (the recipient's pseudonym) and the recipient can
follow each person across sources, but only for persons inside the grant's population and only
for events overlapping the extract period. Columns of one dataset are null on another's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.crypto.pseudonyms import recipient_pseudonyms
from gateway.dataplane.ingest import PERSON
from gateway.domain.catalogue import Catalogue
from gateway.domain.extracts import ExtractSpec
from gateway.domain.release_plan import Bounds, LinkPlan, compile_link

# Reads the stored rows of a dataset for the spec's months: (dataset id, columns) -> table.
StoredReader = Callable[[str, Sequence[str]], pa.Table]
# Turns internal pseudonyms into the identifier the recipient receives: (column name, values).
Identify = Callable[[pa.Array], tuple[str, pa.Array]]


def pseudonymise_for(recipient_key: bytes) -> Identify:
    """The default identifier: the recipient's own pseudonym (column ``person``)."""

    def identify(internal: pa.Array) -> tuple[str, pa.Array]:
        return PERSON, recipient_pseudonyms(internal, recipient_key)

    return identify


@dataclass(frozen=True)
class LinkedRelease:
    table: pa.Table
    persons: int
    rows_by_dataset: dict[str, int]
    internal_persons: pa.Array  # distinct internal pseudonyms released (for the audit index)


def _as_dates(values: pa.ChunkedArray | pa.Array, is_month: bool) -> pa.Array:
    if is_month:
        return pc.cast(
            pc.strptime(
                pc.binary_join_element_wise(values, "01", "-"),
                format="%Y-%m-%d",
                unit="s",
                error_is_null=True,
            ),
            pa.date32(),
        )
    return values


def event_bounds(table: pa.Table, bounds: Bounds) -> tuple[pa.Array, pa.Array]:
    start = _as_dates(table[bounds.start], bounds.start_is_month)
    end = _as_dates(table[bounds.end], bounds.end_is_month) if bounds.end else start
    return start, end


def overlapping(table: pa.Table, bounds: Bounds, first: dt.date, last: dt.date) -> pa.Array:
    start, end = event_bounds(table, bounds)
    starts_in_time = pc.less_equal(start, pa.scalar(last, pa.date32()))
    open_or_after = pc.or_kleene(
        pc.is_null(end), pc.greater_equal(end, pa.scalar(first, pa.date32()))
    )
    return pc.fill_null(pc.and_kleene(starts_in_time, open_or_after), False)


def population_persons(plan: LinkPlan, read: StoredReader) -> pa.Array | None:
    """Internal pseudonyms of the plan's population, or None when it is everyone."""
    step = plan.population
    if step is None:
        return None
    table = read(step.dataset, list(step.read))
    keep = overlapping(table, step.bounds, plan.first, plan.last)
    for column, value in step.match:
        keep = pc.and_(keep, pc.fill_null(pc.equal(table[column], value), False))
    return pc.unique(table.filter(keep)[PERSON].combine_chunks())


def _prefix(persons: pa.Array) -> pa.Array:
    """The first 8 bytes of each 32-byte pseudonym as an integer (cheap to hash)."""
    raw = np.frombuffer(persons.buffers()[1], dtype=np.uint8)
    rows = raw[persons.offset * 32 : (persons.offset + len(persons)) * 32].reshape(-1, 32)
    return pa.array(np.ascontiguousarray(rows[:, :8]).view(np.uint64).ravel())


def members(persons: pa.ChunkedArray | pa.Array, population: pa.Array) -> pa.Array:
    """Whether each 32-byte pseudonym is in ``population``: looked up by its 8-byte prefix (an
    integer hash), then confirmed on all 32 bytes, so a prefix collision can never let a person
    outside the population in; if two members share a prefix, the plain lookup is used."""
    if isinstance(persons, pa.ChunkedArray):
        persons = persons.combine_chunks()
    if persons.null_count or population.null_count or not len(persons) or not len(population):
        return pc.is_in(persons, value_set=population)
    keys = _prefix(population)
    if len(pc.unique(keys)) != len(pc.unique(population)):
        return pc.is_in(persons, value_set=population)  # two members share a prefix
    position = pc.index_in(_prefix(persons), value_set=keys).to_numpy(zero_copy_only=False)
    candidate = np.flatnonzero(~np.isnan(position))
    at = pa.array(candidate)
    matched = pc.take(population, pa.array(position[candidate].astype(np.int64)))
    confirmed = pc.equal(matched, pc.take(persons, at)).to_numpy(zero_copy_only=False)
    mask = np.zeros(len(persons), dtype=bool)
    mask[candidate[confirmed]] = True
    return pa.array(mask)


def _release_order(linked: pa.Table, name: str) -> pa.Array:
    """Row order of a release: by person identifier, event start, dataset name. Sorting on
    integer ranks of the identifier and the dataset is much cheaper than on the strings."""
    encoded = pc.dictionary_encode(linked[name].combine_chunks())
    person_rank = pc.take(pc.rank(encoded.dictionary, sort_keys="ascending"), encoded.indices)
    names = sorted(pc.unique(linked["dataset"]).to_pylist())
    dataset_rank = pc.index_in(linked["dataset"], value_set=pa.array(names, pa.string()))
    keys = pa.table({"p": person_rank, "s": linked["event_start"], "d": dataset_rank})
    return pc.sort_indices(
        keys, sort_keys=[("p", "ascending"), ("s", "ascending"), ("d", "ascending")]
    )


def build_release(
    catalogue: Catalogue,
    spec: ExtractSpec,
    read: StoredReader,
    identify: Identify,
    person_columns: Sequence[str] = (),
    municipality: str | None = None,
) -> LinkedRelease:
    """Link the spec's datasets on the person, limited to its population and period: its
    plan (:func:`gateway.domain.release_plan.compile_link`) run by the local engine.

    ``person_columns`` adds stored columns about the person (the birth year and sex derived
    at ingestion) under their own names; only aggregates ask for them, as dimensions."""
    plan = compile_link(catalogue, spec, municipality=municipality, person_columns=person_columns)
    return run_plan(plan, read, identify)


def run_plan(plan: LinkPlan, read: StoredReader, identify: Identify) -> LinkedRelease:
    """The local engine: the plan executed with Arrow in this process."""
    persons = population_persons(plan, read)
    parts: list[pa.Table] = []
    counts: dict[str, int] = {}
    for step in plan.steps:
        table = read(step.dataset, list(plan.reads(step)))
        keep = overlapping(table, step.bounds, plan.first, plan.last)
        if persons is not None:
            keep = pc.and_(keep, members(table[PERSON], persons))
        table = table.filter(keep)
        start, end = event_bounds(table, step.bounds)
        columns = {
            PERSON: table[PERSON],
            "dataset": pa.repeat(pa.scalar(step.dataset, pa.string()), table.num_rows),
            "event_start": start,
            "event_end": end,
        }
        for name in plan.person_columns:
            columns[name] = table[name]
        for name, output in zip(step.columns, step.outputs, strict=True):
            columns[output] = table[name]
        parts.append(pa.table(columns))
        counts[step.dataset] = table.num_rows
    linked = pa.concat_tables(parts, promote_options="default")
    internal = linked[PERSON].combine_chunks()
    name, identifiers = identify(internal)
    linked = linked.set_column(0, name, identifiers)
    linked = linked.take(_release_order(linked, name))
    distinct = pc.count_distinct(linked[name]).as_py() if linked.num_rows else 0
    return LinkedRelease(linked, int(distinct), counts, pc.unique(internal))
