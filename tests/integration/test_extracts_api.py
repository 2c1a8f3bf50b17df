"""Extract specifications over HTTP: decisions, four eyes, linking, pseudonyms, re-evaluation."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from gateway.crypto.pseudonyms import internal_pseudonyms, recipient_pseudonyms
from gateway.domain import cpr
from gateway.domain.audit_query import AuditQuery
from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic, edited_policies, running_gateway

PERIOD = {"period_from": "2016-11", "period_to": "2016-11"}
LINKED = {
    "purpose": "analysis",
    "runs": 12,  # the tests run some specifications more than once
    "population": "persons-in-resource-course",
    **PERIOD,
    "datasets": [
        {
            "dataset": "dfdg-indsats",
            "columns": ["kommune", "record_type", "offer_type", "start_date", "end_date"],
        },
        {"dataset": "lpr", "columns": ["contact_type", "diagnosis_chapter"]},
    ],
}


def push_all(gateway: Gateway, synthetic: Synthetic) -> None:
    for dataset, f in synthetic.files.items():
        if dataset != "laegemiddelstatistik":
            r = gateway.push(f.source, dataset, synthetic.bytes(dataset))
            assert r.status_code == 201, r.text


def release_for(
    gateway: Gateway, recipient: str, spec: dict[str, Any]
) -> tuple[dict[str, Any], pa.Table]:
    ext = gateway.client.post(
        "/v1/extracts", json=spec, headers=gateway.auth(recipient, Role.RECIPIENT)
    )
    assert ext.status_code == 201, ext.text
    ok = gateway.client.post(
        f"/v1/extracts/{ext.json()['id']}/approve",
        headers=gateway.auth("dpo@star.dk", Role.APPROVER),
    )
    assert ok.status_code == 200, ok.text
    rel = gateway.client.post(
        f"/v1/extracts/{ext.json()['id']}/releases", headers=gateway.auth(recipient, Role.RECIPIENT)
    )
    assert rel.status_code == 201, rel.text
    content = gateway.client.get(
        f"/v1/releases/{rel.json()['id']}/content", headers=gateway.auth(recipient, Role.RECIPIENT)
    )
    assert content.status_code == 200
    return rel.json(), pq.read_table(io.BytesIO(content.content))


def expected_population(
    gateway: Gateway, synthetic: Synthetic, recipient: str, municipality: str | None = None
) -> set[str]:
    """Computed independently from the plaintext source file, as the law defines it (for a
    municipality: courses its job centre is responsible for)."""
    table = pacsv.read_csv(
        synthetic.path("dfdg-indsats"),
        convert_options=pacsv.ConvertOptions(
            column_types={"cpr": pa.string(), "kommune": pa.string()}
        ),
    )
    courses = table.filter(pc.equal(table["record_type"], "ressourceforloeb"))
    if municipality is not None:
        courses = courses.filter(pc.equal(courses["kommune"], municipality))
    start, end = dt.date(2016, 11, 1), dt.date(2016, 11, 30)
    overlap = pc.and_kleene(
        pc.less_equal(courses["start_date"], pa.scalar(end)),
        pc.or_kleene(
            pc.is_null(courses["end_date"]), pc.greater_equal(courses["end_date"], pa.scalar(start))
        ),
    )
    cprs = cpr.check(courses.filter(overlap)["cpr"].combine_chunks()).normalised
    keys = gateway.runtime.context.keys
    internal = internal_pseudonyms(cprs, keys.internal_pseudonym_key())
    return set(
        recipient_pseudonyms(internal, keys.recipient_pseudonym_key(recipient, 1)).to_pylist()
    )


def test_linked_release_is_limited_to_the_population(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    release, table = release_for(gateway, "star-analyse", LINKED)
    persons = set(table["person"].to_pylist())
    assert persons == expected_population(gateway, synthetic, "star-analyse")
    assert release["persons"] == len(persons) and release["rows"] == table.num_rows
    assert set(table["dataset"].to_pylist()) == {"dfdg-indsats", "lpr"}
    assert "lpr__diagnosis_chapter" in table.column_names and "cpr" not in table.column_names
    lpr_rows = table.filter(pc.equal(table["dataset"], "lpr"))
    assert lpr_rows.num_rows > 0
    assert set(lpr_rows["person"].to_pylist()) <= persons
    # Events are limited to the period.
    assert pc.min(lpr_rows["event_start"]).as_py() >= dt.date(2016, 11, 1)


def test_lpr_contacts_of_persons_outside_the_population_are_not_released(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    _, table = release_for(gateway, "star-analyse", LINKED)
    lpr = pacsv.read_csv(
        synthetic.path("lpr"),
        convert_options=pacsv.ConvertOptions(column_types={"cpr": pa.string()}),
    )
    keys = gateway.runtime.context.keys
    all_lpr = set(
        recipient_pseudonyms(
            internal_pseudonyms(lpr["cpr"].combine_chunks(), keys.internal_pseudonym_key()),
            keys.recipient_pseudonym_key("star-analyse", 1),
        ).to_pylist()
    )
    released = set(table.filter(pc.equal(table["dataset"], "lpr"))["person"].to_pylist())
    outside = all_lpr - expected_population(gateway, synthetic, "star-analyse")
    assert outside, "the synthetic data must have contacts of persons outside the population"
    assert not released & outside


def test_two_recipients_get_unlinkable_pseudonyms(gateway: Gateway, synthetic: Synthetic) -> None:
    push_all(gateway, synthetic)
    _, analyse = release_for(gateway, "star-analyse", LINKED)
    _, statistik = release_for(gateway, "star-statistik", {**LINKED, "purpose": "statistics"})
    a, s = set(analyse["person"].to_pylist()), set(statistik["person"].to_pylist())
    assert len(a) == len(s) > 0
    assert not a & s


def test_refusals_carry_rules_and_citations(gateway: Gateway) -> None:
    cases = {
        "restricted-dataset": ("star-statistik", "statistics", "sfi-hjemloese", ["situation"]),
        "purpose-binding": ("star-analyse", "administration", "flis-voksenhandicap", ["paragraph"]),
        "legal-basis": ("star-analyse", "analysis", "laegemiddelstatistik", ["atc_code"]),
        "grant-columns": ("star-analyse", "analysis", "lpr", ["kommune"]),
    }
    for rule, (recipient, purpose, dataset, columns) in cases.items():
        r = gateway.client.post(
            "/v1/extracts",
            headers=gateway.auth(recipient, Role.RECIPIENT),
            json={
                "purpose": purpose,
                "population": "persons-in-resource-course",
                **PERIOD,
                "datasets": [{"dataset": dataset, "columns": columns}],
            },
        )
        assert r.status_code == 403, rule
        assert r.headers["content-type"].startswith("application/problem+json")
        decision = r.json()["decision"]
        deciding = decision["datasets"][0]["rules"][-1]
        assert (deciding["rule"], deciding["outcome"]) == (rule, "deny")
        assert deciding["reason"]
        assert rule == "legal-basis" or deciding["citation"]
        assert decision["policy_hash"] == gateway.runtime.context.catalogue.policy_hash
    refused = gateway.runtime.store.search_audit(AuditQuery(event_type="extract.refused"))
    assert len(refused) == 4
    assert json.loads(refused[0].body)["details"]["decision"]["allowed"] is False


def test_a_misspelt_purpose_is_an_error_not_an_allow(gateway: Gateway) -> None:
    r = gateway.client.post(
        "/v1/extracts",
        headers=gateway.auth("star-analyse", Role.RECIPIENT),
        json={**LINKED, "purpose": "analyses"},
    )
    assert r.status_code == 422


def test_four_eyes(gateway: Gateway, synthetic: Synthetic) -> None:
    push_all(gateway, synthetic)
    lead = gateway.auth("star-analyse", Role.RECIPIENT, Role.APPROVER)
    ext = gateway.client.post("/v1/extracts", json=LINKED, headers=lead).json()
    url = f"/v1/extracts/{ext['id']}"
    assert gateway.client.post(f"{url}/releases", headers=lead).status_code == 409
    self_approval = gateway.client.post(f"{url}/approve", headers=lead)
    assert self_approval.status_code == 403 and "four-eyes" in self_approval.json()["detail"]
    recipient_only = gateway.client.post(
        f"{url}/approve", headers=gateway.auth("star-statistik", Role.RECIPIENT)
    )
    assert recipient_only.status_code == 403
    dpo = gateway.auth("dpo@star.dk", Role.APPROVER)
    assert (
        gateway.client.post(f"{url}/reject", headers=dpo, json={"note": "too broad"}).status_code
        == 200
    )
    assert gateway.client.post(f"{url}/approve", headers=dpo).status_code == 409
    assert gateway.client.post(f"{url}/releases", headers=lead).status_code == 409
    types = [e.type for e in gateway.runtime.store.audit_entries()]
    assert types.count("approval.refused") == 2 and "extract.rejected" in types


def test_recipients_cannot_see_each_others_extracts(gateway: Gateway, synthetic: Synthetic) -> None:
    push_all(gateway, synthetic)
    release, _ = release_for(gateway, "star-analyse", LINKED)
    other = gateway.auth("star-statistik", Role.RECIPIENT)
    assert (
        gateway.client.get(f"/v1/extracts/{release['extract_id']}", headers=other).status_code
        == 404
    )
    assert (
        gateway.client.get(f"/v1/releases/{release['id']}/content", headers=other).status_code
        == 404
    )
    listed = gateway.client.get("/v1/extracts", headers=other).json()["extracts"]
    assert listed == []
    csv = gateway.client.get(
        f"/v1/releases/{release['id']}/content",
        params={"format": "csv"},
        headers=gateway.auth("star-analyse", Role.RECIPIENT),
    )
    assert csv.status_code == 200 and csv.text.startswith('"person","dataset"')


@pytest.fixture
def expiring(tmp_path: Path, database_url: str) -> Iterator[Gateway]:
    """A gateway whose star-analyse lpr grant ends on 2026-12-31."""
    marker = "    population: persons-in-resource-course\n    columns: [contact_start"
    policies = edited_policies(
        tmp_path / "policies",
        {"grants/star-analyse.yaml": (marker, "    valid_to: 2026-12-31\n" + marker)},
    )
    with running_gateway(tmp_path / "var", policies, database_url) as gw:
        gw.runtime.context.clock = lambda: dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        yield gw


def test_an_expired_grant_blocks_the_release_of_an_approved_spec(
    expiring: Gateway, synthetic: Synthetic
) -> None:
    push_all(expiring, synthetic)
    recipient = expiring.auth("star-analyse", Role.RECIPIENT)
    ext = expiring.client.post("/v1/extracts", json=LINKED, headers=recipient).json()
    assert (
        expiring.client.post(
            f"/v1/extracts/{ext['id']}/approve", headers=expiring.auth("dpo", Role.APPROVER)
        ).status_code
        == 200
    )
    expiring.runtime.context.clock = lambda: dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
    r = expiring.client.post(f"/v1/extracts/{ext['id']}/releases", headers=recipient)
    assert r.status_code == 403
    assert "not in force" in r.text
    assert expiring.runtime.store.search_audit(AuditQuery(event_type="release.refused"))


def test_a_misspelt_name_is_a_422_with_suggestions_not_a_legal_refusal(gateway: Gateway) -> None:
    """A typo is a mistake to correct: 422 naming the nearest known names, and nothing in the
    audit trail that would read as a refusal under the law."""
    cases = {
        "column": {**LINKED, "datasets": [{"dataset": "lpr", "columns": ["contact_typ"]}]},
        "dataset": {**LINKED, "datasets": [{"dataset": "lrp", "columns": ["contact_type"]}]},
        "population": {**LINKED, "population": "persons-in-resource-courses"},
    }
    for kind, spec in cases.items():
        r = gateway.client.post(
            "/v1/extracts", json=spec, headers=gateway.auth("star-analyse", Role.RECIPIENT)
        )
        assert r.status_code == 422, (kind, r.status_code, r.text)
        error = r.json()["errors"][0]
        assert error["field"] == kind and error["suggestions"], (kind, error)
        assert "did you mean" in r.json()["detail"]
    refused = gateway.runtime.store.search_audit(AuditQuery(event_type="extract.refused"))
    assert refused == []


def test_an_approval_covers_the_runs_and_the_days_it_states(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    """One approval, one run by default: a second run needs a new approval. An approval valid
    until a day past covers no run."""
    push_all(gateway, synthetic)
    once = {k: v for k, v in LINKED.items() if k != "runs"}
    first, _ = release_for(gateway, "star-analyse", once)
    headers = gateway.auth("star-analyse", Role.RECIPIENT)
    again = gateway.client.post(f"/v1/extracts/{first['extract_id']}/releases", headers=headers)
    assert again.status_code == 409 and "covers 1 run(s)" in again.json()["detail"]
    refused = gateway.runtime.store.search_audit(AuditQuery(event_type="release.refused"))
    assert json.loads(refused[-1].body)["details"]["rule"] == "approval-limits"
    expired = {**once, "runs": 5, "valid_until": "2016-12-31"}
    ext = gateway.client.post("/v1/extracts", json=expired, headers=headers).json()
    ok = gateway.client.post(
        f"/v1/extracts/{ext['id']}/approve", headers=gateway.auth("dpo@star.dk", Role.APPROVER)
    )
    assert ok.status_code == 200
    late = gateway.client.post(f"/v1/extracts/{ext['id']}/releases", headers=headers)
    assert late.status_code == 409 and "ran until 2016-12-31" in late.json()["detail"]
    too_many = gateway.client.post("/v1/extracts", json={**once, "runs": 100}, headers=headers)
    assert too_many.status_code == 422
