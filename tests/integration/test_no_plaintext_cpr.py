"""After the whole flow, no CPR of the input is in the database, the blobs or the logs."""

from __future__ import annotations

from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic
from tests.cpr_scan import database_hits, hits, input_cprs
from tests.integration.test_extracts_api import LINKED, push_all, release_for


def test_whole_flow_leaves_no_plaintext_cpr(gateway: Gateway, synthetic: Synthetic) -> None:
    cprs = input_cprs(synthetic.path(d) for d in synthetic.files)
    assert len(cprs) > 1000
    push_all(gateway, synthetic)
    # A rejected delivery whose bad rows carry real CPRs next to broken values.
    some = sorted(cprs)[:3]
    bad = "cpr,kommune,contact_start,contact_end,contact_type,diagnosis_chapter\n" + "".join(
        f"{c},999,2016-11-40,,x,F\n" for c in some
    )
    rejected = gateway.push("sundhedsdatastyrelsen", "lpr", bad.encode())
    assert rejected.status_code == 422
    assert not any(c in rejected.text for c in some)
    gateway.push(
        "sundhedsdatastyrelsen", "laegemiddelstatistik", synthetic.bytes("laegemiddelstatistik")
    )
    release, table = release_for(gateway, "star-analyse", LINKED)
    gateway.client.get(
        f"/v1/releases/{release['id']}/content",
        params={"format": "csv"},
        headers=gateway.auth("star-analyse", Role.RECIPIENT),
    )
    audit = gateway.client.get(
        "/v1/audit/entries", params={"limit": 1000}, headers=gateway.auth("dpo", Role.AUDITOR)
    )
    assert audit.status_code == 200 and not any(c in audit.text for c in some)

    data_dir = gateway.settings.data_dir
    assert (data_dir / "gateway.log").stat().st_size > 0
    assert any((data_dir / "blobs").rglob("*.gwb"))
    assert database_hits(gateway.runtime.store.engine, cprs) == {}
    gateway.runtime.store.dispose()  # flush SQLite's WAL into the database file too
    assert hits(data_dir, cprs) == {}  # database file (SQLite), blobs, spool, log, checkpoints
    assert not set(table["person"].to_pylist()) & cprs
