"""Aggregate extracts over HTTP: checked against counts computed independently from the
plaintext source files; pass releases, review waits for four eyes, fail is refused with the
checker's report; restricted data never appear in a table unless a policy says so."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gateway.domain.audit_query import AuditQuery
from gateway.domain.principals import Role
from gateway.reports.bundle import json_bytes
from tests.conftest import EXACT_COUNTS, Gateway, Synthetic, edited_policies, running_gateway
from tests.identity import bearer, provider
from tests.integration.test_extracts_api import push_all

PERIOD = {"period_from": "2016-11", "period_to": "2016-11"}
DFDG_COLUMNS = ["kommune", "record_type", "offer_type", "start_date", "end_date"]
BY_KOMMUNE = {
    "purpose": "statistics",
    "runs": 12,  # the tests run some specifications more than once
    "population": "everyone",
    **PERIOD,
    "datasets": [{"dataset": "dfdg-indsats", "columns": DFDG_COLUMNS}],
    "output": "aggregate",
    "aggregate": {"dataset": "dfdg-indsats", "statistic": "persons", "dimensions": ["kommune"]},
}
SERVICES_SUM = {
    "purpose": "statistics",
    "runs": 12,
    "population": "persons-in-resource-course",
    **PERIOD,
    "datasets": [
        {"dataset": "dfdg-indsats", "columns": DFDG_COLUMNS},
        {"dataset": "ssr", "columns": ["service_date", "provider_type", "services"]},
    ],
    "output": "aggregate",
    "aggregate": {
        "dataset": "ssr",
        "statistic": "sum",
        "value": "services",
        "dimensions": ["provider_type"],
    },
}
DPO = ("dpo@star.dk", Role.APPROVER)


def approved(gateway: Gateway, recipient: str, spec: dict[str, Any]) -> str:
    ext = gateway.client.post(
        "/v1/extracts", json=spec, headers=gateway.auth(recipient, Role.RECIPIENT)
    )
    assert ext.status_code == 201, ext.text
    ok = gateway.client.post(f"/v1/extracts/{ext.json()['id']}/approve", headers=gateway.auth(*DPO))
    assert ok.status_code == 200, ok.text
    return str(ext.json()["id"])


def run(gateway: Gateway, recipient: str, extract_id: str) -> Any:
    return gateway.client.post(
        f"/v1/extracts/{extract_id}/releases", headers=gateway.auth(recipient, Role.RECIPIENT)
    )


def persons_by_kommune(synthetic: Synthetic) -> dict[str, int]:
    """Distinct CPRs per municipality among dfdg rows overlapping November 2016, from the
    plaintext file (the CPR normalised: with or without the dash is one person)."""
    table = pacsv.read_csv(
        synthetic.path("dfdg-indsats"),
        convert_options=pacsv.ConvertOptions(
            column_types={"cpr": pa.string(), "kommune": pa.string()}
        ),
    )
    overlap = pc.and_kleene(
        pc.less_equal(table["start_date"], pa.scalar(dt.date(2016, 11, 30))),
        pc.or_kleene(
            pc.is_null(table["end_date"]),
            pc.greater_equal(table["end_date"], pa.scalar(dt.date(2016, 11, 1))),
        ),
    )
    rows = table.filter(overlap)
    rows = rows.set_column(0, "cpr", pc.replace_substring(rows["cpr"], "-", ""))
    grouped = rows.group_by("kommune").aggregate([("cpr", "count_distinct")]).to_pylist()
    return {r["kommune"]: r["cpr_count_distinct"] for r in grouped}


def bundle(gateway: Gateway, recipient: str, release_id: str) -> dict[str, bytes]:
    r = gateway.client.get(
        f"/v1/releases/{release_id}/content",
        params={"format": "zip"},
        headers=gateway.auth(recipient, Role.RECIPIENT),
    )
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).hexdigest() == r.headers["X-Content-SHA256-Zip"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def test_a_passing_aggregate_is_released_with_the_checker_report(
    exact_gateway: Gateway, synthetic: Synthetic
) -> None:
    gateway = exact_gateway
    push_all(gateway, synthetic)
    rel = run(gateway, "star-statistik", approved(gateway, "star-statistik", BY_KOMMUNE))
    assert rel.status_code == 201, rel.text
    body = rel.json()
    assert (body["status"], body["sdc_status"], body["kind"]) == ("released", "pass", "aggregate")
    assert body["identifier"] == "none" and "report_blob_key" not in body
    files = bundle(gateway, "star-statistik", body["id"])
    assert set(files) == {  # the checker's report is for the reviewers, not in the bundle
        "tables/dfdg-indsats-persons.csv",
        "tables/dfdg-indsats-persons.json",
    }
    table = pacsv.read_csv(
        io.BytesIO(files["tables/dfdg-indsats-persons.csv"]),
        convert_options=pacsv.ConvertOptions(column_types={"kommune": pa.string()}),
    ).to_pylist()
    expected = persons_by_kommune(synthetic)
    assert len(table) == 99  # 98 municipalities and the total
    hidden = 0
    for row in table[:-1]:
        truth = expected.get(row["kommune"], 0)
        if row["persons"] is None:
            hidden += 1
            assert row["flag"] == "suppressed"  # one flag: never which rule
        else:
            assert row["persons"] == truth
            assert truth == 0 or truth >= 5
        if 0 < truth < 5:
            assert row["persons"] is None, row
    assert hidden > 0  # at 5 % scale some municipalities have fewer than five persons
    assert table[-1]["kommune"] == "Total"
    # The checker's report: ACRO's layout, for the approvers and auditors (never the
    # recipient: it tells a threshold cell from its secondary partners), and in the audit entry.
    path = f"/v1/releases/{body['id']}/disclosure-report"
    mine = gateway.client.get(path, headers=gateway.auth("star-statistik", Role.RECIPIENT))
    assert mine.status_code == 404
    report = gateway.client.get(path, headers=gateway.auth(*DPO)).json()
    assert report["results"]["output_0"]["status"] == "pass"
    assert report["results"]["output_0"]["files"][0]["sdc"]["summary"]["threshold"] > 0
    entry = gateway.runtime.store.search_audit(AuditQuery(event_type="release.created"))[-1]
    details = json.loads(entry.body)["details"]
    assert details["disclosure"]["report_sha256"] == hashlib.sha256(json_bytes(report)).hexdigest()
    # Metadata carries no exact person count outside published cells: the published total.
    assert body["persons"] == table[-1]["persons"]
    # The recipient's own receipt commits to the report by hash; what each check found is not
    # in it.
    receipt_entry = body["audit"]["entry"]
    assert details["disclosure"]["report_sha256"] in receipt_entry
    assert "threshold" not in receipt_entry and "secondary" not in receipt_entry
    assert details["sha256"] == body["sha256"]
    # A single table also comes as CSV; an aggregate never as Parquet.
    headers = gateway.auth("star-statistik", Role.RECIPIENT)
    csv = gateway.client.get(f"/v1/releases/{body['id']}/content?format=csv", headers=headers)
    assert csv.content == files["tables/dfdg-indsats-persons.csv"]
    parquet = f"/v1/releases/{body['id']}/content?format=parquet"
    assert gateway.client.get(parquet, headers=headers).status_code == 404


def _ssr_with_a_negative_value(synthetic: Synthetic) -> bytes:
    table = pq.read_table(synthetic.path("ssr"))
    services = table["services"].to_pylist()
    services[0] = -3  # a correction booked as a negative count
    table = table.set_column(
        table.schema.get_field_index("services"), "services", pa.array(services)
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_negative_contributions_wait_for_a_second_person(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    for dataset in ("dfdg-indsats", "ssr"):
        f = synthetic.files[dataset]
        body = (
            _ssr_with_a_negative_value(synthetic) if dataset == "ssr" else synthetic.bytes(dataset)
        )
        assert gateway.push(f.source, dataset, body).status_code == 201
    held = []
    both = gateway.auth("star-statistik", Role.RECIPIENT, Role.APPROVER)
    for _ in range(2):  # run by a client that also holds the approver role
        extract_id = approved(gateway, "star-statistik", SERVICES_SUM)
        rel = gateway.client.post(f"/v1/extracts/{extract_id}/releases", headers=both)
        assert rel.status_code == 201, rel.text
        assert (rel.json()["status"], rel.json()["sdc_status"]) == ("pending-review", "review")
        held.append(rel.json()["id"])
    recipient = gateway.auth("star-statistik", Role.RECIPIENT)
    pulled = gateway.client.get(f"/v1/releases/{held[0]}/content", headers=recipient)
    assert pulled.status_code == 409
    queue = gateway.client.get("/v1/releases", headers=gateway.auth(*DPO)).json()["releases"]
    assert [r["id"] for r in queue] == held
    assert gateway.client.get("/v1/releases", headers=recipient).status_code == 403
    path = f"/v1/releases/{held[0]}/disclosure-report"
    assert gateway.client.get(path, headers=recipient).status_code == 404
    report = gateway.client.get(path, headers=gateway.auth(*DPO))
    assert "negative" in report.json()["results"]["output_0"]["summary"]
    # Four eyes: whoever requested or ran it cannot review its release.
    mine = gateway.client.post(f"/v1/releases/{held[0]}/release", headers=both)
    assert mine.status_code == 403 and "four-eyes" in mine.json()["detail"]
    # Two independent, blind votes (policies/disclosure.yaml: review_votes 2).
    legal = gateway.auth("legal@star.dk", Role.APPROVER)
    jurist = bearer(provider().person("jurist"))
    first = gateway.client.post(
        f"/v1/releases/{held[0]}/release", json={"note": "corrections, checked"}, headers=legal
    )
    assert first.status_code == 200 and first.json()["status"] == "pending-review"
    assert "votes" not in first.text  # the vote itself is nobody's business yet
    twice = gateway.client.post(f"/v1/releases/{held[0]}/release", headers=legal)
    assert twice.status_code == 409
    ok = gateway.client.post(f"/v1/releases/{held[0]}/release", headers=jurist)
    assert ok.status_code == 200 and ok.json()["status"] == "released"
    assert ok.json()["reviewed_by"] == "hub-legal/legal/person:jurist[approver]"
    assert set(bundle(gateway, "star-statistik", held[0])) >= {"tables/ssr-sum.csv"}
    entry = gateway.runtime.store.search_audit(AuditQuery(event_type="release.review-released"))
    votes = json.loads(entry[-1].body)["details"]["votes"]
    assert [v["vote"] for v in votes] == ["release", "release"]
    voted = gateway.runtime.store.search_audit(AuditQuery(event_type="release.voted"))
    assert "release" not in json.loads(voted[-1].body)["details"].values()
    # Votes that differ: conflicted, nothing leaves; the votes are open to the reviewers, and
    # the one who withheld closes the review as withheld (one withhold withholds).
    assert gateway.client.post(f"/v1/releases/{held[1]}/release", headers=legal).status_code == 200
    no = gateway.client.post(
        f"/v1/releases/{held[1]}/withhold", json={"note": "dominance"}, headers=jurist
    )
    assert no.status_code == 200 and no.json()["status"] == "pending-review"
    assert (
        gateway.client.get(f"/v1/releases/{held[1]}/content", headers=recipient).status_code == 409
    )
    conflicted = gateway.runtime.store.search_audit(
        AuditQuery(event_type="release.review-conflicted")
    )
    opened = json.loads(conflicted[-1].body)["details"]["votes"]
    assert {v["vote"] for v in opened} == {"release", "withhold"}
    no = gateway.client.post(f"/v1/releases/{held[1]}/withhold", headers=jurist)
    assert no.status_code == 200 and no.json()["status"] == "withheld"
    gone = gateway.client.get(f"/v1/releases/{held[1]}/content", headers=recipient)
    assert gone.status_code == 409 and "withheld" in gone.json()["detail"]
    again = gateway.client.post(f"/v1/releases/{held[1]}/release", headers=legal)
    assert again.status_code == 409
    types = [e.type for e in gateway.runtime.store.search_audit(AuditQuery(limit=1000))]
    assert types.count("release.held-for-review") == 2
    assert "release.review-released" in types and "release.withheld" in types


def test_a_failing_aggregate_is_refused_with_reasons(
    tmp_path: Path, synthetic: Synthetic, database_url: str
) -> None:
    policies = edited_policies(
        tmp_path / "policies",
        {
            "disclosure.yaml": [
                ("suppress: true", "suppress: false"),
                EXACT_COUNTS["disclosure.yaml"],
            ]
        },
    )
    with running_gateway(tmp_path / "var", policies, database_url) as gw:
        f = synthetic.files["dfdg-indsats"]
        assert gw.push(f.source, "dfdg-indsats", synthetic.bytes("dfdg-indsats")).status_code == 201
        rel = run(gw, "star-statistik", approved(gw, "star-statistik", BY_KOMMUNE))
        assert rel.status_code == 403, rel.text
        problem = rel.json()
        assert problem["type"].endswith("/disclosure-refused")
        # Why, not where: the rule and the table's dimensions, never a cell's outcome.
        assert problem["failed"] == [
            {"table": "dfdg-indsats-persons", "dimensions": ["kommune"], "rules": ["threshold"]}
        ]
        assert set(problem) == {
            "type",
            "title",
            "status",
            "detail",
            "instance",
            "release",
            "failed",
            "audit_index",
        }
        for word in ("cell", "output_0", "results", "row"):
            assert word not in json.dumps({k: problem[k] for k in ("detail", "failed")})
        # The full report waits in the approvers' queue, as a refused release.
        refused = gw.client.get("/v1/releases?status=refused", headers=gw.auth(*DPO))
        assert [r["id"] for r in refused.json()["releases"]] == [problem["release"]]
        report = gw.client.get(
            f"/v1/releases/{problem['release']}/disclosure-report", headers=gw.auth(*DPO)
        ).json()
        assert report["results"]["output_0"]["status"] == "fail"
        entry = gw.runtime.store.search_audit(AuditQuery(event_type="release.refused"))[-1]
        details = json.loads(entry.body)["details"]
        assert (
            details["disclosure"]["report_sha256"] == hashlib.sha256(json_bytes(report)).hexdigest()
        )
        pulled = gw.client.get(
            f"/v1/releases/{problem['release']}/content",
            headers=gw.auth("star-statistik", Role.RECIPIENT),
        )
        assert pulled.status_code == 409
        listed = gw.client.get("/v1/releases?status=released", headers=gw.auth(*DPO))
        assert listed.json()["releases"] == []


HOMELESS = {
    "purpose": "statistics",
    "population": "everyone",
    **PERIOD,
    "datasets": [{"dataset": "sfi-hjemloese", "columns": ["kommune", "count_date", "situation"]}],
    "output": "aggregate",
    "aggregate": {"dataset": "sfi-hjemloese", "dimensions": ["situation"]},
}
EXCEPTION_GRANT = """  - id: star-statistik-sfi-hjemloese
    recipient: star-statistik
    dataset: sfi-hjemloese
    purposes: [statistics]
    citation: Test fixture - an explicit statutory exception for aggregated counts only.
    restricted_exception: Test fixture - explicit exception for aggregated counts, no microdata.
    population: everyone
    columns: [kommune, count_date, situation]
    outputs: [aggregate]
    valid_from: 2013-01-01
    retention:
      days_after_pull: 30
      recipient_deletion_days: 30
      citation: Test fixture - aggregates only; the hub keeps nothing person-level for it.
    dpia:
      reference: "DPIA fixture: aggregated counts of homelessness"
      review_by: 2030-01-01
