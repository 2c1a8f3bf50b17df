"""Ingestion over HTTP (ASGI) into a real SQLite file and blob folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gateway.domain.principals import Role
from gateway.services.audit import trail as audit_service
from tests.conftest import Gateway, Synthetic

LPR_HEADER = "cpr,kommune,contact_start,contact_end,contact_type,diagnosis_chapter\n"


def _blobs(gateway: Gateway) -> list[Path]:
    root = gateway.settings.resolved_blobs_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _audit(gateway: Gateway) -> list[dict[str, object]]:
    import json

    return [json.loads(e.body) for e in gateway.runtime.store.audit_entries()]


def test_csv_delivery_gets_a_receipt(gateway: Gateway, synthetic: Synthetic) -> None:
    body = synthetic.bytes("lpr")
    r = gateway.push("sundhedsdatastyrelsen", "lpr", body)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["rows"] == synthetic.files["lpr"].rows
    assert receipt["sha256"] == hashlib.sha256(body).hexdigest()
    assert receipt["delivery_id"].startswith("dlv-") and not receipt["duplicate"]
    entry = _audit(gateway)[receipt["audit_index"]]
    assert entry["type"] == "delivery.accepted"
    assert entry["refs"]["delivery"] == receipt["delivery_id"]
    got = gateway.client.get(
        f"/v1/deliveries/{receipt['delivery_id']}",
        headers=gateway.auth("sundhedsdatastyrelsen", Role.SOURCE),
    )
    assert got.status_code == 200 and got.json()["rows"] == receipt["rows"]
    other = gateway.client.get(
        f"/v1/deliveries/{receipt['delivery_id']}", headers=gateway.auth("dfdg", Role.SOURCE)
    )
    assert other.status_code == 404


def test_parquet_delivery_is_accepted(gateway: Gateway, synthetic: Synthetic) -> None:
    assert synthetic.files["ssr"].format == "parquet"
    r = gateway.push("sundhedsdatastyrelsen", "ssr", synthetic.bytes("ssr"))
    assert r.status_code == 201, r.text
    assert r.json()["rows"] == synthetic.files["ssr"].rows


def test_same_content_twice_returns_the_first_receipt(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    body = synthetic.bytes("dfdg-indsats")
    first = gateway.push("dfdg", "dfdg-indsats", body)
    blobs, entries = _blobs(gateway), len(_audit(gateway))
    again = gateway.push("dfdg", "dfdg-indsats", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert _blobs(gateway) == blobs and len(_audit(gateway)) == entries
    other_period = gateway.push("dfdg", "dfdg-indsats", body, period="2016-12")
    assert other_period.status_code == 201
    assert other_period.json()["delivery_id"] != first.json()["delivery_id"]


def test_bad_delivery_is_refused_whole_and_nothing_is_stored(gateway: Gateway) -> None:
    rows = (
        ["0101701234,101,2016-11-01,,somatisk,F"] * 5
        + [
            "3002161234,101,2016-11-01,,somatisk,F",  # 30 Feb: not a date
            "0101701234,101,2016-13-01,,somatisk,F",  # month 13
            "0101701234,101,2016-11-01,,somatisk,Æ",  # not an ICD-10 chapter
        ]
        + ["01017O1234,101,2016-11-01,,somatisk,F"] * 120
    )  # letter O: format
    r = gateway.push("sundhedsdatastyrelsen", "lpr", (LPR_HEADER + "\n".join(rows)).encode())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["problem_count"] == 123 and len(problem["problems"]) == 100
    # Invalid values counted per column, all of them (the list stops at 100).
    assert problem["invalid_by_column"] == {
        "contact_start": 1,
        "cpr": 121,
        "diagnosis_chapter": 1,
    }
    first = problem["problems"][:3]
    assert [(p["row"], p["column"], p["code"]) for p in first] == [
        (6, "cpr", "invalid-cpr-date"),
        (7, "contact_start", "invalid-date"),
        (8, "diagnosis_chapter", "value-not-allowed"),
    ]
    assert "3002161234" not in r.text and "01017O1234" not in r.text
    assert _blobs(gateway) == []
    entry = _audit(gateway)[problem["audit_index"]]
    assert entry["type"] == "delivery.rejected"
    assert entry["details"]["problem_count"] == 123


def test_a_source_cannot_push_another_sources_dataset(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    r = gateway.push("dfdg", "lpr", synthetic.bytes("lpr"))  # dfdg does not own lpr
    assert r.status_code == 403
    assert "belongs to 'sundhedsdatastyrelsen'" in r.json()["detail"]
    r = gateway.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr"), as_="dfdg")
    assert r.status_code == 403  # token for dfdg on sundhedsdatastyrelsen's endpoint
    r = gateway.client.post(
        "/v1/sources/sundhedsdatastyrelsen/datasets/lpr/deliveries",
        params={"period": "2016-11"},
        content=synthetic.bytes("lpr"),
        headers=gateway.auth("sundhedsdatastyrelsen", Role.RECIPIENT),
    )
    assert r.status_code == 403  # right subject, wrong role
    refusals = [e for e in _audit(gateway) if e["type"] == "delivery.refused"]
    assert len(refusals) == 3
    assert _blobs(gateway) == []


def test_authentication_is_required(gateway: Gateway, synthetic: Synthetic) -> None:
    url = "/v1/sources/sundhedsdatastyrelsen/datasets/lpr/deliveries?period=2016-11"
    assert gateway.client.post(url, content=b"x").status_code == 401
    bad = gateway.client.post(url, content=b"x", headers={"Authorization": "Bearer abc.def.ghi"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"


def test_no_legal_basis_no_delivery(gateway: Gateway, synthetic: Synthetic) -> None:
    r = gateway.push(
        "sundhedsdatastyrelsen", "laegemiddelstatistik", synthetic.bytes("laegemiddelstatistik")
    )
    assert r.status_code == 403
    assert "no legal basis" in r.json()["detail"]
    assert _blobs(gateway) == []


def test_unknown_dataset_and_bad_period(gateway: Gateway, synthetic: Synthetic) -> None:
    assert gateway.push("sundhedsdatastyrelsen", "lpr-tandlaege", b"x").status_code == 404
    r = gateway.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr"), period="2016-13")
    assert r.status_code == 422


def test_every_delivery_leaves_a_verifiable_trail(gateway: Gateway, synthetic: Synthetic) -> None:
    for dataset, f in synthetic.files.items():
        gateway.push(f.source, dataset, synthetic.bytes(dataset))
    types = [e["type"] for e in _audit(gateway)]
    accepted = len(synthetic.files) - 1  # every dataset but prescriptions (no legal basis)
    assert types.count("delivery.accepted") == accepted and types.count("delivery.refused") == 1
    assert audit_service.verify(gateway.runtime.context).ok


def test_health_readiness_and_metrics(gateway: Gateway, synthetic: Synthetic) -> None:
    assert gateway.client.get("/healthz").json() == {"status": "ok"}
    assert gateway.client.get("/readyz").json() == {"status": "ready"}  # nothing more
    ops = gateway.auth("ops", Role.OPERATOR)
    ready = gateway.client.get("/readyz", headers=ops).json()
    assert ready["status"] == "ready" and ready["audit_entries"] >= 2
    gateway.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr"))
    gateway.push("dfdg", "lpr", synthetic.bytes("lpr"))  # refused
    assert gateway.client.get("/metrics").status_code == 401
    assert (
        gateway.client.get("/metrics", headers=gateway.auth("x", Role.AUDITOR)).status_code == 403
    )
    text = gateway.client.get("/metrics", headers=gateway.auth("ops", Role.OPERATOR)).text
    assert 'gateway_deliveries_total{dataset="lpr",outcome="accepted"}' in text
    assert 'gateway_deliveries_total{dataset="lpr",outcome="refused"}' in text
    assert 'gateway_refusals_total{code="forbidden"}' in text
    assert "gateway_delivery_rows_total" in text and "gateway_audit_entries " in text
    assert 'route="/v1/sources/{source}/datasets/{dataset}/deliveries"' in text
    assert "dlv-" not in text  # no ids in labels
    assert 'route="/healthz",status="200"' in text


def test_every_response_carries_a_request_id(gateway: Gateway) -> None:
    given = gateway.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = {gateway.client.get("/healthz").headers["X-Request-ID"] for _ in range(2)}
    assert len(made) == 2 and all(len(i) == 36 and i.startswith("req-") for i in made)
    missing = gateway.client.get("/v1/no-such-thing")
    assert missing.status_code == 404 and missing.headers["X-Request-ID"]


def test_a_body_over_the_limit_stops_mid_stream_and_leaves_nothing(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    # The push reads the body while it arrives; cutting it off must not leave a delivery, a
    # blob, a spool file or an entry that treats the cut-off part as a complete file.
    body = synthetic.bytes("lpr")
    settings = gateway.runtime.settings
    limit = settings.max_delivery_bytes
    object.__setattr__(settings, "max_delivery_bytes", len(body) // 2)
    chunks = [body[i : i + 8192] for i in range(0, len(body), 8192)]
    try:
        entries = len(_audit(gateway))
        declared = gateway.push("sundhedsdatastyrelsen", "lpr", body)  # Content-Length: at once
        r = gateway.client.post(  # chunked, no length declared: stopped mid-stream
            "/v1/sources/sundhedsdatastyrelsen/datasets/lpr/deliveries",
            params={"period": "2016-11"},
            content=iter(chunks),
            headers=gateway.auth("sundhedsdatastyrelsen", Role.SOURCE),
        )
    finally:
        object.__setattr__(settings, "max_delivery_bytes", limit)
    assert declared.status_code == 413 and "limit" in declared.json()["detail"], declared.text
    assert r.status_code == 413 and "limit" in r.json()["detail"], r.text
    assert _blobs(gateway) == []
    assert len(_audit(gateway)) == entries  # no accepted, no rejected entry for half a file
    spool = gateway.runtime.context.work.spool
    assert list(spool.iterdir()) == []
    assert gateway.push("sundhedsdatastyrelsen", "lpr", body).status_code == 201  # all well
