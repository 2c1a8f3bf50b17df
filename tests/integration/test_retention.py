"""Storage limitation, over HTTP on both backends, with a clock the test controls: the plan
says what goes and when; the sweep crypto-shreds what is due and records each erasure; the log
and every receipt still verify; erased data answer 410 and releases that would read them 409;
a legal hold stops erasure until two persons lift it; recipients are asked to confirm their
deletions; the records of processing are generated, exported and frozen."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.audit import receipts
from gateway.crypto.envelope import destroy_data_key
from gateway.crypto.notes import NoteVerifier
from gateway.domain.principals import Role
from gateway.errors import IntegrityError
from gateway.services.audit.trail import verify
from gateway.services.platform.sealed import open_sealed
from tests.conftest import (
    BACKENDS,
    Gateway,
    Synthetic,
    _backend_url,
    edited_policies,
    running_gateway,
)
from tests.integration.test_extracts_api import LINKED

LPR = "sundhedsdatastyrelsen"
DPO, OTHER_DPO = ("hub-dpo", Role.AUDITOR), ("dpo", Role.AUDITOR)
OPERATOR = ("hub-operations", Role.OPERATOR)


def _at(gw: Gateway, day: dt.date) -> None:
    """Set the gateway's clock to ``day`` (noon UTC)."""
    moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    gw.runtime.context.clock = lambda: moment


def _call(gw: Gateway, who: tuple[str, Role], method: str, url: str, **kw: Any) -> Any:
    r = gw.client.request(method, url, headers=gw.auth(*who), **kw)
    return r


