"""Extract specifications and their four-eyes state machine."""

from __future__ import annotations

import calendar
import datetime as dt
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gateway.domain.catalogue import ColumnName, Identifier, IdentifierForm, OutputForm, Purpose

Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


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


class ExtractStatus(StrEnum):
    PENDING = "pending-approval"
    APPROVED = "approved"
    REJECTED = "rejected"


# Who may move a specification from one state to the next; a test checks every state is covered.
TRANSITIONS: dict[ExtractStatus, frozenset[ExtractStatus]] = {
    ExtractStatus.PENDING: frozenset({ExtractStatus.APPROVED, ExtractStatus.REJECTED}),
    ExtractStatus.APPROVED: frozenset(),
    ExtractStatus.REJECTED: frozenset(),
}


class DatasetRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: Identifier
    columns: tuple[ColumnName, ...] = Field(min_length=1)


class ExtractSpec(BaseModel):
    """What a recipient asks for. The purpose is a closed set: a misspelling is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: Purpose
    datasets: tuple[DatasetRequest, ...] = Field(min_length=1)
    population: Identifier
    period_from: Month
    period_to: Month
    output: OutputForm = OutputForm.MICRODATA
    identifier: IdentifierForm = IdentifierForm.RECIPIENT_PSEUDONYM
    description: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.period_to < self.period_from:
            raise ValueError("period_to is before period_from")
        names = [d.dataset for d in self.datasets]
        if len(set(names)) != len(names):
            raise ValueError("a dataset is listed twice")
        if self.output is not OutputForm.MICRODATA:
            raise ValueError(
                "only microdata output is available; aggregates need disclosure control"
            )
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
