"""The legal-basis evaluator: one function, a fixed rule order, decisions as values.

Order (first deny wins; the order is part of the legal reasoning and is tested):

1. ``restricted-dataset``  the dataset may not be passed on in any form
2. ``purpose-binding``     the purpose is not among the dataset's shared purposes
3. ``legal-basis``         no grant in force for recipient x dataset x purpose ("no legal basis")
4. ``grant-output``        the output form (microdata/aggregate) is not allowed by the grant
5. ``grant-population``    the requested population is wider than the grant's
6. ``grant-columns``       columns outside the grant
7. ``allow``               citing the grant

The evaluator fails closed: unknown recipients, datasets and purposes are errors, never allows,
and a request naming no dataset is an error too (an empty request is not trivially allowed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.domain.catalogue import Catalogue, Grant, OutputForm, Purpose
from gateway.errors import InvalidRequest

Outcome = Literal["pass", "deny", "allow"]

RULE_ORDER = (
    "restricted-dataset",
    "purpose-binding",
    "legal-basis",
    "grant-output",
    "grant-population",
    "grant-columns",
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
) -> Decision:
    """Decide ``recipient``'s request for ``datasets`` (each with its columns; None = all granted).

    Raises :class:`InvalidRequest` for unknown recipients, datasets, populations or an empty
    request; every other outcome is a :class:`Decision`.
    """
    if recipient not in catalogue.recipients:
        raise InvalidRequest(f"unknown recipient '{recipient}'")
    if not datasets:
        raise InvalidRequest("a request must name at least one dataset")
    if population is not None and population not in catalogue.populations:
        raise InvalidRequest(f"unknown population '{population}'")
    decisions = tuple(
        _evaluate_dataset(catalogue, recipient, purpose, ds, cols, on, output, population)
        for ds, cols in datasets
    )
    return Decision(
        recipient=recipient,
        purpose=purpose,
        output=output,
        on=on,
        policy_hash=catalogue.policy_hash,
        datasets=decisions,
    )


def _evaluate_dataset(
    cat: Catalogue,
    recipient: str,
    purpose: Purpose,
    dataset_id: str,
    columns: Sequence[str] | None,
    on: dt.date,
    output: OutputForm,
    population: str | None,
) -> DatasetDecision:
    ds = cat.datasets.get(dataset_id)
    if ds is None:
        raise InvalidRequest(f"unknown dataset '{dataset_id}'")
    done: list[RuleResult] = []

    def deny(rule: str, reason: str, citation: str | None) -> DatasetDecision:
        done.append(RuleResult(rule, "deny", reason, citation))
        return DatasetDecision(dataset_id, False, tuple(done))

    if ds.restricted:
        return deny(
            "restricted-dataset",
            f"'{ds.id}' is restricted: it may not be passed on in any form",
            ds.restriction_citation,
        )
    done.append(RuleResult("restricted-dataset", "pass", f"'{ds.id}' is not restricted"))

    if purpose not in ds.purposes:
        shared = ", ".join(sorted(p.value for p in ds.purposes))
        return deny(
            "purpose-binding",
            f"'{ds.id}' is shared only for {shared}, not for {purpose.value}",
            ds.purpose_citation,
        )
    done.append(
        RuleResult(
            "purpose-binding",
            "pass",
            f"'{ds.id}' is shared for {purpose.value}",
            ds.purpose_citation,
        )
    )

    candidates = [g for g in cat.grants_for(recipient, ds.id) if purpose in g.purposes]
    grant = next((g for g in candidates if g.in_force(on)), None)
    if grant is None:
        lapsed = f" (grant '{candidates[0].id}' is not in force on {on})" if candidates else ""
        return deny(
            "legal-basis",
            f"no legal basis: no grant lets '{recipient}' receive '{ds.id}' for "
            f"{purpose.value}{lapsed}",
            None,
        )
    done.append(
        RuleResult("legal-basis", "pass", f"grant '{grant.id}' is in force", grant.citation)
    )

    if output not in grant.outputs:
        forms = ", ".join(sorted(o.value for o in grant.outputs))
        return _deny_in_grant(
            done,
            dataset_id,
            grant,
            "grant-output",
            f"grant '{grant.id}' allows only {forms} output, not {output.value}",
        )
    if population is not None and grant.population not in ("everyone", population):
        return _deny_in_grant(
            done,
            dataset_id,
            grant,
            "grant-population",
            f"grant '{grant.id}' is limited to population '{grant.population}', "
            f"the request asks for '{population}'",
        )
    outside = sorted(set(columns or ()) - set(grant.columns))
    if outside:
        return _deny_in_grant(
            done,
            dataset_id,
            grant,
            "grant-columns",
            f"columns {outside} of '{ds.id}' are not allowed by grant '{grant.id}'",
        )
    done.append(
        RuleResult(
            "allow",
            "allow",
            f"'{recipient}' may receive '{ds.id}' for {purpose.value} under '{grant.id}'",
            grant.citation,
        )
    )
    return DatasetDecision(dataset_id, True, tuple(done), grant)


def _deny_in_grant(
    done: list[RuleResult], dataset_id: str, grant: Grant, rule: str, reason: str
) -> DatasetDecision:
    done.append(RuleResult(rule, "deny", reason, grant.citation))
    return DatasetDecision(dataset_id, False, tuple(done), grant)
