"""The catalogue: sources, datasets, recipients, populations and grants (legal bases).

These are the typed form of the reviewed files in ``policies/``. They are frozen values;
``gateway.domain.policy_files`` loads and cross-checks them. Unknown keys are errors
(``extra="forbid"``) so a misspelt field can never silently mean "no restriction".
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from gateway.domain.disclosure import DisclosureRules, Method, Scope
from gateway.domain.disclosure.ptable import PTable, generated, load_cached
from gateway.domain.identifiers import screened
from gateway.domain.principals import FourEyes
from gateway.domain.quality import QualityRules
from gateway.domain.retention_terms import DeliveryRetention, Dpia, ReleaseRetention

# Identifiers and column names reach audit entries and logs: strict, bounded, never CPR-shaped.
Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", max_length=64),
    AfterValidator(screened("an identifier may not hold a CPR-shaped number")),
]
ColumnName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64),
    AfterValidator(screened("a column name may not hold a CPR-shaped number")),
]
Citation = Annotated[str, StringConstraints(min_length=10, strip_whitespace=True)]


class Purpose(StrEnum):
    """Why data is used. Statistics-only data feeds statistics and analysis, not administration."""

    STATISTICS = "statistics"
    ANALYSIS = "analysis"
    ADMINISTRATION = "administration"


class OutputForm(StrEnum):
    MICRODATA = "microdata"
    AGGREGATE = "aggregate"


class IdentifierForm(StrEnum):
    """How persons appear in a release: a recipient-specific pseudonym unless a basis allows CPR."""

    RECIPIENT_PSEUDONYM = "recipient-pseudonym"
    CPR = "cpr"


class ColumnType(StrEnum):
    CPR = "cpr"
    DATE = "date"
    MONTH = "month"
    INTEGER = "integer"
    STRING = "string"
    CATEGORY = "category"
    MUNICIPALITY = "municipality"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    id: Identifier
    name: str
    kind: str = Field(description="authority, statistics office, municipality, agency")


class Column(_Frozen):
    name: ColumnName
    type: ColumnType
    required: bool = True
    values: tuple[str, ...] | None = Field(None, description="Allowed values of a category.")
    minimum: int | None = Field(
        None,
        description="An integer's smallest plausible value: smaller ones are counted and "
        "flagged by the quality report, not refused (a correction may be booked as negative).",
    )
    description: str = ""

    @model_validator(mode="after")
    def _minimum_is_for_integers(self) -> Column:
        if self.minimum is not None and self.type is not ColumnType.INTEGER:
            raise ValueError(f"column '{self.name}': 'minimum' applies to integer columns only")
        return self


class Implication(_Frozen):
    """A category whose persons lie inside another column's category, in every row: a
    psychiatric contact always has a chapter F diagnosis. The disclosure checker treats the
    two as nested (the difference of their counts is a count of persons)."""

    when: dict[ColumnName, str] = Field(min_length=1, max_length=1)
    then: dict[ColumnName, str] = Field(min_length=1, max_length=1)
    why: str = Field(min_length=3, description="Why the one implies the other.")

    @property
    def pair(self) -> tuple[tuple[str, str], tuple[str, str]]:
        (a, x), (b, y) = next(iter(self.when.items())), next(iter(self.then.items()))
        return (a, x), (b, y)


class Dataset(_Frozen):
    id: Identifier
    title: str
    owner: Identifier
    cadence: str
    purposes: frozenset[Purpose] = Field(description="Purposes the dataset may be shared for.")
    purpose_citation: Citation = Field(description="Why the dataset is bound to those purposes.")
    restricted: bool = Field(False, description="No onward transfer in any form.")
    restriction_citation: str | None = None
    collection_basis: str | None = Field(
        None,
        description="Legal basis for the hub to receive it; none means deliveries are refused.",
    )
    columns: tuple[Column, ...]
    event_start: ColumnName = Field(description="Date or month column that places a row in time.")
    event_end: ColumnName | None = Field(None, description="End of the row's period, if any.")
    quality_notes: tuple[str, ...] = ()
    quality: QualityRules = Field(
        default_factory=QualityRules,
        description="What the quality report of each delivery checks and when it flags one.",
    )
    disclosure: DisclosureRules | None = Field(
        None, description="Stricter disclosure rules for aggregates that use this dataset."
    )
    implications: tuple[Implication, ...] = Field(
        (), description="Categories nested across columns, for the disclosure checker."
    )
    four_eyes: FourEyes | None = Field(
        None,
        description="A stricter rule for approving and reviewing anything that reads this "
        "dataset (other-organisation), whatever the grant says.",
    )
    future_months: int = Field(
        0,
        ge=0,
        le=24,
        description="How many months beyond the current one a delivery's period may lie "
        "(plans and bookings delivered ahead); none by default.",
    )
    retention: DeliveryRetention | None = Field(
        None,
        description="How long its deliveries are kept (required: policy check refuses a "
        "dataset without it).",
    )
    changes: tuple[str, ...] = ()

    @property
    def cpr_column(self) -> Column:
        return next(c for c in self.columns if c.type is ColumnType.CPR)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def shared_columns(self) -> tuple[str, ...]:
        """Columns a release can carry: every column but the CPR, which becomes the person key."""
        return tuple(c.name for c in self.columns if c.type is not ColumnType.CPR)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


class Recipient(_Frozen):
    id: Identifier
    name: str
    kind: str
    municipality: str | None = Field(
        None,
        description="The municipality code (municipalities.yaml) a municipal recipient speaks "
        "for; its grants must use a population limited to that municipality.",
    )


class Population(_Frozen):
    """A named set of persons, defined by rows of one dataset that overlap the extract period.

    Deliberately not an expression language: one dataset, equality on columns, period overlap.
    ``dataset`` None means every person (no population restriction).
    """

    id: Identifier
    description: str
    dataset: Identifier | None = None
    match: dict[ColumnName, str] = Field(default_factory=dict)
    own_municipality: ColumnName | None = Field(
        None,
        description="A municipality column of the dataset: only rows whose value is the "
        "recipient's own municipality count (for municipal recipients).",
    )


class AggregateTerms(_Frozen):
    """How a grant's aggregates are protected and whom they are assumed to reach."""

    method: Method | None = Field(
        None,
        description="cell-key (the default in disclosure.yaml), suppression where exact counts "
        "are lawful and wanted, or rounding.",
    )
    scope: Scope = Field(
        Scope.PUBLISHED,
        description="published (the default: recipients publish and may pool their tables) "
        "or confidential (the recipient alone; needs confidential_citation).",
    )
    confidential_citation: str | None = Field(
        None, description="The legal text that keeps this grant's tables with the recipient."
    )


