"""The legal-basis evaluator: one function, a fixed rule order, decisions as values.

Order (first deny wins; the order is part of the legal reasoning and is tested):

1. ``restricted-dataset``  the dataset may not be passed on in any form
2. ``purpose-binding``     the purpose is not among the dataset's shared purposes
3. ``legal-basis``         no grant in force for recipient x dataset x purpose ("no legal basis")
4. ``grant-output``        the output form (microdata/aggregate) is not allowed by the grant
5. ``grant-population``    the population is wider than the grant's, or defined on restricted data
6. ``grant-columns``       columns outside the grant
7. ``grant-identifier``    CPR asked for without a CPR grant for administration with an approval
8. ``allow``               citing the grant

A restricted dataset passes rule 1 only through a grant in force that carries an explicit
``restricted_exception``; without one it never leaves, in any form.

The evaluator fails closed: unknown recipients, datasets and purposes are errors, never allows,
and a request naming no dataset is an error too (an empty request is not trivially allowed).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.domain.catalogue import (
    Catalogue,
    Grant,
    IdentifierForm,
    OutputForm,
    Purpose,
)
from gateway.domain.principals import FourEyes, strictest
from gateway.errors import InvalidRequest

Outcome = Literal["pass", "deny", "allow"]

RULE_ORDER = (
    "restricted-dataset",
    "purpose-binding",
    "legal-basis",
    "grant-output",
    "grant-population",
    "grant-columns",
    "grant-identifier",
    "allow",
)


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict on one dataset, with the reason in plain words and its citation."""

    rule: str
    outcome: Outcome
    reason: str
    citation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "outcome": self.outcome,
            "reason": self.reason,
            "citation": self.citation,
        }


@dataclass(frozen=True)
class DatasetDecision:
    """The decision for one dataset of a request: allowed, the rules applied, and the grant used."""

    dataset: str
    allowed: bool
    rules: tuple[RuleResult, ...]
    grant: Grant | None = None

    @property
    def deciding_rule(self) -> RuleResult:
        return self.rules[-1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "allowed": self.allowed,
            "grant": self.grant.id if self.grant else None,
            "deciding_rule": self.deciding_rule.rule,
            "rules": [r.as_dict() for r in self.rules],
        }


@dataclass(frozen=True)
class Decision:
    """The decision for a whole request: allowed only if every dataset is allowed."""

    recipient: str
    purpose: Purpose
    output: OutputForm
    on: dt.date
    policy_hash: str
    datasets: tuple[DatasetDecision, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return bool(self.datasets) and all(d.allowed for d in self.datasets)

    @property
    def denials(self) -> tuple[DatasetDecision, ...]:
        return tuple(d for d in self.datasets if not d.allowed)

    def summary(self) -> str:
        if self.allowed:
            grants = ", ".join(d.grant.id for d in self.datasets if d.grant)
            return f"allowed for {self.recipient} ({self.purpose}) under {grants}"
        reasons = "; ".join(f"{d.dataset}: {d.deciding_rule.reason}" for d in self.denials)
        return f"refused for {self.recipient} ({self.purpose}): {reasons}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "recipient": self.recipient,
            "purpose": str(self.purpose),
            "output": str(self.output),
            "on": self.on.isoformat(),
            "policy_hash": self.policy_hash,
            "summary": self.summary(),
            "datasets": [d.as_dict() for d in self.datasets],
        }


def parse_purpose(value: str) -> Purpose:
    """A missing or misspelt purpose is an error, never a silent default."""
    try:
        return Purpose(value)
    except ValueError:
        allowed = ", ".join(p.value for p in Purpose)
        raise InvalidRequest(f"unknown purpose '{value}'; expected one of: {allowed}") from None


def evaluate(
    catalogue: Catalogue,
    *,
    recipient: str,
    purpose: Purpose,
    datasets: Sequence[tuple[str, Sequence[str] | None]],
    on: dt.date,
    output: OutputForm = OutputForm.MICRODATA,
    population: str | None = None,
    identifier: IdentifierForm = IdentifierForm.RECIPIENT_PSEUDONYM,
) -> Decision:
    """Decide ``recipient``'s request for ``datasets`` (each with its columns; None = any granted).

    Raises :class:`InvalidRequest` for unknown recipients, datasets, populations or an empty
    request; every other outcome is a :class:`Decision`.
    """
    if recipient not in catalogue.recipients:
        raise InvalidRequest(f"unknown recipient '{recipient}'")
    if not datasets:
        raise InvalidRequest("a request must name at least one dataset")
    if population is not None and population not in catalogue.populations:
        raise _unknown("population", population, catalogue.populations)
    request = _Request(catalogue, recipient, purpose, on, output, population, identifier)
    decisions = tuple(request.dataset(ds, cols) for ds, cols in datasets)
    return Decision(
        recipient=recipient,
        purpose=purpose,
        output=output,
        on=on,
        policy_hash=catalogue.policy_hash,
        datasets=decisions,
    )


def _unknown(kind: str, name: str, known: Iterable[str], where: str = "") -> InvalidRequest:
    """A 422 for a name the catalogue does not have, with the nearest known names: a misspelt
    name is a mistake to correct, not a request the law refuses."""
    near = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
    place = f" in {where}" if where else ""
    return InvalidRequest(
        f"unknown {kind} '{name}'{place}{hint}",
        errors=[{"field": kind, "problem": "unknown", "suggestions": near}],
    )


