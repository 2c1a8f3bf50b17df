"""The permission table, walked over real HTTP (a uvicorn server on a loopback socket): every
route × every role (alone and in pairs) × owner
and not owner, on both backends.

Each route the app serves must name its use case (``x-use-case`` in the OpenAPI document) and
have a call here; a new route without either fails. For each call the expected outcome comes
from the table itself (:func:`gateway.domain.permissions.permits`, plus four eyes), so the test
checks that every use case enforces exactly its row, whatever roles a token combines.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.api.use_cases import KEY
from gateway.domain import identifiers
from gateway.domain.permissions import INNER, PERMISSIONS, PUBLIC, permits
from gateway.domain.principals import Role
from gateway.domain.records import DeletionRequest
from tests import pg
from tests.conftest import Gateway, Synthetic, serving_gateway
from tests.integration.test_aggregates_api import (
    BY_KOMMUNE,
    SERVICES_SUM,
    _ssr_with_a_negative_value,
)
from tests.integration.test_extracts_api import LINKED

LPR_SOURCE, OTHER_SOURCE = "sundhedsdatastyrelsen", "dfdg"
ANALYSE, STATISTIK = "star-analyse", "star-statistik"
ROLE_SETS = [frozenset(c) for n in (1, 2) for c in itertools.combinations(Role, n)]


@dataclass
class World:
    """Objects owned by known organisations, and factories for fresh ones."""

    gw: Gateway
    delivery: str
    extract: str  # star-analyse's approved microdata specification
    release: str  # star-analyse's released microdata
    aggregate: str  # star-statistik's released aggregate
    held: str  # star-statistik's aggregate held for review
    lpr: bytes = b""
    months: int = 0
    requests: int = 0

    def request(self, recipient: str, spec: dict[str, Any]) -> str:
        r = self.gw.client.post(
            "/v1/extracts", json=spec, headers=self.gw.auth(recipient, Role.RECIPIENT)
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def approve(self, extract_id: str) -> str:
        r = self.gw.client.post(
            f"/v1/extracts/{extract_id}/approve", headers=self.gw.auth("dpo@star.dk", Role.APPROVER)
        )
        assert r.status_code == 200, r.text
        return extract_id

    def run(self, recipient: str, extract_id: str) -> str:
        r = self.gw.client.post(
            f"/v1/extracts/{extract_id}/releases", headers=self.gw.auth(recipient, Role.RECIPIENT)
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def fresh_held(self) -> str:
        return self.run(STATISTIK, self.approve(self.request(STATISTIK, SERVICES_SUM)))

    def fresh_delivery(self) -> str:
        """The current delivery of a month of its own (a withdrawal takes nothing the other
        calls need)."""
        return self._push(confirm=True)

    def fresh_held_delivery(self) -> str:
        """A delivery held for its source's confirmation (another month's file)."""
        return self._push(confirm=False)

    def fresh_hold(self) -> str:
        r = self.gw.client.post(
            "/v1/retention/holds",
            json={"reason": "inspection by the audit office", "dataset": "lpr"},
            headers=self.gw.auth("hub-dpo", Role.AUDITOR),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def fresh_deletion_request(self) -> str:
        """A deletion request to star-analyse for its release (as the follow-up makes them
        when a grant ends)."""
        self.requests += 1
        request_number = self.requests
        request = DeletionRequest(
            identifiers.new_id("del"),
            ANALYSE,
            f"star-analyse-lpr-{request_number}",  # one request per recipient and grant
            json.dumps([self.release]),
            "2030-01-01",
            "2026-01-01T00:00:00.000000Z",
        )
        with self.gw.runtime.context.store.unit_of_work() as uow:
            assert uow.add_deletion_request(request)
        return request.id

    def _push(self, *, confirm: bool) -> str:
        self.months += 1
        r = self.gw.client.post(
            f"/v1/sources/{LPR_SOURCE}/datasets/lpr/deliveries",
            params={"period": f"2015-{self.months:02d}", "confirm": str(confirm).lower()},
            content=self.lpr,
            headers=self.gw.auth(LPR_SOURCE, Role.SOURCE),
        )
        assert r.status_code == 201, r.text
        assert bool(r.json().get("held")) is not confirm, r.text
        return str(r.json()["delivery_id"])


def _world(gw: Gateway, synthetic: Synthetic) -> World:
    for dataset, f in synthetic.files.items():
        if dataset == "laegemiddelstatistik":
            continue
        body = (
            _ssr_with_a_negative_value(synthetic) if dataset == "ssr" else synthetic.bytes(dataset)
        )
        assert gw.push(f.source, dataset, body).status_code == 201
    delivery = gw.push(LPR_SOURCE, "lpr", synthetic.bytes("lpr")).json()["delivery_id"]
    w = World(gw, delivery, "", "", "", "", synthetic.bytes("lpr"))
    w.extract = w.approve(w.request(ANALYSE, LINKED))
    w.release = w.run(ANALYSE, w.extract)
    w.aggregate = w.run(STATISTIK, w.approve(w.request(STATISTIK, BY_KOMMUNE)))
    w.held = w.fresh_held()
    approved = gw.client.post(
        "/v1/processing-records/approvals", headers=gw.auth("hub-dpo", Role.AUDITOR)
    )
    assert approved.status_code == 201, approved.text
    return w


@dataclass(frozen=True)
class Call:
    """How to call one route: the owner of the object it touches (None: no object), who asked
    for it (four eyes), and the request (a fresh object when the call is expected to change
    one)."""

    owner: str | None
    other: str | None  # a subject of the same kind that does not own it
    make: Callable[[World, bool], tuple[str, dict[str, Any]]]
    requester: str | None = None


def _lpr_csv(w: World, _fresh: bool) -> tuple[str, dict[str, Any]]:
    return (
        f"/v1/sources/{LPR_SOURCE}/datasets/lpr/deliveries?period=2016-11",
        {"content": b"cpr,contact_start\n"},
    )


CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/v1/sources/{source}/datasets/{dataset}/deliveries"): Call(
        LPR_SOURCE, OTHER_SOURCE, _lpr_csv
    ),
    ("GET", "/v1/deliveries/{delivery_id}"): Call(
        LPR_SOURCE, OTHER_SOURCE, lambda w, _: (f"/v1/deliveries/{w.delivery}", {})
    ),
    ("GET", "/v1/deliveries/{delivery_id}/quality"): Call(
        LPR_SOURCE, OTHER_SOURCE, lambda w, _: (f"/v1/deliveries/{w.delivery}/quality", {})
    ),
    ("GET", "/v1/deliveries/{delivery_id}/impact"): Call(
        None, None, lambda w, _: (f"/v1/deliveries/{w.delivery}/impact", {})
    ),
    ("POST", "/v1/deliveries/{delivery_id}/withdraw"): Call(
        LPR_SOURCE,
        OTHER_SOURCE,
        lambda w, fresh: (
            f"/v1/deliveries/{w.fresh_delivery() if fresh else w.delivery}/withdraw",
            {"json": {"note": "withdrawn by the permission walk"}},
        ),
    ),
    ("POST", "/v1/deliveries/{delivery_id}/confirm"): Call(
        LPR_SOURCE,
        OTHER_SOURCE,
        lambda w, fresh: (
            f"/v1/deliveries/{w.fresh_held_delivery() if fresh else w.delivery}/confirm",
            {},
        ),
    ),
    ("GET", "/v1/catalogue/datasets"): Call(
        None, None, lambda w, _: ("/v1/catalogue/datasets", {})
    ),
    ("GET", "/v1/catalogue/grants"): Call(None, None, lambda w, _: ("/v1/catalogue/grants", {})),
    ("GET", "/v1/sessions"): Call(None, None, lambda w, _: ("/v1/sessions", {})),
    ("POST", "/v1/sessions/revoke"): Call(
        None, None, lambda w, _: ("/v1/sessions/revoke", {"json": {"organisation": "nobody"}})
    ),
    ("POST", "/v1/extracts"): Call(ANALYSE, None, lambda w, _: ("/v1/extracts", {"json": LINKED})),
    ("GET", "/v1/extracts"): Call(None, None, lambda w, _: ("/v1/extracts", {})),
    ("GET", "/v1/extracts/{extract_id}"): Call(
        ANALYSE, STATISTIK, lambda w, _: (f"/v1/extracts/{w.extract}", {})
    ),
    ("GET", "/v1/extracts/{extract_id}/builds"): Call(
        ANALYSE, STATISTIK, lambda w, _: (f"/v1/extracts/{w.extract}/builds", {})
    ),
    ("POST", "/v1/extracts/{extract_id}/approve"): Call(
        ANALYSE,
        STATISTIK,
        lambda w, fresh: (
            f"/v1/extracts/{w.request(ANALYSE, LINKED) if fresh else w.extract}/approve",
            {},
        ),
        requester=ANALYSE,
    ),
    ("POST", "/v1/extracts/{extract_id}/reject"): Call(
        ANALYSE,
        STATISTIK,
        lambda w, fresh: (
            f"/v1/extracts/{w.request(ANALYSE, LINKED) if fresh else w.extract}/reject",
            {"json": {"note": "not needed"}},
        ),
        requester=ANALYSE,
    ),
    ("POST", "/v1/extracts/{extract_id}/return"): Call(
        ANALYSE,
        STATISTIK,
        lambda w, fresh: (
            f"/v1/extracts/{w.request(ANALYSE, LINKED) if fresh else w.extract}/return",
            {"json": {"note": "fewer columns"}},
        ),
        requester=ANALYSE,
    ),
    ("POST", "/v1/extracts/{extract_id}/releases"): Call(
        ANALYSE, STATISTIK, lambda w, _: (f"/v1/extracts/{w.extract}/releases", {})
    ),
    ("GET", "/v1/releases"): Call(None, None, lambda w, _: ("/v1/releases", {})),
    ("POST", "/v1/releases/{release_id}/release"): Call(
        STATISTIK,
        ANALYSE,
        lambda w, fresh: (f"/v1/releases/{w.fresh_held() if fresh else w.held}/release", {}),
        requester=STATISTIK,
    ),
    ("POST", "/v1/releases/{release_id}/withhold"): Call(
        STATISTIK,
        ANALYSE,
        lambda w, fresh: (f"/v1/releases/{w.fresh_held() if fresh else w.held}/withhold", {}),
        requester=STATISTIK,
    ),
    ("GET", "/v1/releases/{release_id}/disclosure-report"): Call(
        STATISTIK, ANALYSE, lambda w, _: (f"/v1/releases/{w.aggregate}/disclosure-report", {})
    ),
    ("GET", "/v1/releases/{release_id}/review-bundle"): Call(
        STATISTIK, ANALYSE, lambda w, _: (f"/v1/releases/{w.aggregate}/review-bundle", {})
    ),
    ("GET", "/v1/releases/{release_id}"): Call(
        ANALYSE, STATISTIK, lambda w, _: (f"/v1/releases/{w.release}", {})
    ),
    ("GET", "/v1/releases/{release_id}/content"): Call(
        ANALYSE, STATISTIK, lambda w, _: (f"/v1/releases/{w.release}/content", {})
    ),
    ("GET", "/v1/reports"): Call(None, None, lambda w, _: ("/v1/reports", {})),
    ("POST", "/v1/reports/{report_id}/runs"): Call(
        STATISTIK, None, lambda w, _: ("/v1/reports/ressourceforloeb/runs?period=2016-11", {})
    ),
    ("GET", "/v1/audit/checkpoint"): Call(None, None, lambda w, _: ("/v1/audit/checkpoint", {})),
    ("GET", "/v1/audit/proofs/inclusion/{index}"): Call(
        None, None, lambda w, _: ("/v1/audit/proofs/inclusion/0", {})
    ),
    ("GET", "/v1/audit/proofs/consistency"): Call(
        None, None, lambda w, _: ("/v1/audit/proofs/consistency?from=1", {})
    ),
    ("GET", "/v1/audit/entries"): Call(None, None, lambda w, _: ("/v1/audit/entries?limit=5", {})),
    ("POST", "/v1/audit/subject-lookup"): Call(
        None, None, lambda w, _: ("/v1/audit/subject-lookup", {"json": {"cpr": "0101801111"}})
    ),
    ("GET", "/v1/audit/verify"): Call(None, None, lambda w, _: ("/v1/audit/verify", {})),
    ("GET", "/tile/entries/{rest}"): Call(None, None, lambda w, _: ("/tile/entries/000.p/1", {})),
    ("GET", "/metrics"): Call(None, None, lambda w, _: ("/metrics", {})),
    ("GET", "/v1/retention/plan"): Call(None, None, lambda w, _: ("/v1/retention/plan", {})),
    ("POST", "/v1/retention/sweep"): Call(None, None, lambda w, _: ("/v1/retention/sweep", {})),
    ("GET", "/v1/retention/erasures"): Call(
        None, None, lambda w, _: ("/v1/retention/erasures", {})
    ),
    ("GET", "/v1/retention/holds"): Call(None, None, lambda w, _: ("/v1/retention/holds", {})),
    ("POST", "/v1/retention/holds"): Call(
        None,
        None,
        lambda w, _: (
            "/v1/retention/holds",
            {"json": {"reason": "the permission walk", "source": LPR_SOURCE}},
        ),
    ),
    ("POST", "/v1/retention/holds/{hold_id}/lift"): Call(
        None,
        None,
        lambda w, _: (
            f"/v1/retention/holds/{w.fresh_hold()}/lift",
            {"json": {"reason": "inspection over"}},
        ),
    ),
    ("GET", "/v1/retention/deletions"): Call(
        None, None, lambda w, _: ("/v1/retention/deletions", {})
    ),
    ("POST", "/v1/retention/deletions/{request_id}/confirm"): Call(
        ANALYSE,
        STATISTIK,
        lambda w, _: (
            f"/v1/retention/deletions/{w.fresh_deletion_request()}/confirm",
            {"json": {"note": "deleted from the analysis server"}},
        ),
    ),
    ("GET", "/v1/processing-records"): Call(
        None, None, lambda w, _: ("/v1/processing-records", {})
    ),
    ("POST", "/v1/processing-records/approvals"): Call(
        None, None, lambda w, _: ("/v1/processing-records/approvals", {})
    ),
    ("GET", "/v1/processing-records/approvals"): Call(
        None, None, lambda w, _: ("/v1/processing-records/approvals", {})
    ),
    ("GET", "/v1/processing-records/approvals/{version}"): Call(
        None, None, lambda w, _: ("/v1/processing-records/approvals/1", {})
    ),
}


def _organisation(who: str) -> str:
    return who.rsplit("@", 1)[-1]


def _routes(gw: Gateway) -> Iterator[tuple[str, str, str]]:
    for path, operations in gw.client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation.get(KEY)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, synthetic: Synthetic
) -> Iterator[World]:
    url = None
    if request.param == "postgresql":
        server: pg.PgServer = request.getfixturevalue("postgres")
        url = server.url(server.new_database())
    folder: Path = tmp_path_factory.mktemp("permissions")
    with serving_gateway(folder / "var", database_url=url) as gw:  # real sockets
        yield _world(gw, synthetic)


def test_every_route_names_a_use_case_of_the_table_and_has_a_call(world: World) -> None:
    seen = set()
    for method, path, case in _routes(world.gw):
        assert case is not None, f"{method} {path} names no use case (x-use-case)"
        assert case in PERMISSIONS or case in PUBLIC, f"{method} {path}: '{case}' has no row"
        if case not in PUBLIC:
            assert (method, path) in CALLS, f"{method} {path} is not walked by this test"
            seen.add(case)
    assert seen == set(PERMISSIONS) - INNER, "a row of the table is served by no route"


def test_public_routes_answer_without_a_token(world: World) -> None:
    size = world.gw.client.get("/checkpoint").text.split("\n")[1]
    examples = {"/tile/{level}/{rest}": "/tile/0/000.p/1", "/v1/audit/checkpoints/{size}": size}
    for method, path, case in _routes(world.gw):
        if case in PUBLIC:
            url = examples.get(path, path).replace("{size}", size)
            if path.endswith("{size}"):
                url = f"/v1/audit/checkpoints/{size}"
            r = world.gw.client.request(method, url)
            assert r.status_code == 200, (path, r.text)


def test_the_whole_table_holds_for_every_role_combination(world: World) -> None:
    failures: list[str] = []
    tried = 0
    document = world.gw.client.get("/openapi.json").json()
    spec = document["paths"]
    documented = {
        (path, method): set(operation["responses"])
        for path, methods in spec.items()
        for method, operation in methods.items()
    }
    undocumented: set[str] = set()
    mismatched: set[str] = set()
    for (method, path), call in CALLS.items():
        case = next(c for m, p, c in _routes(world.gw) if (m, p) == (method, path))
        subjects = (
            [(call.owner, True)]
            if call.other is None
            else [(call.owner, True), (call.other, False)]
        )
        for roles in ROLE_SETS:
            for subject, is_owner in subjects:
                who = subject or "someone@star.dk"
                expected = permits(roles, case, owner=is_owner or call.owner is None)
                if PERMISSIONS[case].four_eyes and call.requester is not None:
                    # The policies' default: the deciding person is of another unit than the
                    # requester (an organisation without units is one unit).
                    expected = expected and _organisation(who) != _organisation(call.requester)
                url, kwargs = call.make(world, expected)
                r = world.gw.client.request(
                    method, url, headers=world.gw.auth(who, *roles), **kwargs
                )
                tried += 1
                if str(r.status_code) not in documented[(path, method.lower())]:
                    undocumented.add(f"{method} {path}: {r.status_code}")
                elif problem := _body_problem(document, path, method, r):
                    mismatched.add(f"{method} {path}: {r.status_code}: {problem}")
                allowed = r.status_code < 400 or (
                    r.status_code == 422 and case == "delivery.push"  # the tiny body is refused
                )
                denied = r.status_code in (403, 404)
                ok = allowed if expected else denied
                if not ok:
                    failures.append(
                        f"{method} {path} as {who} {sorted(roles)} (owner={is_owner}): "
                        f"{r.status_code}, expected {'allowed' if expected else 'refused'}"
                    )
    assert not failures, f"{len(failures)} of {tried} calls:\n" + "\n".join(failures)
    assert not undocumented, f"answers the OpenAPI document does not declare: {undocumented}"
    assert not mismatched, f"bodies that do not match their documented schema: {mismatched}"
    assert tried > 500
    print(f"permission table: {tried} calls, every one as the table says")


def _body_problem(document: dict[str, Any], path: str, method: str, response: Any) -> str | None:
    """Why a JSON body does not match the schema the document gives for its status (None if
    it does, or if the answer is not JSON)."""
    kind = response.headers.get("content-type", "").split(";")[0]
    if not kind.endswith("json"):
        return None
    declared = document["paths"][path][method.lower()]["responses"][str(response.status_code)]
    schema = declared.get("content", {}).get(kind, {}).get("schema")
    if schema is None:
        return f"no schema for {kind}"
    try:
        jsonschema.validate(
            response.json(), {**schema, "components": document.get("components", {})}
        )
    except jsonschema.ValidationError as exc:
        return f"{exc.message} at {list(exc.absolute_path)}"
    return None


def test_a_second_role_never_reaches_another_recipients_content(world: World) -> None:
    """The attack that started it: recipient + approver (or auditor) of another organisation."""
    for extra in (Role.APPROVER, Role.AUDITOR, Role.OPERATOR, Role.SOURCE):
        auth = world.gw.auth(STATISTIK, Role.RECIPIENT, extra)
        pulled = world.gw.client.get(f"/v1/releases/{world.release}/content", headers=auth)
        assert pulled.status_code == 404 and not pulled.content.startswith(b"PAR1")
        ran = world.gw.client.post(f"/v1/extracts/{world.extract}/releases", headers=auth)
        assert ran.status_code == 404
    # Approvers and auditors see metadata, never content.
    meta = world.gw.client.get(
        f"/v1/releases/{world.release}", headers=world.gw.auth("dpo@star.dk", Role.AUDITOR)
    )
    assert meta.status_code == 200 and "sha256" in meta.json() and "blob_key" not in meta.json()
