"""A CPR-shaped string typed anywhere is never echoed, logged, audited or stored in clear.

The test is generated from the OpenAPI document: for every route, every string-valued path and
query parameter, every string field of its JSON body (nested objects and lists included) and a
delivery body whose first line holds CPR numbers gets, in turn, a CPR-shaped value in several
spellings; the request id header and the token's subject get one too. Each call is made as a
principal holding every role, as the owner of the objects the route touches. Then every
response (status line, headers, body), the log file, every table of the database and every
file under the data folder are scanned for the values typed: zero hits.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic
from tests.cpr_scan import database_hits
from tests.identity import bearer, signer
from tests.integration.test_aggregates_api import BY_KOMMUNE, SERVICES_SUM
from tests.integration.test_permissions import World, _world

# Valid dates of birth, in no synthetic file; typed with and without a dash, with a space.
TYPED = ["2512491234", "0302651987"]
SPELLINGS = [lambda c: c, lambda c: f"{c[:6]}-{c[6:]}", lambda c: f"{c[:6]} {c[6:]}"]
VALUES = [f(c) for c in TYPED for f in SPELLINGS] + ["note about 251249-1234 here", "x0302651987"]
ALL_ROLES = tuple(Role)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _string_leaves(
    doc: dict[str, Any], schema: dict[str, Any], at: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """JSON paths of every string-valued field a body of ``schema`` can have."""
    schema = _resolve(doc, schema)
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _string_leaves(doc, option, at)
    kind = schema.get("type")
    if kind == "string":
        yield at
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from _string_leaves(doc, sub, (*at, name))
    elif kind == "array":
        yield from _string_leaves(doc, schema.get("items", {}), (*at, 0))


def _set(body: Any, path: tuple[Any, ...], value: str) -> Any:
    body = copy.deepcopy(body) if body is not None else {}
    node = body
    for step, nxt in itertools.pairwise(path):
        if isinstance(node, list):
            while len(node) <= step:
                node.append({} if not isinstance(nxt, int) else [])
            node = node[step]
        else:
            node = node.setdefault(step, [] if isinstance(nxt, int) else {})
    last = path[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append(None)
    node[last] = value
    return body


def _bases(w: World) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """Valid values for every parameter, a valid body per route, and each route's owner."""
    params = {
        "source": "sundhedsdatastyrelsen",
        "dataset": "lpr",
        "period": "2016-11",
        "delivery_id": w.delivery,
        "extract_id": w.request("star-statistik", BY_KOMMUNE),
        "release_id": w.held,
        "report_id": "ressourceforloeb",
        "format": "csv",
        "status": "pending-review",
        "event_type": "delivery.accepted",
        "actor": "sundhedsdatastyrelsen[source]",
        "recipient": "star-statistik",
        "since": "2016-01-01",
        "until": "2030-01-01",
    }
    bodies = {
        "/v1/extracts": SERVICES_SUM,
        "/v1/extracts/{extract_id}/approve": {"note": "fine"},
        "/v1/extracts/{extract_id}/reject": {"note": "fine"},
        "/v1/releases/{release_id}/release": {"note": "fine"},
        "/v1/releases/{release_id}/withhold": {"note": "fine"},
        "/v1/audit/subject-lookup": {"cpr": "0101801111"},
    }
    owners = {"deliveries": "sundhedsdatastyrelsen"}
    return params, bodies, owners


