"""Invariants of the evaluator on generated catalogues and requests."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.domain.catalogue import Catalogue, IdentifierForm, Purpose
from gateway.domain.extracts import ExtractSpec
from gateway.domain.policy import Decision, evaluate, parse_purpose
from gateway.errors import InvalidRequest
from tests.property.catalogues import Request, catalogues, requests


def decide(cat: Catalogue, r: Request) -> Decision:
    return evaluate(
        cat,
        recipient=r.recipient,
        purpose=r.purpose,
        datasets=[(r.dataset, r.columns)],
        on=r.on,
        output=r.output,
        population=r.population,
        identifier=r.identifier,
    )


@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_invariants_hold_on_generated_catalogues(data: st.DataObject) -> None:
    cat = data.draw(catalogues())
    r = data.draw(requests(cat))
    decision = decide(cat, r)
    ds = cat.datasets[r.dataset]
    in_force = [
        g
        for g in cat.grants_for(r.recipient, r.dataset)
        if g.in_force(r.on) and r.purpose in g.purposes
    ]
    assert decision.datasets[0].deciding_rule.reason  # never without a reason
    if ds.restricted and not any(g.restricted_exception for g in in_force):
        assert not decision.allowed, "restricted data left without an explicit exception"
    if r.purpose not in ds.purposes:
        assert not decision.allowed, "data served a purpose it is not shared for"
    if not in_force:
        assert not decision.allowed, "allowed without a grant in force"
    pop = cat.populations[r.population] if r.population else None
    if pop is not None and pop.dataset and cat.datasets[pop.dataset].restricted:
        assert not decision.allowed, "a restricted dataset leaked through a population"
    if decision.allowed:
        grant = decision.datasets[0].grant
        assert grant is not None and grant in in_force
        assert set(r.columns or ()) <= set(grant.columns) and r.output in grant.outputs
        if r.identifier is IdentifierForm.CPR:
            assert grant.identifier is IdentifierForm.CPR and grant.approval_reference
            assert r.purpose is Purpose.ADMINISTRATION


@settings(max_examples=300)
@given(st.text(alphabet=string.ascii_letters + string.digits + " -_", max_size=20))
def test_a_missing_or_misspelt_purpose_is_an_error_never_an_allow(text: str) -> None:
    if text in {p.value for p in Purpose}:
        assert parse_purpose(text).value == text
        return
    with pytest.raises(InvalidRequest):
        parse_purpose(text)
    spec = {
        "purpose": text,
        "population": "everyone",
        "period_from": "2016-11",
        "period_to": "2016-11",
        "datasets": [{"dataset": "lpr", "columns": ["contact_type"]}],
    }
    with pytest.raises(ValidationError):
        ExtractSpec.model_validate(spec)
    without = {k: v for k, v in spec.items() if k != "purpose"}
    with pytest.raises(ValidationError):
        ExtractSpec.model_validate(without)
