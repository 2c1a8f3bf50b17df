"""A second opinion: compile the catalogue to Cedar and check both engines agree.

Cedar is a test-only dependency. The compilation is a straight transcription of the rules into
Cedar's permit/forbid model: one permit per grant, forbids for restriction (unless an explicit
exception grant applies), purpose binding and populations on restricted data; Cedar's default
deny is "no legal basis". If the evaluator and Cedar ever disagree, one of them is wrong.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.catalogue import Catalogue, Grant, IdentifierForm
from gateway.domain.policy import evaluate
from tests.property.catalogues import Request, catalogues, requests

cedarpy = pytest.importorskip("cedarpy")


def _day(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _set(values: object) -> str:
    return json.dumps(sorted(str(v) for v in values))  # type: ignore[attr-defined]


def _grant_applies(g: Grant) -> str:
    """The conditions under which grant ``g`` covers the request (without columns etc.)."""
    parts = [
        f"principal == Recipient::{json.dumps(g.recipient)}",
        f"{_set(g.purposes)}.contains(context.purpose)",
        f"context.day >= {_day(g.valid_from)}",
    ]
    if g.valid_to:
        parts.append(f"context.day <= {_day(g.valid_to)}")
    if g.revoked:
        parts.append(f"context.day < {_day(g.revoked)}")
    return " && ".join(parts)


def compile_to_cedar(cat: Catalogue) -> str:
    policies = []
    for ds in cat.datasets.values():
        resource = f"resource == Dataset::{json.dumps(ds.id)}"
        if ds.restricted:
            exceptions = [
                f"({_grant_applies(g)})"
                for g in cat.grants
                if g.dataset == ds.id and g.restricted_exception
            ]
            unless = " || ".join(exceptions) or "false"
            policies.append(f"forbid(principal, action, {resource}) unless {{ {unless} }};")
        policies.append(
            f"forbid(principal, action, {resource}) unless "
            f"{{ {_set(ds.purposes)}.contains(context.purpose) }};"
        )
    for pop in cat.populations.values():
        if pop.dataset and cat.datasets[pop.dataset].restricted:
            policies.append(
                f"forbid(principal, action, resource) when "
                f"{{ context.population == {json.dumps(pop.id)} }};"
            )
    for g in cat.grants:
        if cat.datasets[g.dataset].restricted and not g.restricted_exception:
            continue  # such a grant can never be the basis for restricted data
        population = (
            "true"
            if g.population == "everyone"
            else f'(context.population == "" || context.population == {json.dumps(g.population)})'
        )
        cpr_ok = g.identifier is IdentifierForm.CPR and bool(g.approval_reference)
        identifier = 'context.identifier == "recipient-pseudonym"' + (
            ' || context.purpose == "administration"' if cpr_ok else ""
        )
        policies.append(
            f'permit(principal, action == Action::"receive", '
            f"resource == Dataset::{json.dumps(g.dataset)}) when {{ {_grant_applies(g)} && "
            f"{_set(g.outputs)}.contains(context.output) && {population} && "
            f"{_set(g.columns)}.containsAll(context.columns) && ({identifier}) }};"
        )
    return "\n".join(policies)


def cedar_allows(policies: str, r: Request) -> bool:
    request = {
        "principal": f"Recipient::{json.dumps(r.recipient)}",
        "action": 'Action::"receive"',
        "resource": f"Dataset::{json.dumps(r.dataset)}",
        "context": {
            "purpose": r.purpose.value,
            "day": _day(r.on),
            "output": r.output.value,
            "population": r.population or "",
            "columns": list(r.columns or ()),
            "identifier": r.identifier.value,
        },
    }
    result = cedarpy.is_authorized(request, policies, [])
    return bool(result.allowed)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_evaluator_and_cedar_agree_on_generated_catalogues(data: st.DataObject) -> None:
    cat = data.draw(catalogues())
    policies = compile_to_cedar(cat)
    for _ in range(5):
        r = data.draw(requests(cat))
        ours = evaluate(
            cat,
            recipient=r.recipient,
            purpose=r.purpose,
            datasets=[(r.dataset, r.columns)],
            on=r.on,
            output=r.output,
            population=r.population,
            identifier=r.identifier,
        ).allowed
        assert ours == cedar_allows(policies, r), (r, policies)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_evaluator_and_cedar_agree_on_the_shipped_catalogue(
    catalogue: Catalogue, data: st.DataObject
) -> None:
    policies = compile_to_cedar(catalogue)
    r = data.draw(
        requests(catalogue).map(
            lambda r: Request(
                r.recipient,
                r.purpose,
                r.dataset,
                tuple(
                    c
                    for c in catalogue.datasets[r.dataset].shared_columns
                    if data.draw(st.booleans())
                ),
                r.on,
                r.output,
                r.population,
                r.identifier,
            )
        )
    )
    ours = evaluate(
        catalogue,
        recipient=r.recipient,
        purpose=r.purpose,
        datasets=[(r.dataset, r.columns)],
        on=r.on,
        output=r.output,
        population=r.population,
        identifier=r.identifier,
    ).allowed
    assert ours == cedar_allows(policies, r), r
