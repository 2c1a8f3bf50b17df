"""The legal-basis evaluator: rule order, reasons, and properties over generated requests."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.catalogue import Catalogue, OutputForm, Purpose
from gateway.domain.policy import RULE_ORDER, evaluate, parse_purpose
from gateway.errors import InvalidRequest

TODAY = dt.date(2026, 11, 23)


def decide(
    cat: Catalogue,
    recipient: str,
    dataset: str,
    purpose: str,
    columns: list[str] | None = None,
    population: str | None = None,
) -> dict[str, object]:
    decision = evaluate(
        cat,
        recipient=recipient,
        purpose=Purpose(purpose),
        datasets=[(dataset, columns)],
        on=TODAY,
        population=population,
    )
    d = decision.datasets[0]
    return {
        "allowed": decision.allowed,
        "rule": d.deciding_rule.rule,
        "reason": d.deciding_rule.reason,
        "citation": d.deciding_rule.citation,
    }


def test_restricted_dataset_is_refused_first(catalogue: Catalogue) -> None:
    # Even for a purpose it is not shared for, restriction is the reason given.
    out = decide(catalogue, "star-statistik", "sfi-hjemloese", "administration")
    assert out["rule"] == "restricted-dataset" and not out["allowed"]
    assert "må ikke videregives" in str(out["citation"])


def test_statistics_only_data_is_refused_for_administration(catalogue: Catalogue) -> None:
    out = decide(catalogue, "star-analyse", "flis-voksenhandicap", "administration")
    assert (out["allowed"], out["rule"]) == (False, "purpose-binding")
    assert "statistical" in str(out["citation"])


def test_no_grant_means_no_legal_basis(catalogue: Catalogue) -> None:
    out = decide(catalogue, "star-analyse", "laegemiddelstatistik", "analysis")
    assert (out["allowed"], out["rule"]) == (False, "legal-basis")
    assert "no legal basis" in str(out["reason"])


def test_grant_limits_columns_and_population(catalogue: Catalogue) -> None:
    out = decide(catalogue, "star-analyse", "lpr", "analysis", ["kommune"])
    assert (out["allowed"], out["rule"]) == (False, "grant-columns")
    out = decide(catalogue, "star-analyse", "lpr", "analysis", ["contact_type"], "everyone")
    assert (out["allowed"], out["rule"]) == (False, "grant-population")
    out = decide(
        catalogue, "star-analyse", "lpr", "analysis", ["contact_type"], "persons-in-resource-course"
    )
    assert (out["allowed"], out["rule"]) == (True, "allow")
    assert out["citation"]


def test_aggregate_only_grant_refuses_microdata(catalogue: Catalogue) -> None:
    decision = evaluate(
        catalogue,
        recipient="star-statistik",
        purpose=Purpose.STATISTICS,
        datasets=[("uip-spor2", ["status"])],
        on=TODAY,
        output=OutputForm.MICRODATA,
    )
    assert decision.datasets[0].deciding_rule.rule == "grant-output"


def test_one_refused_dataset_refuses_the_whole_request(catalogue: Catalogue) -> None:
    decision = evaluate(
        catalogue,
        recipient="star-analyse",
        purpose=Purpose.ANALYSIS,
        datasets=[("dfdg-indsats", None), ("sfi-hjemloese", None)],
        on=TODAY,
    )
    assert not decision.allowed
    assert [d.dataset for d in decision.denials] == ["sfi-hjemloese"]
    assert "sfi-hjemloese" in decision.summary()


def test_grant_validity_dates_are_respected(catalogue: Catalogue) -> None:
    before = evaluate(
        catalogue,
        recipient="star-statistik",
        purpose=Purpose.STATISTICS,
        datasets=[("uip-spor2", None)],
        on=dt.date(2018, 12, 31),
        output=OutputForm.AGGREGATE,
    )
    assert before.datasets[0].deciding_rule.rule == "legal-basis"
    assert "not in force" in before.datasets[0].deciding_rule.reason


def test_unknown_names_are_errors_never_allows(catalogue: Catalogue) -> None:
    with pytest.raises(InvalidRequest, match="unknown purpose"):
        parse_purpose("statistic")
    with pytest.raises(InvalidRequest, match="unknown dataset"):
        evaluate(
            catalogue,
            recipient="star-analyse",
            purpose=Purpose.ANALYSIS,
            datasets=[("lrp", None)],
            on=TODAY,
        )
    with pytest.raises(InvalidRequest, match="unknown recipient"):
        evaluate(
            catalogue,
            recipient="star",
            purpose=Purpose.ANALYSIS,
            datasets=[("lpr", None)],
            on=TODAY,
        )
    with pytest.raises(InvalidRequest, match="at least one dataset"):
        evaluate(
            catalogue, recipient="star-analyse", purpose=Purpose.ANALYSIS, datasets=[], on=TODAY
        )


@settings(max_examples=500)
@given(data=st.data())
def test_properties_over_generated_requests(catalogue: Catalogue, data: st.DataObject) -> None:
    recipient = data.draw(st.sampled_from(sorted(catalogue.recipients)))
    dataset_id = data.draw(st.sampled_from(sorted(catalogue.datasets)))
    ds = catalogue.datasets[dataset_id]
    purpose = data.draw(st.sampled_from(list(Purpose)))
    columns = data.draw(
        st.one_of(st.none(), st.lists(st.sampled_from(ds.shared_columns), unique=True))
    )
    population = data.draw(st.one_of(st.none(), st.sampled_from(sorted(catalogue.populations))))
    on = data.draw(st.dates(dt.date(2010, 1, 1), dt.date(2030, 12, 31)))
    output = data.draw(st.sampled_from(list(OutputForm)))
    decision = evaluate(
        catalogue,
        recipient=recipient,
        purpose=purpose,
        datasets=[(dataset_id, columns)],
        on=on,
        output=output,
        population=population,
    )
    d = decision.datasets[0]
    rules = [r.rule for r in d.rules]
    assert rules == [*RULE_ORDER[: len(rules) - 1], rules[-1]]  # fixed order
    assert d.deciding_rule.reason  # never a decision without a reason
    if ds.restricted:
        assert not decision.allowed and d.deciding_rule.rule == "restricted-dataset"
    if purpose not in ds.purposes:
        assert not decision.allowed
    if decision.allowed:
        grant = d.grant
        assert grant is not None and grant.in_force(on) and purpose in grant.purposes
        assert grant.recipient == recipient and output in grant.outputs
        assert set(columns or ()) <= set(grant.columns)
        assert d.deciding_rule.citation
    if not any(
        g.in_force(on) and purpose in g.purposes
        for g in catalogue.grants_for(recipient, dataset_id)
    ):
        assert not decision.allowed
