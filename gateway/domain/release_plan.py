"""A linked release, compiled into a plan that any engine can execute.

The plan says what a release reads and keeps, in the catalogue's terms and nothing else: the
population's dataset, the values it must match (the recipient's own municipality included)
and the period it must overlap; for each dataset asked for, the columns that place a row in
time, the columns to keep and their names in the release. It holds no data, no keys and no
code. Engines execute it: the local engine with Arrow in the worker's process
(``gateway.dataplane.link``), the Spark engine on a cluster (``gateway.engines.spark``). As in
OpenSAFELY's ehrQL, one query model and several query engines; a differential test checks that
both give the same rows. Disclosure control, the ledger and the audit stay in the services,
which hand an engine a plan and read what it built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain.catalogue import Catalogue, ColumnType, Dataset
from gateway.domain.extracts import ExtractSpec
from gateway.errors import Forbidden

PERSON = "person"  # the stored person key (internal pseudonym), and the release's person column


@dataclass(frozen=True)
class Bounds:
    """The columns that place a dataset's row in time; month columns ("YYYY-MM") count from
    the first day of their month. No end: the row is an event on its start date."""

    start: str
    start_is_month: bool
    end: str | None
    end_is_month: bool

    @classmethod
    def of(cls, ds: Dataset) -> Bounds:
        def is_month(name: str | None) -> bool:
            return name is not None and ds.column(name).type is ColumnType.MONTH

        return cls(ds.event_start, is_month(ds.event_start), ds.event_end, is_month(ds.event_end))

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.start, *((self.end,) if self.end else ()))


@dataclass(frozen=True)
class PopulationStep:
    """The persons with a row of ``dataset`` overlapping the period and matching ``match``."""

    dataset: str
    bounds: Bounds
    match: tuple[tuple[str, str], ...]

    @property
    def read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((PERSON, *self.bounds.columns, *(c for c, _ in self.match))))


@dataclass(frozen=True)
class DatasetStep:
    """One dataset's rows overlapping the period, of persons in the population: the stored
    ``columns`` kept under the release's names ``outputs`` (``<dataset>__<column>``)."""

    dataset: str
    bounds: Bounds
    columns: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class LinkPlan:
    first: dt.date
    last: dt.date
    months: tuple[str, ...]
    population: PopulationStep | None  # None: everyone in the data
    steps: tuple[DatasetStep, ...]
    person_columns: tuple[str, ...] = ()  # stored facts about the person (aggregates' dimensions)

    def reads(self, step: DatasetStep) -> tuple[str, ...]:
        """The stored columns an engine reads for ``step``."""
        return tuple(
            dict.fromkeys((PERSON, *self.person_columns, *step.bounds.columns, *step.columns))
        )

    @property
    def datasets(self) -> tuple[str, ...]:
        """Every dataset the plan reads, the population's first."""
        first = (self.population.dataset,) if self.population else ()
        return tuple(dict.fromkeys((*first, *(s.dataset for s in self.steps))))


def output_column(dataset: str, column: str) -> str:
    """A dataset's column in a linked release, named apart from other datasets' columns."""
    return f"{dataset.replace('-', '_')}__{column}"


def compile_link(
    catalogue: Catalogue,
    spec: ExtractSpec,
    *,
    municipality: str | None = None,
    person_columns: Sequence[str] = (),
) -> LinkPlan:
    """The plan of ``spec``'s linked release. A population limited to the recipient's own
    municipality needs ``municipality`` (the recipient's code); without one it is refused,
    never widened to every municipality."""
    population = catalogue.populations[spec.population]
    step: PopulationStep | None = None
    if population.dataset is not None:
        match = dict(population.match)
        if population.own_municipality is not None:
            if municipality is None:
                raise Forbidden(
                    f"population '{population.id}' is limited to the recipient's own "
                    "municipality, and the recipient names none"
                )
            match[population.own_municipality] = municipality
        ds = catalogue.datasets[population.dataset]
        step = PopulationStep(ds.id, Bounds.of(ds), tuple(match.items()))
    steps = tuple(
        DatasetStep(
            wanted.dataset,
            Bounds.of(catalogue.datasets[wanted.dataset]),
            tuple(wanted.columns),
            tuple(output_column(wanted.dataset, c) for c in wanted.columns),
        )
        for wanted in spec.datasets
    )
    return LinkPlan(spec.start, spec.end, tuple(spec.months), step, steps, tuple(person_columns))
