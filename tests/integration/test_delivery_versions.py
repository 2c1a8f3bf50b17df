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