"""


def test_restricted_data_never_appear_in_an_aggregate_unless_a_policy_allows(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    with running_gateway(tmp_path / "shipped") as gw:
        f = synthetic.files["sfi-hjemloese"]
        assert (
            gw.push(f.source, "sfi-hjemloese", synthetic.bytes("sfi-hjemloese")).status_code == 201
        )
        r = gw.client.post(
            "/v1/extracts", json=HOMELESS, headers=gw.auth("star-statistik", Role.RECIPIENT)
        )
        assert r.status_code == 403
        assert r.json()["decision"]["datasets"][0]["deciding_rule"] == "restricted-dataset"
    grants = (Path(__file__).parents[2] / "policies" / "grants" / "star-statistik.yaml").read_text()
    policies = edited_policies(
        tmp_path / "policies", {"grants/star-statistik.yaml": (grants, grants + EXCEPTION_GRANT)}
    )
    with running_gateway(tmp_path / "excepted", policies) as gw:
        f = synthetic.files["sfi-hjemloese"]
        assert (
            gw.push(f.source, "sfi-hjemloese", synthetic.bytes("sfi-hjemloese")).status_code == 201
        )
        micro = {k: v for k, v in HOMELESS.items() if k not in ("output", "aggregate")}
        r = gw.client.post(
            "/v1/extracts", json=micro, headers=gw.auth("star-statistik", Role.RECIPIENT)
        )
        assert r.status_code == 403  # the exception covers aggregates only
        rel = run(gw, "star-statistik", approved(gw, "star-statistik", HOMELESS))
        assert rel.status_code == 201, rel.text
        assert rel.json()["kind"] == "aggregate"


def test_gender_and_age_band_come_from_the_cpr(
    exact_gateway: Gateway, synthetic: Synthetic
) -> None:
    """Derived at ingestion (the CPR itself is never stored): checked against the scalar CPR
    rules applied to the plaintext file."""
    gateway = exact_gateway
    from gateway.domain import cpr

    f = synthetic.files["dfdg-indsats"]
    assert (
        gateway.push(f.source, "dfdg-indsats", synthetic.bytes("dfdg-indsats")).status_code == 201
    )
    spec = {
        **BY_KOMMUNE,
        "aggregate": {"dataset": "dfdg-indsats", "dimensions": ["gender", "age_band"]},
    }
    rel = run(gateway, "star-statistik", approved(gateway, "star-statistik", spec))
    assert rel.status_code == 201, rel.text
    files = bundle(gateway, "star-statistik", rel.json()["id"])
    table = pacsv.read_csv(io.BytesIO(files["tables/dfdg-indsats-persons.csv"])).to_pylist()
    plain = pacsv.read_csv(
        synthetic.path("dfdg-indsats"),
        convert_options=pacsv.ConvertOptions(column_types={"cpr": pa.string()}),
    ).to_pylist()
    first, last = dt.date(2016, 11, 1), dt.date(2016, 11, 30)
    expected: dict[tuple[str, str], set[str]] = {}
    for row in plain:
        if row["start_date"] > last or (row["end_date"] and row["end_date"] < first):
            continue
        digits = row["cpr"].replace("-", "")
        born = cpr.birth_date(digits)
        assert born is not None
        age = 2016 - born.year
        band = next(
            (
                b
                for edge, b in zip(
                    (30, 40, 50, 60), ("under 30", "30-39", "40-49", "50-59"), strict=True
                )
                if age < edge
            ),
            "60 and over",
        )
        sex = "kvinde" if int(digits[-1]) % 2 == 0 else "mand"
        for key in ((sex, band), (sex, "Total"), ("Total", band), ("Total", "Total")):
            expected.setdefault(key, set()).add(digits)
    assert len(table) == 3 * 6
    for row in table:
        truth = len(expected.get((row["gender"], row["age_band"]), set()))
        if row["persons"] is None:
            assert row["flag"] == "suppressed"  # one flag: never which rule
        else:
            assert row["persons"] == truth, row


def test_a_margin_minus_a_cell_is_never_a_small_count_of_persons(
    exact_gateway: Gateway, synthetic: Synthetic, tmp_path: Path
) -> None:
    """Persons with courses in both October and November are counted in both months, so the
    municipality's total is not the sum of its months: Total - November is the number of
    persons seen in October only. No such published difference may be 1 to 4."""
    gateway = exact_gateway
    from gateway.dataplane import synth
    from gateway.domain.policy_files import load_catalogue
    from tests.conftest import POLICIES

    october = synth.generate(load_catalogue(POLICIES), tmp_path, period="2016-10", scale=0.05)
    dfdg = next(f for f in october if f.dataset == "dfdg-indsats")
    assert (
        gateway.push(
            dfdg.source, dfdg.dataset, (tmp_path / dfdg.path).read_bytes(), "2016-10"
        ).status_code
        == 201
    )
    assert gateway.push("dfdg", "dfdg-indsats", synthetic.bytes("dfdg-indsats")).status_code == 201
    spec = {
        **BY_KOMMUNE,
        "period_from": "2016-10",
        "period_to": "2016-11",
        "aggregate": {**BY_KOMMUNE["aggregate"], "dimensions": ["kommune", "month"]},
    }
    rel = run(gateway, "star-statistik", approved(gateway, "star-statistik", spec))
    assert rel.status_code == 201, rel.text
    files = bundle(gateway, "star-statistik", rel.json()["id"])
    rows = pacsv.read_csv(
        io.BytesIO(files["tables/dfdg-indsats-persons.csv"]),
        convert_options=pacsv.ConvertOptions(
            column_types={"kommune": pa.string(), "month": pa.string()}
        ),
    ).to_pylist()
    value = {(r["kommune"], r["month"]): r["persons"] for r in rows}
    kommuner = {k for k, _ in value}
    months = {m for _, m in value}
    checked = 0
    for k in kommuner:
        for m in months:
            cell = value[(k, m)]
            for container in (value[(k, "Total")], value[("Total", m)], value[("Total", "Total")]):
                if cell is not None and container is not None and (k, m) != ("Total", "Total"):
                    checked += 1
                    assert not 0 < container - cell < 5, (k, m, container, cell)
    assert checked > 100


def _published(gateway: Gateway, release_id: str) -> dict[str, int | None]:
    files = bundle(gateway, "star-statistik", release_id)
    rows = pacsv.read_csv(
        io.BytesIO(files["tables/dfdg-indsats-persons.csv"]),
        convert_options=pacsv.ConvertOptions(column_types={"kommune": pa.string()}),
    ).to_pylist()
    return {r["kommune"]: r["persons"] for r in rows}


def test_the_ledger_stops_differencing_across_releases(
    exact_gateway: Gateway, synthetic: Synthetic, tmp_path: Path
) -> None:
    """A recipient's releases in sequence: November; October-November (a longer period);
    November again after a corrected delivery (a few rows fewer); November for a nested
    population; November-December (overlapping). No two published counts of one municipality,
    in periods with a month in common, differ by 1 to 4."""
    gateway = exact_gateway
    from gateway.dataplane import synth
    from gateway.domain.policy_files import load_catalogue
    from tests.conftest import POLICIES

    october = synth.generate(load_catalogue(POLICIES), tmp_path, period="2016-10", scale=0.05)
    dfdg = next(f for f in october if f.dataset == "dfdg-indsats")
    body = (tmp_path / dfdg.path).read_bytes()
    assert gateway.push("dfdg", "dfdg-indsats", body, "2016-10").status_code == 201
    november = synthetic.bytes("dfdg-indsats")
    assert gateway.push("dfdg", "dfdg-indsats", november).status_code == 201

    def release(spec: dict[str, Any]) -> tuple[str, dict[str, int | None], tuple[str, str]]:
        rel = run(gateway, "star-statistik", approved(gateway, "star-statistik", spec))
        assert rel.status_code == 201, rel.text
        return (
            rel.json()["id"],
            _published(gateway, rel.json()["id"]),
            (
                spec["period_from"],
                spec["period_to"],
            ),
        )

    seen = [release(BY_KOMMUNE)]
    seen.append(release({**BY_KOMMUNE, "period_from": "2016-10"}))
    header, *lines = november.decode().splitlines()
    corrected = "\n".join([header, *lines[:-7]]) + "\n"  # the last rows withdrawn
    assert gateway.push("dfdg", "dfdg-indsats", corrected.encode()).status_code == 201
    seen.append(release(BY_KOMMUNE))
    seen.append(release({**BY_KOMMUNE, "population": "persons-in-resource-course"}))
    december = synth.generate(
        load_catalogue(POLICIES), tmp_path / "dec", period="2016-12", scale=0.05
    )
    dfdg_dec = next(f for f in december if f.dataset == "dfdg-indsats")
    body = (tmp_path / "dec" / dfdg_dec.path).read_bytes()
    assert gateway.push("dfdg", "dfdg-indsats", body, "2016-12").status_code == 201
    seen.append(release({**BY_KOMMUNE, "period_from": "2016-11", "period_to": "2016-12"}))
    differenced = 0
    for i, (_, first, p1) in enumerate(seen):
        for _, second, p2 in seen[i + 1 :]:
            assert p1[0] <= p2[1] and p2[0] <= p1[1]  # a month in common
            for kommune, value in second.items():
                earlier = first.get(kommune)
                if value is not None and earlier is not None:
                    assert not 0 < abs(value - earlier) < 5, (kommune, earlier, value)
    for release_id, _, _ in seen[1:]:
        report = gateway.client.get(
            f"/v1/releases/{release_id}/disclosure-report", headers=gateway.auth(*DPO)
        ).json()
        differenced += report["results"]["output_0"]["files"][0]["sdc"]["summary"].get(
            "differencing", 0
        )
    assert differenced > 0  # the ledger did hide cells that the releases would have given away


def test_the_cell_key_method_gives_consistent_bounded_noise(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    """The default method: the same persons get the same noise in every release, noise is
    bounded by the p-table, and no count under the threshold is shown."""
    gw = gateway
    if True:
        f = synthetic.files["dfdg-indsats"]
        assert gw.push(f.source, "dfdg-indsats", synthetic.bytes("dfdg-indsats")).status_code == 201
        extract = approved(gw, "star-statistik", BY_KOMMUNE)
        first = run(gw, "star-statistik", extract)
        second = run(gw, "star-statistik", extract)  # the same persons: the same noise
        assert first.status_code == second.status_code == 201, second.text
        one = _published(gw, first.json()["id"])
        assert one == _published(gw, second.json()["id"])
        truth = persons_by_kommune(synthetic)
        noisy = 0
        for kommune, value in one.items():
            if kommune == "Total" or value is None:
                continue
            assert value == 0 or value >= 5
            if truth.get(kommune, 0) >= 7:
                assert abs(value - truth[kommune]) <= 2
                noisy += value != truth[kommune]
        assert noisy > 0  # some counts were perturbed


def test_an_aggregate_whose_inputs_are_missing_is_a_409_naming_them(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    """Not a disclosure refusal of empty tables: the months and datasets not yet delivered."""
    f = synthetic.files["dfdg-indsats"]
    assert (
        gateway.push(f.source, "dfdg-indsats", synthetic.bytes("dfdg-indsats")).status_code == 201
    )
    spec = {**BY_KOMMUNE, "period_from": "2016-10", "period_to": "2016-11"}
    r = run(gateway, "star-statistik", approved(gateway, "star-statistik", spec))
    assert r.status_code == 409, r.text
    assert r.json()["missing"] == ["dfdg-indsats 2016-10"]
    assert "dfdg-indsats 2016-10" in r.json()["detail"] and len(r.text) < 2000
