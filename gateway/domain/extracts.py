"""Extract specifications and their four-eyes state machine."""

from __future__ import annotations

import calendar
import datetime as dt
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from gateway.domain.catalogue import ColumnName, Identifier, IdentifierForm, OutputForm, Purpose
from gateway.domain.identifiers import MAX_FREE_TEXT, screened

Month = Annotated[str, StringConstraints(pattern=r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$")]
# Stored and audited with the specification: bounded, and screened for CPR-shaped numbers.
FreeText = Annotated[
    str,
    StringConstraints(max_length=MAX_FREE_TEXT),
    AfterValidator(screened("free text may not hold a CPR-shaped number")),
]


def month_start(month: str) -> dt.date:
    year, mon = (int(p) for p in month.split("-"))
    return dt.date(year, mon, 1)


def month_end(month: str) -> dt.date:
    year, mon = (int(p) for p in month.split("-"))
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def months_between(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last`` inclusive."""
    out, day = [], month_start(first)
    while day <= month_start(last):
        out.append(f"{day.year:04d}-{day.month:02d}")
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


MAX_RUNS = 24  # an approval never covers more runs than this
MAX_MONTHS = 120  # ten years: the longest period one specification may cover


class ExtractStatus(StrEnum):
    PENDING = "pending-approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"  # sent back for changes with a comment; the requester asks anew


# Who may move a specification from one state to the next; a test checks every state is covered.
TRANSITIONS: dict[ExtractStatus, frozenset[ExtractStatus]] = {
    ExtractStatus.PENDING: frozenset(
        {ExtractStatus.APPROVED, ExtractStatus.REJECTED, ExtractStatus.RETURNED}
    ),
    ExtractStatus.APPROVED: frozenset(),
    ExtractStatus.REJECTED: frozenset(),
    ExtractStatus.RETURNED: frozenset(),
}


class DatasetRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: Identifier
    columns: tuple[ColumnName, ...] = Field(min_length=1, max_length=200)


class Statistic(StrEnum):
    PERSONS = "persons"  # distinct persons per cell
    SUM = "sum"  # sum of an integer column per cell, checked per contributing person


MONTH_DIMENSION = "month"  # derived: each month of the period an event overlaps


class AggregateRequest(BaseModel):
    """A table of one dataset's rows: distinct persons, or a sum, by up to four dimensions:
    columns of the dataset that are categories, municipalities or months, or the derived
    ``month`` (of each event), ``gender`` and ``age_band`` (from the CPR, at ingestion)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: Identifier
    statistic: Statistic = Statistic.PERSONS
    value: ColumnName | None = Field(None, description="The integer column a sum adds up.")
    dimensions: tuple[ColumnName, ...] = Field((), max_length=4)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.statistic is Statistic.SUM) != (self.value is not None):
            raise ValueError("a sum needs 'value' (the column to add up); a count takes none")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError("a dimension is listed twice")
        return self


class ExtractSpec(BaseModel):
    """What a recipient asks for. The purpose is a closed set: a misspelling is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: Purpose
    datasets: tuple[DatasetRequest, ...] = Field(min_length=1, max_length=20)
    population: Identifier
    period_from: Month
    period_to: Month
    output: OutputForm = OutputForm.MICRODATA
    identifier: IdentifierForm = IdentifierForm.RECIPIENT_PSEUDONYM
    aggregate: AggregateRequest | None = Field(
        None, description="The table to compute when output is aggregate."
    )
    description: FreeText = ""
    runs: int = Field(
        1,
        ge=1,
        le=MAX_RUNS,
        description="How many times the approval lets this specification run (a re-run "
        "after a corrected delivery is a run); beyond it, ask for a new approval.",
    )
    valid_until: dt.date | None = Field(
        None,
        description="The last day the approval lets it run (none: no date, only the runs).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.period_to < self.period_from:
            raise ValueError("period_to is before period_from")
        if len(months_between(self.period_from, self.period_to)) > MAX_MONTHS:
            raise ValueError(f"the period spans more than {MAX_MONTHS} months")
        names = [d.dataset for d in self.datasets]
        if len(set(names)) != len(names):
            raise ValueError("a dataset is listed twice")
        if self.output is OutputForm.AGGREGATE:
            if self.aggregate is None:
                raise ValueError("an aggregate output needs 'aggregate' (the table to compute)")
            if self.aggregate.dataset not in names:
                raise ValueError("the aggregate's dataset is not among the requested datasets")
            if self.identifier is not IdentifierForm.RECIPIENT_PSEUDONYM:
                raise ValueError("an aggregate carries no person identifier")
        elif self.aggregate is not None:
            raise ValueError("'aggregate' is only for output: aggregate")
        return self

    @property
    def start(self) -> dt.date:
        return month_start(self.period_from)

    @property
    def end(self) -> dt.date:
        return month_end(self.period_to)

    @property
    def months(self) -> list[str]:
        return months_between(self.period_from, self.period_to)
