"""Versions of a month: a corrected delivery is the next version, the earlier one stays, an
earlier content sent again is current again, and a withdrawal is explicit and audited."""

from __future__ import annotations

import json

from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic
from tests.integration.test_extracts_api import LINKED, push_all, release_for

SOURCE = "sundhedsdatastyrelsen"


def _types(gateway: Gateway) -> list[str]:
    return [json.loads(e.body)["type"] for e in gateway.runtime.store.audit_entries()]


def _current(gateway: Gateway) -> list[str]:
    with gateway.runtime.store.unit_of_work() as uow:
        return [d.id for d in uow.latest_deliveries("lpr", ["2016-11"])]


def test_a_corrected_delivery_is_a_new_version_and_withdrawal_is_explicit(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    source = gateway.auth(SOURCE, Role.SOURCE)
    original = synthetic.bytes("lpr")
    corrected = original[: original.rstrip(b"\n").rfind(b"\n") + 1]  # the last row taken out

    first = gateway.push(SOURCE, "lpr", original).json()
    assert (first["version"], first["current"], first["duplicate"]) == (1, True, False)
    second = gateway.push(SOURCE, "lpr", corrected).json()
    assert (second["version"], second["current"]) == (2, True)
    assert second["rows"] == first["rows"] - 1
    assert _current(gateway) == [second["delivery_id"]]

    earlier = gateway.client.get(f"/v1/deliveries/{first['delivery_id']}", headers=source).json()
    assert (earlier["version"], earlier["current"], earlier["current_version"]) == (1, False, 2)
    assert [v["action"] for v in earlier["versions"]] == ["delivered", "delivered"]
    assert "blob_key" not in earlier and "vault_blob_key" not in earlier

    again = gateway.push(SOURCE, "lpr", original)  # the earlier content: current once more
    assert again.status_code in (200, 201)
    assert (again.json()["version"], again.json()["duplicate"]) == (3, False)
    assert _current(gateway) == [first["delivery_id"]]
    assert "delivery.reinstated" in _types(gateway)
    retry = gateway.push(SOURCE, "lpr", original).json()  # a retry of the current one
    assert (retry["version"], retry["duplicate"]) == (3, True)

    withdraw = f"/v1/deliveries/{first['delivery_id']}/withdraw"
    assert (
        gateway.client.post(withdraw, headers=gateway.auth("dfdg", Role.SOURCE)).status_code == 404
    )
    approver = gateway.auth("hub-legal", Role.APPROVER)
    assert gateway.client.post(withdraw, headers=approver).status_code == 403
    stale = gateway.client.post(f"/v1/deliveries/{second['delivery_id']}/withdraw", headers=source)
    assert stale.status_code == 409 and "not the current version" in stale.json()["detail"]
    done = gateway.client.post(withdraw, headers=source, json={"note": "wrong municipality codes"})
    assert done.status_code == 200, done.text
    assert done.json()["current_version"] == 4
    assert _current(gateway) == []  # new releases of the month find nothing to read
    assert _types(gateway)[-1] == "delivery.withdrawn"
    after = gateway.client.get(f"/v1/deliveries/{first['delivery_id']}", headers=source).json()
    assert after["current"] is False
    assert [v["action"] for v in after["versions"]][-1] == "withdrawn"
    assert after["versions"][-1]["delivery_id"] is None
    cpr_note = gateway.client.post(
        f"/v1/deliveries/{second['delivery_id']}/withdraw",
        headers=source,
        json={"note": "see 0101801234"},
    )
    assert cpr_note.status_code == 422  # free text is screened for CPR before anything else


def test_a_release_names_the_versions_it_read_and_keeps_them(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    first, _ = release_for(gateway, "star-analyse", LINKED)
    read = {(i["dataset"], i["period"]): i for i in first["inputs"]}
    assert set(read) == {("dfdg-indsats", "2016-11"), ("lpr", "2016-11")}
    assert read[("lpr", "2016-11")]["version"] == 1

    original = synthetic.bytes("lpr")
    corrected = original[: original.rstrip(b"\n").rfind(b"\n") + 1]
    fixed = gateway.push(SOURCE, "lpr", corrected).json()
    second, _ = release_for(gateway, "star-analyse", LINKED)
    now = {(i["dataset"], i["period"]): i for i in second["inputs"]}
    lpr_read = dict(now[("lpr", "2016-11")])
    # Each input carries its delivery's quality summary: what a recipient must know.
    assert lpr_read.pop("quality")["status"] == fixed["quality"]["status"]
    assert lpr_read == {
        "dataset": "lpr",
        "period": "2016-11",
        "delivery": fixed["delivery_id"],
        "version": 2,
    }
    # The first release still says what it read, and its audit entry committed to it.
    owner = gateway.auth("star-analyse", Role.RECIPIENT)
    again = gateway.client.get(f"/v1/releases/{first['id']}", headers=owner).json()
    assert again["inputs"] == first["inputs"]
    entry = json.loads(first["audit"]["entry"])
    assert entry["details"]["inputs"] == first["inputs"]


def test_a_delivery_that_would_make_data_vanish_waits_for_its_source(
    gateway: Gateway, synthetic: Synthetic, tmp_path: object
) -> None:
    """A header alone, a third of the rows, or October's file sent as November's: stored,
    answered with a durable receipt, held; the current version stays until the source
    confirms. With confirm=true it is current at once."""
    source = gateway.auth(SOURCE, Role.SOURCE)
    original = synthetic.bytes("lpr")
    good = gateway.push(SOURCE, "lpr", original).json()
    header = original[: original.find(b"\n") + 1]
    lines = original.splitlines(keepends=True)
    third = b"".join(lines[: 1 + (len(lines) - 1) // 3])

    empty = gateway.push(SOURCE, "lpr", header)
    assert empty.status_code == 201, empty.text
    held = empty.json()
    assert held["current"] is False and [r["code"] for r in held["held"]] == ["no-rows"]
    assert held["audit"]["entry"] and _current(gateway) == [good["delivery_id"]]
    shown = gateway.client.get(f"/v1/deliveries/{held['delivery_id']}", headers=source).json()
    assert shown["status"] == "held" and shown["held"][0]["code"] == "no-rows"

    dropped = gateway.push(SOURCE, "lpr", third).json()
    assert {r["code"] for r in dropped["held"]} >= {"rows-dropped", "persons-dropped"}
    assert "fewer" in dropped["held"][0]["detail"] and _current(gateway) == [good["delivery_id"]]

    # The same held content again: its receipt, still held; confirmed: current.
    again = gateway.push(SOURCE, "lpr", third).json()
    assert again["duplicate"] is True and again["held"]
    other = gateway.auth("dfdg", Role.SOURCE)
    confirm = f"/v1/deliveries/{dropped['delivery_id']}/confirm"
    assert gateway.client.post(confirm, headers=other).status_code == 404  # not its delivery
    ok = gateway.client.post(confirm, headers=source)
    assert ok.status_code == 200 and ok.json()["confirmed"] is True, ok.text
    assert _current(gateway) == [dropped["delivery_id"]]
    assert gateway.client.post(confirm, headers=source).status_code == 409  # not held any more
    assert {"delivery.held", "delivery.confirmed"} <= set(_types(gateway))

    # An empty month delivered on purpose: confirm=true makes it current at once.
    meant = gateway.client.post(
        f"/v1/sources/{SOURCE}/datasets/lpr/deliveries",
        params={"period": "2016-11", "confirm": "true"},
        content=header + b"\n",
        headers=source,
    )
    assert meant.status_code == 201 and meant.json()["current"] is True, meant.text
    assert meant.json()["held"] is None


def test_a_month_the_clock_does_not_allow_is_refused(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    """Deliveries for a month beyond the current one (no dataset here takes any ahead)."""
    for period in ("2099-12", f"{gateway.runtime.context.today():%Y}-12"):
        future = gateway.push(SOURCE, "lpr", synthetic.bytes("lpr"), period=period)
        today = gateway.runtime.context.today()
        if period <= f"{today:%Y-%m}":
            continue
        assert future.status_code == 422, (period, future.text)
        assert "beyond the current month" in future.json()["detail"]
    year, month = divmod(today.year * 12 + today.month, 12)
    next_month = f"{year}-{month + 1:02d}"
    assert gateway.push(SOURCE, "lpr", synthetic.bytes("lpr"), period=next_month).status_code == 422