def _push(
    gw: Gateway, body: bytes, period: str = "2016-11", confirm: bool = True
) -> dict[str, Any]:
    r = gw.client.post(
        f"/v1/sources/{LPR}/datasets/lpr/deliveries",
        params={"period": period, "confirm": str(confirm).lower()},
        content=body,
        headers=gw.auth(LPR, Role.SOURCE),
    )
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _sweep(gw: Gateway) -> dict[str, Any]:
    r = _call(gw, OPERATOR, "POST", "/v1/retention/sweep")
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture(params=BACKENDS)
def ending(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A gateway whose star-analyse lpr grant ends on 2026-12-31 (to test recipients'
    deletions) and whose lpr deliveries are kept 10 years after their month."""
    policies = edited_policies(
        tmp_path / "policies",
        {
            "grants/star-analyse.yaml": (
                "    population: persons-in-resource-course\n"
                "    columns: [contact_start, contact_end, contact_type, diagnosis_chapter]\n"
                "    valid_from: 2013-01-01\n",
                "    population: persons-in-resource-course\n"
                "    columns: [contact_start, contact_end, contact_type, diagnosis_chapter]\n"
                "    valid_from: 2013-01-01\n    valid_to: 2026-12-31\n",
            ),
            "datasets/lpr.yaml": ("  years_after_period: 15", "  years_after_period: 10"),
        },
    )
    with running_gateway(
        tmp_path / "var", policies=policies, database_url=_backend_url(request)
    ) as gw:
        yield gw


def test_the_plan_then_the_sweep_erase_what_is_due_and_the_log_still_verifies(
    ending: Gateway, synthetic: Synthetic
) -> None:
    gw = ending
    receipt = _push(gw, synthetic.bytes("lpr"))
    dfdg = synthetic.files["dfdg-indsats"]
    assert gw.push(dfdg.source, "dfdg-indsats", synthetic.bytes("dfdg-indsats")).status_code == 201
    ctx = gw.runtime.context
    with ctx.store.unit_of_work() as uow:
        record = uow.get_delivery(receipt["delivery_id"])
    assert record is not None

    # Before anything goes, the plan says when: lpr 2016-11 is kept 10 years after the month.
    plan = _call(gw, DPO, "GET", "/v1/retention/plan").json()
    mine = next(i for i in plan["items"] if i["id"] == receipt["delivery_id"])
    assert mine["due"] == "2026-12-01" and mine["rule"] == "years-after-period"
    assert "10 years after 2016-11" in mine["reason"] and "art. 5" in mine["citation"]
    later = _call(gw, DPO, "GET", "/v1/retention/plan", params={"on": "2026-11-30"}).json()
    assert later["summary"]["due_now"] == 0

    # The day comes: the sweep erases it (and only what is due: dfdg is kept 15 years).
    _at(gw, dt.date(2026, 12, 7))
    result = _sweep(gw)
    erased = [e for e in result["erased"] if e["id"] == receipt["delivery_id"]]
    assert len(erased) == 1 and erased[0]["rule"] == "years-after-period"
    assert erased[0]["sha256"] == receipt["sha256"]
    assert not ctx.blobs.exists(record.blob_key) and not ctx.blobs.exists(record.vault_blob_key)
    assert _sweep(gw)["erased"] == []  # idempotent

    # The delivery says so, with 410 for a second push of the same content.
    shown = _call(gw, (LPR, Role.SOURCE), "GET", f"/v1/deliveries/{record.id}").json()
    assert shown["status"] == "erased" and shown["erased_at"].startswith("2026-12-07")
    again = gw.client.post(
        f"/v1/sources/{LPR}/datasets/lpr/deliveries",
        params={"period": "2016-11"},
        content=synthetic.bytes("lpr"),
        headers=gw.auth(LPR, Role.SOURCE),
    )
    assert again.status_code == 410 and again.json()["type"].endswith("/problems/erased")

    # The log is whole, the receipt still verifies, and the erasure is an entry of its own.
    assert verify(ctx).ok
    vkey = _call(gw, (LPR, Role.SOURCE), "GET", "/v1/audit/checkpoint").json()["vkey"]
    assert (
        receipts.verify_receipt(receipt, NoteVerifier.from_vkey(vkey)).type == "delivery.accepted"
    )
    entries = _call(
        gw, DPO, "GET", "/v1/audit/entries", params={"event_type": "retention.erased"}
    ).json()["entries"]
    assert any(e["refs"].get("delivery") == record.id for e in entries)

    # A release that would read the erased month is refused, naming it.
    spec = {**LINKED, "runs": 1}
    extract = _call(gw, ("star-analyse", Role.RECIPIENT), "POST", "/v1/extracts", json=spec)
    assert extract.status_code == 201, extract.text
    ext_id = extract.json()["id"]
    assert (
        _call(
            gw, ("dpo@star.dk", Role.APPROVER), "POST", f"/v1/extracts/{ext_id}/approve"
        ).status_code
        == 200
    )
    run = _call(gw, ("star-analyse", Role.RECIPIENT), "POST", f"/v1/extracts/{ext_id}/releases")
    assert run.status_code == 409 and "lpr for 2016-11" in run.json()["detail"], run.text


def test_a_shredded_blob_opens_with_no_key_not_even_the_master_key(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    """A crash between destroying the data key and deleting the file leaves a file that the
    master key cannot open: nothing is half-erased."""
    receipt = _push(gateway, synthetic.bytes("lpr"))
    ctx = gateway.runtime.context
    with ctx.store.unit_of_work() as uow:
        record = uow.get_delivery(receipt["delivery_id"])
    assert record is not None
    with open_sealed(ctx, record.blob_key) as fh:
        assert fh.read(4) == b"PAR1"  # readable before
    with ctx.blobs.open_for_update(record.blob_key) as fh:
        assert destroy_data_key(fh)
    with pytest.raises(IntegrityError), open_sealed(ctx, record.blob_key) as fh:
        fh.read(4)
    assert ctx.blobs.shred(record.blob_key) and not ctx.blobs.exists(record.blob_key)
    assert not ctx.blobs.shred(record.blob_key)  # a second time: nothing left


def test_a_legal_hold_stops_erasure_until_two_persons_lift_it(
    ending: Gateway, synthetic: Synthetic
) -> None:
    gw = ending
    receipt = _push(gw, synthetic.bytes("lpr"))
    placed = _call(
        gw, DPO, "POST", "/v1/retention/holds",
        json={"reason": "Rigsrevisionen inspects 2016", "dataset": "lpr", "period_from": "2016-01"},
    )  # fmt: skip
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert hold["standing"] and "dataset lpr" in hold["scope"]
    _at(gw, dt.date(2026, 12, 7))
    plan = _call(gw, DPO, "GET", "/v1/retention/plan").json()
    mine = next(i for i in plan["items"] if i["id"] == receipt["delivery_id"])
    assert mine["held_by"] == [hold["id"]] and plan["summary"]["delayed_by_holds"] >= 1
    swept = _sweep(gw)
    assert swept["erased"] == [] and swept["held"] >= 1

    lift = f"/v1/retention/holds/{hold['id']}/lift"
    asked = _call(gw, DPO, "POST", lift, json={"reason": "inspection closed"}).json()
    assert asked["standing"] and asked["lift_requested_by"]
    same = _call(gw, DPO, "POST", lift, json={"reason": "again"})
    assert same.status_code == 403  # the one who asked cannot also confirm
    assert _call(gw, ("hub-operations", Role.OPERATOR), "POST", lift).status_code == 403
    lifted = _call(gw, OTHER_DPO, "POST", lift).json()
    assert not lifted["standing"] and lifted["lifted_by"]
    assert [e["id"] for e in _sweep(gw)["erased"]] == [receipt["delivery_id"]]
    types = [
        e["type"]
        for e in _call(gw, DPO, "GET", "/v1/audit/entries", params={"limit": 100}).json()["entries"]
    ]
    for event in (
        "retention.hold-placed",
        "retention.hold-lift-requested",
        "retention.hold-lifted",
    ):
        assert event in types


def test_recipients_confirm_their_deletion_when_a_grant_ends(
    ending: Gateway, synthetic: Synthetic
) -> None:
    gw = ending
    for dataset in ("dfdg-indsats", "lpr"):
        f = synthetic.files[dataset]
        assert gw.push(f.source, dataset, synthetic.bytes(dataset)).status_code == 201
    analyst = ("star-analyse", Role.RECIPIENT)
    ext = _call(gw, analyst, "POST", "/v1/extracts", json=LINKED).json()["id"]
    _call(gw, ("dpo@star.dk", Role.APPROVER), "POST", f"/v1/extracts/{ext}/approve")
    release = _call(gw, analyst, "POST", f"/v1/extracts/{ext}/releases").json()["id"]
    assert _call(gw, analyst, "GET", f"/v1/releases/{release}/content").status_code == 200

    # While the grant is in force, nothing is asked; the release stays 30 days after its pull.
    _at(gw, dt.date(2026, 12, 20))
    assert _sweep(gw)["deletion_requests"] == 0
    # The grant ended on 2026-12-31: the recipient is asked, the release goes at the end.
    _at(gw, dt.date(2027, 1, 2))
    swept = _sweep(gw)
    assert swept["deletion_requests"] == 1
    assert any(e["id"] == release for e in swept["erased"])  # never beyond the grant's end
    pulled = _call(gw, analyst, "GET", f"/v1/releases/{release}/content")
    assert pulled.status_code == 410 and "erased" in pulled.json()["detail"]

    mine = _call(gw, analyst, "GET", "/v1/retention/deletions").json()["requests"]
    assert len(mine) == 1 and mine[0]["releases"] == [release] and mine[0]["due"] == "2027-01-31"
    assert (
        _call(gw, ("star-statistik", Role.RECIPIENT), "GET", "/v1/retention/deletions").json()[
            "requests"
        ]
        == []
    )
    # A week before the deadline and after it, reminders; the DPO sees it overdue.
    _at(gw, dt.date(2027, 2, 3))
    assert _sweep(gw)["reminders"] == 1
    assert _sweep(gw)["reminders"] == 0  # weekly, not every sweep
    overdue = _call(gw, DPO, "GET", "/v1/retention/deletions").json()["requests"]
    assert overdue[0]["overdue"] is True
    other = _call(
        gw, ("star-statistik", Role.RECIPIENT), "POST",
        f"/v1/retention/deletions/{mine[0]['id']}/confirm", json={"note": "x"},
    )  # fmt: skip
    assert other.status_code in (403, 404)
    done = _call(
        gw, analyst, "POST", f"/v1/retention/deletions/{mine[0]['id']}/confirm",
        json={"note": "deleted from the analysis servers and their backups"},
    )  # fmt: skip
    assert done.status_code == 200 and done.json()["confirmed_by"].startswith("star-analyse")
    assert (
        _call(gw, DPO, "GET", "/v1/retention/deletions").json()["requests"][0]["overdue"] is False
    )


def test_records_of_processing_are_generated_exported_and_frozen(gateway: Gateway) -> None:
    legal = ("legal@hub-legal", Role.APPROVER)
    record = _call(gateway, legal, "GET", "/v1/processing-records").json()
    activities = {a["id"]: a for a in record["activities"]}
    grant = activities["disclosure/star-analyse-lpr"]
    assert grant["dpia"]["reference"].startswith("DPIA") and grant["retention"]["citation"]
    assert "Lov nr. 1482" in grant["legal_basis"] and grant["recipients"]
    assert record["controller"]["dpo"]["contact"]
    assert "collection/lpr" in activities
    jsonld = _call(gateway, legal, "GET", "/v1/processing-records", params={"format": "jsonld"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    graph = jsonld.json()["@graph"]
    assert jsonld.json()["@context"]["dpv"] == "https://w3id.org/dpv#"
    assert all(n["@type"] == "dpv:Process" and n["dpv:hasLegalBasis"] for n in graph)
    page = _call(gateway, legal, "GET", "/v1/processing-records", params={"format": "html"})
    assert page.headers["content-type"].startswith("text/html") and "art. 30" in page.text
    assert _call(gateway, legal, "POST", "/v1/processing-records/approvals").status_code == 403
    first = _call(gateway, DPO, "POST", "/v1/processing-records/approvals")
    assert first.status_code == 201 and first.json()["version"] == 1
    second = _call(gateway, DPO, "POST", "/v1/processing-records/approvals").json()
    assert second["version"] == 2
    frozen = _call(gateway, legal, "GET", "/v1/processing-records/approvals/1").json()
    assert frozen["activities"] == record["activities"]
    listed = _call(gateway, legal, "GET", "/v1/processing-records/approvals").json()
    assert [a["version"] for a in listed["approvals"]] == [1, 2]
    assert _call(gateway, legal, "GET", "/v1/processing-records/approvals/9").status_code == 404


def test_a_held_delivery_withdrawn_by_its_source_is_erased_at_the_next_sweep(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    """A source's wrong file (another month's, held) withdrawn: discarded at once, and its
    dataset's withdrawal term (none) lets the next sweep erase it; the month's current version
    is untouched."""
    current = _push(gateway, synthetic.bytes("lpr"), "2016-11")
    wrong = _push(gateway, synthetic.bytes("lpr"), "2016-10", confirm=False)
    assert wrong["held"]
    source = (LPR, Role.SOURCE)
    withdrawn = _call(
        gateway, source, "POST", f"/v1/deliveries/{wrong['delivery_id']}/withdraw",
        json={"note": "the wrong month's file"},
    )  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text
    shown = _call(gateway, source, "GET", f"/v1/deliveries/{wrong['delivery_id']}").json()
    assert shown["status"] == "discarded"
    plan = _call(gateway, DPO, "GET", "/v1/retention/plan").json()
    item = next(i for i in plan["items"] if i["id"] == wrong["delivery_id"])
    assert item["rule"] == "withdrawn" and item["due"] <= dt.date.today().isoformat()
    erased = _sweep(gateway)["erased"]
    assert [e["id"] for e in erased] == [wrong["delivery_id"]]
    assert (
        _call(gateway, source, "GET", f"/v1/deliveries/{current['delivery_id']}").json()["current"]
        is True
    )
    assert verify(gateway.runtime.context).ok
    assert json.dumps(erased)  # the result is plain JSON