class Grant(_Frozen):
    id: Identifier
    recipient: Identifier
    dataset: Identifier
    purposes: frozenset[Purpose]
    citation: Citation
    population: Identifier
    columns: tuple[ColumnName, ...]
    identifier: IdentifierForm = Field(
        IdentifierForm.RECIPIENT_PSEUDONYM,
        description="cpr only for administration, with the supervisory approval's reference.",
    )
    approval_reference: str | None = Field(
        None, description="Reference of the approval that lets CPR itself be released."
    )
    restricted_exception: str | None = Field(
        None, description="Citation of the explicit basis for passing on a restricted dataset."
    )
    outputs: frozenset[OutputForm] = frozenset({OutputForm.MICRODATA})
    valid_from: dt.date
    valid_to: dt.date | None = None
    revoked: dt.date | None = Field(
        None, description="Date from which the grant no longer applies."
    )
    four_eyes: FourEyes = Field(
        FourEyes.OTHER_UNIT,
        description="How far apart from the requester the approver (and each reviewer of a "
        "held aggregate, from the requester and each other) must be: another unit by default.",
    )
    aggregates: AggregateTerms = Field(
        default_factory=AggregateTerms, description="How this grant's aggregates are protected."
    )
    retention: ReleaseRetention | None = Field(
        None,
        description="How long its releases stay at the hub and when the recipient confirms "
        "its own deletion (required: policy check refuses a grant without it).",
    )
    dpia: Dpia | None = Field(
        None, description="The DPIA covering this processing (required, with its review date)."
    )
    changes: tuple[str, ...] = ()

    def in_force(self, on: dt.date) -> bool:
        if on < self.valid_from:
            return False
        if self.valid_to is not None and on > self.valid_to:
            return False
        return not (self.revoked is not None and on >= self.revoked)


