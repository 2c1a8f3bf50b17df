"""Legal-basis scenarios end to end: population boundaries, CPR releases, revocation, rotation."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from gateway.crypto.envelope import header_version
from gateway.crypto.pseudonyms import internal_pseudonyms, recipient_pseudonyms
from gateway.domain.audit_query import AuditQuery
from gateway.domain.principals import Principal, Role
from gateway.errors import Forbidden
from gateway.services.platform import keys as key_service
from tests.conftest import Gateway, Synthetic, edited_policies, running_gateway
from tests.integration.test_extracts_api import LINKED, expected_population, push_all, release_for

OPERATOR = Principal("ops", frozenset({Role.OPERATOR}))
DFDG = "cpr,kommune,record_type,offer_type,start_date,end_date\n"
LPR = "cpr,kommune,contact_start,contact_end,contact_type,diagnosis_chapter\n"
PERSONS = {  # CPR -> resource course (start, end) relative to the period November 2016
    "0101801111": ("2016-05-01", "2016-11-01"),  # ends on the first day: inside
    "0202802222": ("2016-05-01", "2016-10-31"),  # ended the day before: outside
    "0303803333": ("2016-11-30", ""),  # starts on the last day: inside
    "0404804444": ("2016-12-01", ""),  # starts the day after: outside
    "0505805555": ("2014-02-01", ""),  # ongoing since 2014: inside
}
NEVER_IN_COURSE = "0606806666"


def pseudonyms_of(gw: Gateway, cprs: list[str], recipient: str, version: int = 1) -> set[str]:
    keys = gw.runtime.context.keys
    internal = internal_pseudonyms(pa.array(cprs), keys.internal_pseudonym_key())
    return set(
        recipient_pseudonyms(internal, keys.recipient_pseudonym_key(recipient, version)).to_pylist()
    )


def test_population_boundaries_just_inside_and_just_outside(gateway: Gateway) -> None:
    dfdg = DFDG + "".join(f"{c},101,ressourceforloeb,,{s},{e}\n" for c, (s, e) in PERSONS.items())
    lpr = LPR + "".join(f"{c},101,2016-11-15,,somatisk,F\n" for c in [*PERSONS, NEVER_IN_COURSE])
    assert gateway.push("dfdg", "dfdg-indsats", dfdg.encode()).status_code == 201
    assert gateway.push("sundhedsdatastyrelsen", "lpr", lpr.encode()).status_code == 201
    _, table = release_for(gateway, "star-analyse", LINKED)
    inside = ["0101801111", "0303803333", "0505805555"]
    assert set(table["person"].to_pylist()) == pseudonyms_of(gateway, inside, "star-analyse")
    lpr_rows = table.filter(pc.equal(table["dataset"], "lpr"))
    assert set(lpr_rows["person"].to_pylist()) == pseudonyms_of(gateway, inside, "star-analyse")


@pytest.fixture
def cpr_grant(tmp_path: Path) -> Path:
    return edited_policies(
        tmp_path / "policies",
        {
            "grants/kommune-101.yaml": (
                "    valid_from: 2013-01-01",
                "    identifier: cpr\n"
                "    approval_reference: TEST-ONLY synthetic approval 2026-001\n"
                "    valid_from: 2013-01-01",
            )
        },
    )


def test_cpr_is_released_only_under_a_cpr_grant(
    tmp_path: Path, cpr_grant: Path, synthetic: Synthetic, database_url: str
) -> None:
    spec = {
        "purpose": "administration",
        "population": "persons-in-resource-course",
        "period_from": "2016-11",
        "period_to": "2016-11",
        "identifier": "cpr",
        "datasets": [{"dataset": "dfdg-indsats", "columns": ["kommune", "record_type"]}],
    }
    with running_gateway(tmp_path / "var", cpr_grant, database_url) as gw:
        push_all(gw, synthetic)
        refused = gw.client.post(
            "/v1/extracts", json=spec, headers=gw.auth("star-analyse", Role.RECIPIENT)
        )
        assert refused.status_code == 403
        assert refused.json()["decision"]["datasets"][0]["deciding_rule"] == "grant-identifier"
        own = {**spec, "population": "own-citizens-in-resource-course"}
        release, table = release_for(gw, "kommune-101", own)
        assert "cpr" in table.column_names and "person" not in table.column_names
        # Exactly the population's persons, as plain 10-digit CPR numbers.
        released = sorted(set(table["cpr"].to_pylist()))
        assert all(len(c) == 10 and c.isdigit() for c in released)
        assert pseudonyms_of(gw, released, "kommune-101") == expected_population(
            gw, synthetic, "kommune-101", municipality="101"
        )
        # Only its own citizens: every released course row is Copenhagen's.
        assert set(table["dfdg_indsats__kommune"].to_pylist()) == {"101"}
        assert release["identifier"] == "cpr"
        entry = json.loads(
            gw.runtime.store.search_audit(AuditQuery(event_type="release.created"))[0].body
        )
        assert entry["details"]["identifier"] == "cpr"
        assert entry["details"]["approval_references"] == ["TEST-ONLY synthetic approval 2026-001"]


def test_revoked_grant_blocks_release_of_approved_spec(
    tmp_path: Path, synthetic: Synthetic, database_url: str
) -> None:
    marker = "    population: persons-in-resource-course\n    columns: [contact_start"
    policies = edited_policies(
        tmp_path / "policies",
        {"grants/star-analyse.yaml": (marker, "    revoked: 2026-12-15\n" + marker)},
    )
    with running_gateway(tmp_path / "var", policies, database_url) as gw:
        gw.runtime.context.clock = lambda: dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        push_all(gw, synthetic)
        recipient = gw.auth("star-analyse", Role.RECIPIENT)
        ext = gw.client.post("/v1/extracts", json=LINKED, headers=recipient).json()
        approve = gw.client.post(
            f"/v1/extracts/{ext['id']}/approve", headers=gw.auth("dpo", Role.APPROVER)
        )
        assert approve.status_code == 200
        gw.runtime.context.clock = lambda: dt.datetime(2026, 12, 15, tzinfo=dt.UTC)
        refused = gw.client.post(f"/v1/extracts/{ext['id']}/releases", headers=recipient)
        assert refused.status_code == 403
        rules = refused.json()["decision"]["datasets"][1]["rules"]
        assert rules[-1]["rule"] == "legal-basis" and "not in force" in rules[-1]["reason"]


def test_recipient_key_rotation_keeps_old_releases_verifiable(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    old, old_table = release_for(gateway, "star-analyse", LINKED)
    with pytest.raises(Forbidden):
        key_service.rotate_recipient_key(
            gateway.runtime.context,
            by=Principal("x", frozenset({Role.APPROVER})),
            recipient="star-analyse",
        )
    assert (
        key_service.rotate_recipient_key(
            gateway.runtime.context, by=OPERATOR, recipient="star-analyse"
        )
        == 2
    )
    new, new_table = release_for(gateway, "star-analyse", LINKED)
    assert (old["key_version"], new["key_version"]) == (1, 2)
    assert not set(old_table["person"].to_pylist()) & set(new_table["person"].to_pylist())
    # The old release is still there and still matches its recorded key version.
    again = gateway.client.get(
        f"/v1/releases/{old['id']}/content", headers=gateway.auth("star-analyse", Role.RECIPIENT)
    )
    old_persons = set(pq.read_table(io.BytesIO(again.content))["person"].to_pylist())
    assert old_persons == expected_population(gateway, synthetic, "star-analyse")
    rotated = gateway.runtime.store.search_audit(AuditQuery(event_type="keys.rotated"))
    assert json.loads(rotated[0].body)["details"]["to_version"] == 2


def test_blob_kek_rotation_rewraps_everything_without_losing_data(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    old, old_table = release_for(gateway, "star-analyse", LINKED)
    blobs = gateway.runtime.context.blobs
    keys = [k for prefix in ("deliveries/", "vault/", "releases/") for k in blobs.keys(prefix)]
    pushed = len(synthetic.files) - 1  # prescriptions are refused
    assert len(keys) == pushed + pushed + 1  # deliveries, their identity vaults, the release
    result = key_service.rotate_blob_kek(gateway.runtime.context, by=OPERATOR)
    assert (result.from_version, result.to_version, result.rewrapped) == (1, 2, len(keys))
    for key in keys:
        with blobs.open(key) as fh:
            assert header_version(fh) == 2
    pulled = gateway.client.get(
        f"/v1/releases/{old['id']}/content", headers=gateway.auth("star-analyse", Role.RECIPIENT)
    )
    assert pq.read_table(io.BytesIO(pulled.content)).equals(old_table)
    _, again = release_for(gateway, "star-analyse", LINKED)  # reads the re-wrapped deliveries
    assert again.equals(old_table)
    again_result = key_service.rewrap_all(gateway.runtime.context, by=OPERATOR, to_version=2)
    assert again_result.rewrapped == 0 and again_result.already_current == len(keys) + 1