def _calls(gw: Gateway, w: World) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, url, request kwargs) with one CPR-shaped value placed somewhere."""
    doc = gw.client.get("/openapi.json").json()  # as served
    params, bodies, _ = _bases(w)
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            names = [(p["name"], p["in"], p["schema"]) for p in op.get("parameters", [])]
            strings = [
                (n, where)
                for n, where, s in names
                if "string" in {s.get("type"), *(o.get("type") for o in s.get("anyOf", []))}
            ]
            content = op.get("requestBody", {}).get("content", {})
            json_schema = content.get("application/json", {}).get("schema")

            def url(
                override: tuple[str, str] | None,
                path: str = path,
                names: list[tuple[str, str, dict[str, Any]]] = names,
            ) -> tuple[str, dict[str, str]]:
                values = {n: params.get(n, "1") for n, _, _ in names}
                if override is not None:
                    values[override[0]] = override[1]
                filled = path
                for n, where, _ in names:
                    if where == "path":
                        filled = filled.replace("{" + n + "}", values[n])
                query = {n: values[n] for n, where, _ in names if where == "query"}
                return filled, query

            base_body = bodies.get(path)
            for value in VALUES:
                for name, _ in strings:
                    target, query = url((name, value))
                    yield method, target, {"params": query, "json": base_body}
                if json_schema is not None:
                    for leaf in _string_leaves(doc, json_schema):
                        target, query = url(None)
                        yield (
                            method,
                            target,
                            {"params": query, "json": _set(base_body, leaf, value)},
                        )
                if "text/csv" in content:
                    target, query = url(None)
                    rows = f"{value},2016-11-02,A,1\n{value},2016-11-03,B,2\n"
                    yield method, target, {"params": query, "content": rows.encode()}
            target, query = url(None)
            yield method, target, {"params": query, "json": base_body, "request_id": True}


def _subject(target: str) -> str:
    """The owner of what the route touches; for four-eyes decisions someone else, so that a
    note would be stored if it were not screened."""
    if "/sources/" in target:
        return "sundhedsdatastyrelsen"
    if target.endswith(("/approve", "/reject", "/release", "/withhold")):
        return "legal@hub-legal"
    return "star-statistik"


def _principal_token(_gw: Gateway, subject: str, person: str = "tester") -> str:
    """Every role at once, from the session's static issuer (trusted over real HTTP)."""
    claims = {"organisation": subject.rsplit("@", 1)[-1], "sub": person}
    return signer().sign({**claims, "roles": [r.value for r in ALL_ROLES]})


def _hits(data: bytes) -> list[str]:
    return [v for v in VALUES + TYPED + [f"{c[:6]}-{c[6:]}" for c in TYPED] if v.encode() in data]


def test_no_cpr_typed_anywhere_comes_out_anywhere(served: Gateway, synthetic: Synthetic) -> None:
    gateway = served  # a real server on a loopback socket
    w = _world(gateway, synthetic)
    tried, leaks = 0, []
    for method, target, kwargs in _calls(gateway, w):
        subject = _subject(target)
        headers = {"Authorization": f"Bearer {_principal_token(gateway, subject)}"}
        if kwargs.pop("request_id", False):
            for value in VALUES:
                headers["X-Request-ID"] = value
                r = gateway.client.request(method, target, headers=headers, **kwargs)
                tried += 1
                assert r.status_code < 500, (method, target, r.status_code)
                leaks += [(method, target, "X-Request-ID", h) for h in _hits(_raw(r))]
            continue
        r = gateway.client.request(method, target, headers=headers, **kwargs)
        tried += 1
        assert r.status_code < 500, (method, target, r.status_code, r.text[:300])
        leaks += [(method, target, r.status_code, h) for h in _hits(_raw(r))]
    for value in VALUES:  # signed tokens whose organisation or person is CPR-shaped
        for token in (
            _principal_token(gateway, value.replace(" ", "-")),
            _principal_token(gateway, "star-statistik", person=value.replace(" ", "-")),
        ):
            r = gateway.client.get("/v1/extracts", headers=bearer(token))
            tried += 1
            assert r.status_code == 401
            leaks += [("GET", "/v1/extracts", "token", h) for h in _hits(_raw(r))]
    assert not leaks, leaks[:20]
    assert tried > 300
    print(f"CPR-shaped input: {tried} requests, no value echoed")

    # Nothing at rest or in the logs: every file under the data folder (log, database file on
    # SQLite, checkpoint file, blobs, spool, work area), and every table of the database.
    files = [p for p in gateway.settings.data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "gateway.log" for p in files)
    found = {str(p): _hits(p.read_bytes()) for p in files}
    assert {k: v for k, v in found.items() if v} == {}
    engine = gateway.runtime.store.engine
    assert database_hits(engine, set(TYPED)) == {}


def _raw(r: Any) -> bytes:
    head = f"{r.status_code} " + " ".join(f"{k}: {v}" for k, v in r.headers.items())
    return head.encode() + r.content
