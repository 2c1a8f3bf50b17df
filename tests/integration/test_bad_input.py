"""Bad input gets a clear 4xx, never a 5xx: periods, ids, headers, files, tokens, specs, bodies.

Each case is a member of a class the attack found (a ``$`` that matches before a newline, a
year that passes a pattern but not the calendar, CSV and Parquet shapes the reader did not
expect, integers past the database's range, signed tokens of the wrong shape, aggregate tables
that can never be computed, bodies read before the token was checked). Hypothesis then tries
arbitrary text in the same places.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import socket
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic
from tests.identity import bearer, signer
from tests.integration.test_aggregates_api import BY_KOMMUNE
from tests.integration.test_extracts_api import push_all

SOURCE, LPR = "sundhedsdatastyrelsen", "lpr"


@pytest.fixture
def gateway(served: Gateway) -> Gateway:
    """Every test here talks to a real server on a loopback socket, on both backends."""
    return served


LPR_PATH = f"/v1/sources/{SOURCE}/datasets/{LPR}/deliveries"


def _push(gw: Gateway, body: bytes, period: str = "2016-11") -> Any:
    return gw.client.post(
        LPR_PATH, params={"period": period}, content=body, headers=gw.auth(SOURCE, Role.SOURCE)
    )


def test_periods_are_full_matches_of_real_months(gateway: Gateway, synthetic: Synthetic) -> None:
    body = synthetic.bytes(LPR)
    for period in ("2016-11\n", "2016-11%0A", "0000-01", "2016-13", "16-11", "2016-1", "x" * 500):
        r = _push(gateway, body, period)
        assert r.status_code == 422, (period, r.status_code, r.text)
        assert r.json()["errors"][0]["field"] == "period"
    r = gateway.client.post(
        "/v1/reports/ressourceforloeb/runs",
        params={"period": "2016-11\n"},
        headers=gateway.auth("star-statistik", Role.RECIPIENT),
    )
    assert r.status_code == 422
    for span in (("0000-01", "0000-01"), ("1900-01", "2999-12"), ("2016-11", "2016-10")):
        spec = {**BY_KOMMUNE, "period_from": span[0], "period_to": span[1]}
        r = gateway.client.post(
            "/v1/extracts", json=spec, headers=gateway.auth("star-statistik", Role.RECIPIENT)
        )
        assert r.status_code == 422, span


def test_csv_shapes_the_reader_did_not_expect(gateway: Gateway, synthetic: Synthetic) -> None:
    text = synthetic.bytes(LPR).decode()
    header, _, rest = text.partition("\n")
    first = header.split(",")[0]
    duplicated = f"{header},{first}\n" + "\n".join(
        f"{line},{line.split(',')[0]}" for line in rest.splitlines() if line
    )
    r = _push(gateway, duplicated.encode())
    assert r.status_code == 422, r.text
    assert [p["code"] for p in r.json()["problems"]] == ["duplicate-column"]
    headerless = rest.encode()  # the first data line read as the header
    r = _push(gateway, headerless)
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert {p["code"] for p in problems} >= {"missing-column", "unexpected-column"}
    assert all("position" in p for p in problems if p["code"] == "unexpected-column")
    cpr_value = rest.split(",")[0]  # the first row's CPR, read as a column name
    assert cpr_value.replace("-", "")[:6] not in r.text
    named = {p["column"] for p in problems if p["code"] == "unexpected-column"}
    assert None in named  # the CPR position is given by its position only
    for body in (b"", b"\n", b"\xff\xfe\x00garbage", b"PAR1" + b"\x00" * 64, b"a;b;c\n1;2"):
        assert _push(gateway, body).status_code == 422, body


def test_parquet_columns_of_nested_types_are_refused(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    table = pq.read_table(io.BytesIO(_as_parquet(synthetic)))
    n = table.num_rows
    nested = {
        "list": pa.array([[1, 2]] * n),
        "struct": pa.array([{"a": 1}] * n),
        "map": pa.array([[("k", 1)]] * n, type=pa.map_(pa.string(), pa.int64())),
    }
    for kind, column in nested.items():
        broken = table.set_column(1, table.column_names[1], column)
        sink = io.BytesIO()
        pq.write_table(broken, sink)
        r = _push(gateway, sink.getvalue())
        assert r.status_code == 422, (kind, r.status_code, r.text)
        assert [p["code"] for p in r.json()["problems"]] == ["unsupported-type"], kind


def _as_parquet(synthetic: Synthetic) -> bytes:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(
        synthetic.path(LPR),
        convert_options=pacsv.ConvertOptions(
            column_types={"cpr": pa.string()}, strings_can_be_null=False
        ),
    )
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_integers_past_any_database_range(gateway: Gateway) -> None:
    auditor = gateway.auth("dpo@star.dk", Role.AUDITOR)
    for query in (
        "/v1/audit/entries?offset=99999999999999999999",
        "/v1/audit/entries?offset=-1",
        "/v1/audit/entries?limit=0",
        "/v1/audit/proofs/inclusion/99999999999999999999",
        "/v1/audit/proofs/inclusion/-1",
        "/v1/audit/proofs/consistency?from=99999999999999999999",
    ):
        r = gateway.client.get(query, headers=auditor)
        assert r.status_code == 422, (query, r.status_code)
    far = gateway.client.get("/v1/audit/entries?offset=9007199254740000", headers=auditor)
    assert far.status_code == 200 and far.json()["entries"] == []


def test_audit_filters_are_validated(gateway: Gateway) -> None:
    auditor = gateway.auth("dpo@star.dk", Role.AUDITOR)
    for name, value in (
        ("since", "last month"),
        ("until", "yesterday"),
        ("event_type", "delivery.whatever"),
        ("actor", "a b c"),
        ("dataset", "LPR!"),
        ("recipient", "star analyse"),
    ):
        r = gateway.client.get("/v1/audit/entries", params={name: value}, headers=auditor)
        assert r.status_code == 422, (name, r.text)
        assert r.json()["errors"][0]["field"] == name
    ok = gateway.client.get(
        "/v1/audit/entries", params={"since": "2016-01-01", "until": "2100-01-01"}, headers=auditor
    )
    assert ok.status_code == 200 and ok.json()["entries"]


def _signed(_gw: Gateway, **claims: Any) -> dict[str, str]:
    """A token from the session's static issuer (trusted by the gateway, over real HTTP),
    whose claims the test chooses: ``...`` leaves a claim out."""
    return bearer(signer().sign(claims))


def test_signed_tokens_of_the_wrong_shape_are_401(gateway: Gateway) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    cases = {
        "roles a number": {"roles": 7},
        "roles null": {"roles": None},
        "roles a dict": {"roles": {"recipient": True}},
        "roles of numbers": {"roles": [1, 2]},
        "empty sub": {"sub": ""},
        "sub a number": {"sub": 12},
        "sub with spaces": {"sub": "star analyse"},
        "sub a CPR": {"sub": "0101801111"},
        "organisation a CPR": {"organisation": "0101801111"},
        "organisation a list": {"organisation": ["star-analyse"]},
        "organisation not this issuer's": {"organisation": "dst"},
        "no organisation": {"organisation": ...},
        "a century to live": {"exp": now + 100 * 365 * 86400},
        "issued in the future": {"iat": now + 3600, "exp": now + 7200},
        "no exp": {"exp": ...},
        "exp a string": {"exp": "tomorrow"},
        "wrong audience": {"aud": "someone-else"},
    }
    for name, claims in cases.items():
        r = gateway.client.get("/v1/extracts", headers=_signed(gateway, **claims))
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        detail = r.json()["detail"]
        assert "Traceback" not in r.text and detail.startswith(("invalid bearer", "the bearer"))
    assert gateway.client.get("/v1/extracts", headers=_signed(gateway)).status_code == 200


def test_aggregate_tables_that_can_never_run_are_refused_at_request(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    recipient = gateway.auth("star-statistik", Role.RECIPIENT)
    base = BY_KOMMUNE["aggregate"]
    for aggregate in (
        {**base, "statistic": "sum", "value": "offer_type"},  # a sum over a category
        {**base, "dimensions": ["start_date"]},  # a date column as a dimension
        {**base, "dimensions": ["end_date", "kommune"]},
    ):
        r = gateway.client.post(
            "/v1/extracts", json={**BY_KOMMUNE, "aggregate": aggregate}, headers=recipient
        )
        assert r.status_code == 422, (aggregate, r.status_code, r.text)


def test_bodies_are_bounded_and_authenticated_before_they_are_read(gateway: Gateway) -> None:
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    r = gateway.client.post(
        "/v1/extracts", content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 401  # no token: refused before the body is read
    r = gateway.client.post(
        "/v1/extracts",
        content=big,
        headers={"Content-Type": "application/json", **gateway.auth("x", Role.RECIPIENT)},
    )
    assert r.status_code == 413
    chunked = gateway.client.post(
        "/v1/extracts",
        content=iter([b" " * 65536] * 40),
        headers={"Content-Type": "application/json", **gateway.auth("x", Role.RECIPIENT)},
    )
    assert chunked.status_code == 413
    # A 48 MB body announced without a token: answered at once, before any of it is sent.
    host, port = str(gateway.client.base_url.host), gateway.client.base_url.port
    for path in ("/v1/extracts", LPR_PATH + "?period=2016-11"):
        with socket.create_connection((host, port or 80), timeout=10) as s:
            s.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 48000000\r\n\r\n{".encode()
            )
            answer = s.recv(4096).decode(errors="replace")
        assert answer.startswith("HTTP/1.1 401"), answer[:100]


def test_405_names_the_allowed_methods_and_responses_are_not_cached(gateway: Gateway) -> None:
    r = gateway.client.delete("/v1/catalogue/datasets", headers=gateway.auth("x", Role.AUDITOR))
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    for response in (r, gateway.client.get("/healthz")):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(r.text)["status"] == 405


def test_every_path_answers_an_undeclared_method_405_before_any_token(gateway: Gateway) -> None:
    """Every path of the OpenAPI document, and the public ones (checkpoint, tiles, health),
    with every method it does not declare and no token at all: 405, Allow naming what it
    declares, the gateway's own problem type."""
    document = gateway.client.get("/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete", "trace", "options"}
    checked = 0
    for path, operations in document["paths"].items():
        concrete = path
        for name in ("source", "dataset"):
            concrete = concrete.replace("{" + name + "}", "lpr")
        concrete = re.sub(r"\{[a-z_]+\}", "x", concrete)
        declared = {m for m in operations if m in methods}
        for method in sorted(methods - declared):
            r = gateway.client.request(method.upper(), concrete)
            assert r.status_code == 405, (method, path, r.status_code, r.text[:200])
            assert set(r.headers["Allow"].split(", ")) >= {m.upper() for m in declared}, path
            assert r.json()["type"].endswith("/problems/method-not-allowed")
            checked += 1
    for public in ("/checkpoint", "/healthz", "/readyz", "/tile/0/000"):
        r = gateway.client.request("TRACE", public)
        assert r.status_code == 405 and "GET" in r.headers["Allow"], (public, r.status_code)
    assert checked > 100