class ReportDataset(_Frozen):
    dataset: Identifier
    columns: tuple[ColumnName, ...] = Field(min_length=1)


class Sanction(_Frozen):
    """Who approved a built-in report's specification once, so each run needs no new approval
    (the policy decision and the disclosure checker still run every time)."""

    approved_by: str = Field(min_length=3)
    approved_on: dt.date
    reference: str = Field(min_length=3)


class ReportDefinition(_Frozen):
    """A built-in aggregate report: what it reads, for whom, under which purpose."""

    id: Identifier
    title: str
    description: str
    recipients: tuple[Identifier, ...] = Field(min_length=1)
    purpose: Purpose
    population: Identifier
    datasets: tuple[ReportDataset, ...] = Field(min_length=1)
    sanction: Sanction
    disclosure: DisclosureRules | None = Field(
        None, description="Stricter disclosure rules for this report (e.g. the cell-key method)."
    )
    four_eyes: FourEyes = Field(
        FourEyes.OTHER_UNIT, description="How far apart the reviewers of a held run must be."
    )
    changes: tuple[str, ...] = ()


class Contact(_Frozen):
    name: str = Field(min_length=3)
    contact: str = Field(min_length=3, description="An address, a mailbox, a telephone number.")


class Controller(_Frozen):
    """Who is responsible for the hub's processing, and its data protection officer (GDPR art.
    30(1)(a)): ``controller.yaml``."""

    name: str = Field(min_length=3)
    contact: str = Field(min_length=3)
    dpo: Contact
    supervisory_authority: str = Field(
        min_length=3, description="Where a data subject complains (GDPR art. 77)."
    )


class Catalogue(_Frozen):
    """Everything in ``policies/``, cross-checked, with the hash of the files it came from."""

    sources: dict[str, Source]
    datasets: dict[str, Dataset]
    recipients: dict[str, Recipient]
    populations: dict[str, Population]
    grants: tuple[Grant, ...]
    municipalities: dict[str, str] = Field(description="Municipality code -> name.")
    disclosure: DisclosureRules = Field(
        default_factory=DisclosureRules, description="Default rules of the output checker."
    )
    reports: dict[str, ReportDefinition] = Field(default_factory=dict)
    ptable_paths: dict[str, str] = Field(
        default_factory=dict,
        description="Every p-table file the rules name, by its name, as an absolute path.",
    )
    policy_hash: str = Field(description="SHA-256 over the policy files, recorded in decisions.")
    controller: Controller | None = Field(
        None, description="The controller and its DPO (required in policy files)."
    )

    def disclosure_rules(
        self, datasets: list[str], method: Method | None = None
    ) -> DisclosureRules:
        """The defaults, tightened by every listed dataset's own rules, under ``method``
        (a grant's choice; None keeps the default)."""
        rules = self.disclosure
        for name in datasets:
            own = self.datasets[name].disclosure
            if own is not None:
                rules = rules.strictest(own)
        return rules.with_method(method)

    def ptable(self, rules: DisclosureRules) -> PTable:
        """The p-table the rules name, or the one generated from their noise and variance."""
        if rules.ptable_file is not None:
            return load_cached(self.ptable_paths[rules.ptable_file])
        return generated(rules.cell_key_max_noise, rules.cell_key_variance)

    def implications(self, dataset: str) -> tuple[tuple[tuple[str, str], tuple[str, str]], ...]:
        return tuple(i.pair for i in self.datasets[dataset].implications)

    def grants_for(self, recipient: str, dataset: str) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.recipient == recipient and g.dataset == dataset)