@dataclass(frozen=True)
class _Request:
    cat: Catalogue
    recipient: str
    purpose: Purpose
    on: dt.date
    output: OutputForm
    population: str | None
    identifier: IdentifierForm

    def _grants(self, dataset: str) -> list[Grant]:
        return [
            g for g in self.cat.grants_for(self.recipient, dataset) if self.purpose in g.purposes
        ]

    def dataset(self, dataset_id: str, columns: Sequence[str] | None) -> DatasetDecision:
        ds = self.cat.datasets.get(dataset_id)
        if ds is None:
            raise _unknown("dataset", dataset_id, self.cat.datasets)
        names = [c.name for c in ds.columns]
        for column in columns or ():
            if column not in names:  # a typo is a 422, never a legal refusal on the record
                raise _unknown("column", column, names, where=f"dataset '{ds.id}'")
        done: list[RuleResult] = []

        def deny(rule: str, reason: str, citation: str | None) -> DatasetDecision:
            done.append(RuleResult(rule, "deny", reason, citation))
            return DatasetDecision(dataset_id, False, tuple(done))

        candidates = self._grants(ds.id)
        in_force = [g for g in candidates if g.in_force(self.on)]
        if ds.restricted:
            exception = next((g for g in in_force if g.restricted_exception), None)
            if exception is None:
                return deny(
                    "restricted-dataset",
                    f"'{ds.id}' is restricted: it may not be passed on in any form",
                    ds.restriction_citation,
                )
            done.append(
                RuleResult(
                    "restricted-dataset",
                    "pass",
                    f"'{ds.id}' is restricted, but grant '{exception.id}' explicitly allows it",
                    exception.restricted_exception,
                )
            )
        else:
            done.append(RuleResult("restricted-dataset", "pass", f"'{ds.id}' is not restricted"))

        if self.purpose not in ds.purposes:
            shared = ", ".join(sorted(p.value for p in ds.purposes))
            return deny(
                "purpose-binding",
                f"'{ds.id}' is shared only for {shared}, not for {self.purpose.value}",
                ds.purpose_citation,
            )
        done.append(
            RuleResult(
                "purpose-binding",
                "pass",
                f"'{ds.id}' is shared for {self.purpose.value}",
                ds.purpose_citation,
            )
        )

        grant = next((g for g in in_force if not ds.restricted or g.restricted_exception), None)
        if grant is None:
            lapsed = (
                f" (grant '{candidates[0].id}' is not in force on {self.on})" if candidates else ""
            )
            return deny(
                "legal-basis",
                f"no legal basis: no grant lets '{self.recipient}' receive '{ds.id}' for "
                f"{self.purpose.value}{lapsed}",
                None,
            )
        done.append(
            RuleResult("legal-basis", "pass", f"grant '{grant.id}' is in force", grant.citation)
        )
        refusal = self._within_grant(grant, ds.id, columns)
        if refusal is not None:
            done.append(refusal)
            return DatasetDecision(dataset_id, False, tuple(done), grant)
        done.append(
            RuleResult(
                "allow",
                "allow",
                f"'{self.recipient}' may receive '{ds.id}' for {self.purpose.value} under "
                f"'{grant.id}'" + (" with CPR" if self.identifier is IdentifierForm.CPR else ""),
                grant.citation,
            )
        )
        return DatasetDecision(dataset_id, True, tuple(done), grant)

    def _within_grant(
        self, grant: Grant, dataset: str, columns: Sequence[str] | None
    ) -> RuleResult | None:
        """The first way the request goes beyond ``grant``, as a deny; None if it stays inside."""
        if self.output not in grant.outputs:
            forms = ", ".join(sorted(o.value for o in grant.outputs))
            return RuleResult(
                "grant-output",
                "deny",
                f"grant '{grant.id}' allows only {forms} output, not {self.output.value}",
                grant.citation,
            )
        if self.population is not None:
            pop = self.cat.populations[self.population]
            pop_ds = self.cat.datasets.get(pop.dataset) if pop.dataset else None
            if pop_ds is not None and pop_ds.restricted:
                return RuleResult(
                    "grant-population",
                    "deny",
                    f"population '{pop.id}' is defined on restricted dataset "
                    f"'{pop_ds.id}'; membership would disclose it",
                    pop_ds.restriction_citation,
                )
            if grant.population not in ("everyone", self.population):
                return RuleResult(
                    "grant-population",
                    "deny",
                    f"grant '{grant.id}' is limited to population "
                    f"'{grant.population}', the request asks for "
                    f"'{self.population}'",
                    grant.citation,
                )
        outside = sorted(set(columns or ()) - set(grant.columns))
        if outside:
            return RuleResult(
                "grant-columns",
                "deny",
                f"columns {outside} of '{dataset}' are not allowed by grant '{grant.id}'",
                grant.citation,
            )
        if self.identifier is IdentifierForm.CPR and not (
            grant.identifier is IdentifierForm.CPR
            and self.purpose is Purpose.ADMINISTRATION
            and grant.approval_reference
        ):
            return RuleResult(
                "grant-identifier",
                "deny",
                f"grant '{grant.id}' does not allow CPR numbers: releases carry "
                "the recipient's pseudonyms unless an approved basis for CPR "
                "covers administration",
                grant.citation,
            )
        return None


def four_eyes_level(catalogue: Catalogue, recipient: str, datasets: Iterable[str]) -> FourEyes:
    """How far apart a second pair of eyes must be for ``recipient``'s request on these
    datasets: the strictest of the recipient's grants for them and of the datasets' own rules
    (another unit unless any says another organisation, or the grants all say ``person``)."""
    wanted = set(datasets)
    levels = [
        g.four_eyes for g in catalogue.grants if g.recipient == recipient and g.dataset in wanted
    ]
    for d in wanted:
        own = catalogue.datasets[d].four_eyes if d in catalogue.datasets else None
        if own is not None:
            levels.append(own)
    return strictest(levels)