def test_a_body_that_is_not_utf8_json_is_the_gateways_422(gateway: Gateway) -> None:
    """Bytes that are not UTF-8 where JSON is expected: 422 with the gateway's own problem
    type, as for any malformed body (the document declares 422 on every operation with one)."""
    auth = gateway.auth("star-analyse", Role.RECIPIENT, Role.APPROVER, Role.AUDITOR)
    document = gateway.client.get("/openapi.json").json()
    for path, template in (
        ("/v1/extracts", "/v1/extracts"),
        (
            "/v1/extracts/ext-00000000000000000000000000000000/approve",
            "/v1/extracts/{extract_id}/approve",
        ),
        ("/v1/audit/subject-lookup", "/v1/audit/subject-lookup"),
        ("/v1/sessions/revoke", "/v1/sessions/revoke"),
    ):
        method = "post"
        r = gateway.client.request(
            method.upper(),
            path,
            content=b"\xff\xfe{not json",
            headers={**auth, "Content-Type": "application/json"},
        )
        assert r.status_code == 422, (path, r.status_code, r.text[:200])
        assert r.json()["type"].endswith("/problems/invalid-request")
        assert "422" in document["paths"][template][method]["responses"], path


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(min_size=0, max_size=80))
def test_arbitrary_text_in_ids_and_periods_is_never_a_5xx(gateway: Gateway, text: str) -> None:
    from urllib.parse import quote

    q = quote(text, safe="")
    auth = gateway.auth("star-statistik", Role.RECIPIENT, Role.AUDITOR, Role.APPROVER)
    for method, url, params in (
        ("GET", f"/v1/extracts/{q}", None),
        ("GET", f"/v1/releases/{q}", None),
        ("GET", f"/v1/deliveries/{q}", None),
        ("POST", f"/v1/reports/{q}/runs", {"period": text}),
        ("GET", "/v1/audit/entries", {"since": text, "actor": text}),
    ):
        r = gateway.client.request(method, url, params=params, headers=auth)
        assert r.status_code < 500, (url, text, r.status_code)


