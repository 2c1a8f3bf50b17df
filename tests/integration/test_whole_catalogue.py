"""The whole catalogue, end to end: every dataset is generated, pushed (each with its quality
report), and released to every recipient a grant names, in the form the grant allows."""

from __future__ import annotations

from typing import Any

from gateway.domain.catalogue import Catalogue, Grant, OutputForm
from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic

PERIOD = {"period_from": "2016-11", "period_to": "2016-11"}


def _spec(grant: Grant) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "purpose": sorted(p.value for p in grant.purposes)[0],
        "population": grant.population,
        **PERIOD,
        "datasets": [{"dataset": grant.dataset, "columns": list(grant.columns)}],
    }
    if OutputForm.MICRODATA not in grant.outputs:  # aggregates only: the total of persons
        spec["output"] = "aggregate"
        spec["aggregate"] = {"dataset": grant.dataset, "statistic": "persons", "dimensions": []}
    return spec


def test_every_dataset_is_pushed_with_a_quality_report_and_released_where_a_grant_allows(
    gateway: Gateway, synthetic: Synthetic, catalogue: Catalogue
) -> None:
    assert set(synthetic.files) == set(catalogue.datasets)  # the generator makes every one
    for dataset, ds in catalogue.datasets.items():
        r = gateway.push(ds.owner, dataset, synthetic.bytes(dataset))
        if ds.collection_basis is None:  # prescriptions: no legal basis to receive them
            assert r.status_code == 403, r.text
            continue
        assert r.status_code == 201, (dataset, r.text)
        report = r.json()["quality"]
        assert report["rows"] == r.json()["rows"] == synthetic.files[dataset].rows
        assert report["status"] in ("ok", "flagged")
        if any(c.type.value == "municipality" for c in ds.columns):
            assert report["coverage"]["of"] == len(catalogue.municipalities)

    released: set[tuple[str, str]] = set()
    for grant in catalogue.grants:
        ext = gateway.client.post(
            "/v1/extracts", json=_spec(grant), headers=gateway.auth(grant.recipient, Role.RECIPIENT)
        )
        assert ext.status_code == 201, (grant.id, ext.text)
        ok = gateway.client.post(
            f"/v1/extracts/{ext.json()['id']}/approve",
            headers=gateway.auth("dpo@star.dk", Role.APPROVER),
        )
        assert ok.status_code == 200, (grant.id, ok.text)
        rel = gateway.client.post(
            f"/v1/extracts/{ext.json()['id']}/releases",
            headers=gateway.auth(grant.recipient, Role.RECIPIENT),
        )
        assert rel.status_code == 201, (grant.id, rel.text)
        body = rel.json()
        assert body["status"] == "released", (grant.id, body)
        [read] = [i for i in body["inputs"] if i["dataset"] == grant.dataset]
        assert read["quality"]["status"] in ("ok", "flagged")  # what the recipient must know
        assert "municipalities" not in read["quality"]  # no counts of small groups
        released.add((grant.recipient, grant.dataset))
    # Every dataset but the two the law keeps in (prescriptions, homelessness) reaches someone.
    reached = {dataset for _, dataset in released}
    assert reached == set(catalogue.datasets) - {"laegemiddelstatistik", "sfi-hjemloese"}
    aggregates_only = {d for r, d in released if r == "star-dst-ministerieordning"}
    assert aggregates_only >= {"flis-voksenhandicap", "dst-uddannelse", "dst-forsorgshjem"}