def test_one_identity_however_an_issuer_spells_it(gateway: Gateway, synthetic: Synthetic) -> None:
    """A token naming ``STAR-STATISTIK`` and person ``ANNA`` is anna of star-statistik: she
    cannot approve her own request (four eyes), and her organisation owns it."""
    push_all(gateway, synthetic)
    spec = {**BY_KOMMUNE}
    anna = _signed(gateway, sub="anna", organisation="star-statistik", roles=["recipient"])
    mine = gateway.client.post("/v1/extracts", json=spec, headers=anna)
    assert mine.status_code == 201
    shouting = _signed(
        gateway, sub="ANNA", organisation="STAR-STATISTIK", roles=["approver", "recipient"]
    )
    approve = gateway.client.post(f"/v1/extracts/{mine.json()['id']}/approve", headers=shouting)
    assert approve.status_code == 403 and "four-eyes" in approve.json()["detail"]
    read = gateway.client.get(f"/v1/extracts/{mine.json()['id']}", headers=shouting)
    assert read.status_code == 200 and read.json()["recipient"] == "star-statistik"
    wide = _signed(
        gateway, sub="ＡＮＮＡ", organisation="hub-legal", roles=["approver"]
    )  # full-width, another organisation: still anna
    approve = gateway.client.post(f"/v1/extracts/{mine.json()['id']}/approve", headers=wide)
    assert approve.status_code == 403 and "four-eyes" in approve.json()["detail"]
