"""The audit trail as a verifiable log: tamper drills, proofs, receipts, lookups."""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.audit import fast_verify, receipts
from gateway.audit.checkpointer import Checkpointer
from gateway.audit.checkpoints import Checkpoint
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from gateway.audit.proof_bundle import parse_bundle, verify_bundle
from gateway.audit.trust_policy import parse_policy
from gateway.audit.verify import verify_log
from gateway.crypto.notes import NoteSigner, NoteVerifier
from gateway.domain.principals import Principal, Role
from gateway.errors import IntegrityError
from gateway.services.audit import trail as audit_service
from gateway.services.audit.subject_indexer import SubjectIndexer
from gateway.storage import subject_index
from gateway.storage.sql_store import SqlStore
from gateway.storage.tables import APPEND_ONLY
from tests.conftest import Gateway, Synthetic
from tests.cpr_scan import input_cprs
from tests.integration.test_extracts_api import LINKED, push_all, release_for
from tests.pg import PgServer

SIGNER = NoteSigner.from_seed("test.example/audit", b"\x05" * 32)
VERIFIER = NoteVerifier.from_vkey(SIGNER.vkey)
TABLES = APPEND_ONLY  # every audit table, the subject sets and their progress included


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Iterator[SqlStore]:
    """Twelve entries, one transaction (and signed checkpoint) each, on SQLite and PostgreSQL."""
    store = SqlStore.open(database_url, Checkpointer(SIGNER, tmp_path / "checkpoints.jsonl"))
    for i in range(12):
        with store.unit_of_work() as uow:
            uow.append_audit(
                AuditEvent(
                    EventType.DELIVERY_ACCEPTED,
                    f"source-{i}[source]",
                    {"dataset": "lpr", "delivery": f"d{i}"},
                    {"rows": i},
                ),
                subjects=[bytes([i]) * 16],
            )
    yield store
    store.dispose()


def check(store: SqlStore, since: list[str] | None = None):  # type: ignore[no-untyped-def]
    """Both verifiers, which must agree: the Python one over entry objects, and the native
    kernel with the database's own column checks (where the kernel is built)."""
    notes = [*store.checkpoint_notes(), *store.checkpointer.notes()]  # type: ignore[union-attr]
    result = verify_log(
        store.audit_entries(),
        notes,
        VERIFIER,
        subjects=store.subjects_by_entry(),
        since=since or [],
    )
    if fast_verify.available():
        with store.snapshot() as snap:
            fast = fast_verify.verify_stored(
                snap.entry_rows(batch=5),
                snap.level0_nodes,
                notes,
                VERIFIER,
                subjects=snap.subjects_by_entry(),
                since=since or [],
                subtree_for_proofs=snap.tiles,
            )
        assert (fast.ok, fast.first_bad_index) == (result.ok, result.first_bad_index), (
            fast.problem,
            result.problem,
        )
        if fast.ok:
            assert (fast.entries, fast.checkpoints, fast.root) == (
                result.entries,
                result.checkpoints,
                result.root,
            )
    return result


def pg(store: SqlStore) -> bool:
    return store.engine.dialect.name == "postgresql"


def blob(store: SqlStore, data: bytes) -> str:
    """A binary literal in the store's SQL dialect."""
    return f"decode('{data.hex()}', 'hex')" if pg(store) else f"x'{data.hex()}'"


def edit_body(store: SqlStore, old: str, new: str, index: int) -> str:
    old, new = old.replace(":", "\\:"), new.replace(":", "\\:")
    if pg(store):
        return (
            "UPDATE audit_entries SET body = convert_to(replace(convert_from(body, 'UTF8'), "
            f"'{old}', '{new}'), 'UTF8') WHERE idx = {index}"
        )
    return (
        f"UPDATE audit_entries SET body = CAST(replace(CAST(body AS TEXT), '{old}', '{new}') "
        f"AS BLOB) WHERE idx = {index}"
    )


def behind_the_back(store: SqlStore, *statements: str) -> None:
    """An attacker with the database files (an owner or superuser): drop the triggers, write."""
    with store.engine.begin() as conn:
        for table in TABLES:
            if pg(store):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}"))
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
            else:
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        for sql in statements:
            conn.execute(text(sql))


def test_clean_log_verifies_every_checkpoint(store: SqlStore) -> None:
    result = check(store)
    assert result.ok, result.problem
    assert (result.entries, result.checkpoints) == (12, 12)


def test_database_refuses_update_and_delete_on_every_audit_table(store: SqlStore) -> None:
    with store.unit_of_work() as uow:  # a large subject set, partly indexed: rows everywhere
        uow.append_audit(
            AuditEvent(EventType.DELIVERY_ACCEPTED, "sds[source]", {"dataset": "lpr"}),
            subjects=[i.to_bytes(16, "big") for i in range(subject_index.DIRECT_LIMIT + 1)],
        )
    assert store.index_subjects() > 0
    statements = [
        "UPDATE audit_entries SET actor = 'x' WHERE idx = 3",
        "DELETE FROM audit_entries WHERE idx = 3",
        "DELETE FROM audit_entries",
        f"UPDATE audit_nodes SET hash = {blob(store, b'0')} WHERE level = 0 AND idx = 1",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_subjects",
        "DELETE FROM audit_subject_sets",
        "UPDATE audit_subject_merges SET chunk = 1",
    ]
    if pg(store):
        statements += [f"TRUNCATE {table}" for table in TABLES]
        statements += ["SET session_replication_role = replica; DELETE FROM audit_entries"]
    for sql in statements:
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert check(store).ok


LEAF7 = "(SELECT leaf_hash FROM audit_entries WHERE idx = 7)"
TAMPERING = {
    "edit a body": [],  # dialect-specific: see the test
    "edit an indexed column": ["UPDATE audit_entries SET dataset = 'ssr' WHERE idx = 6"],
    "delete one": ["DELETE FROM audit_entries WHERE idx = 5"],
    "reorder two": [
        "UPDATE audit_entries SET idx = -1 WHERE idx = 2",
        "UPDATE audit_entries SET idx = 2 WHERE idx = 3",
        "UPDATE audit_entries SET idx = 3 WHERE idx = -1",
    ],
    "rewrite a leaf hash": [
        "UPDATE audit_entries SET leaf_hash = "
        "'00000000000000000000000000000000' || "
        "'00000000000000000000000000000000' WHERE idx = 8"
    ],
    "tamper with the subject index": [],  # dialect-specific: see the test
}
FIRST_BAD = {
    "edit a body": 4,
    "edit an indexed column": 6,
    "delete one": 5,
    "reorder two": 2,
    "rewrite a leaf hash": 8,
    "tamper with the subject index": 9,
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_detected_at_the_first_bad_index(store: SqlStore, case: str) -> None:
    statements = TAMPERING[case]
    if case == "edit a body":
        statements = [edit_body(store, '"rows":4', '"rows":5', 4)]
    elif case == "tamper with the subject index":
        statements = [
            f"UPDATE audit_subjects SET subject = {blob(store, b'x')} WHERE entry_index = 9"
        ]
    behind_the_back(store, *statements)
    result = check(store)
    assert not result.ok
    assert result.first_bad_index == FIRST_BAD[case], result.problem


def test_a_consistent_rewrite_of_body_and_leaf_is_caught_by_the_signed_checkpoint(
    store: SqlStore,
) -> None:
    entry = next(store.audit_entries(7))
    forged = entry.body.replace(b'"rows":7', b'"rows":70')
    behind_the_back(
        store,
        f"UPDATE audit_entries SET body = {blob(store, forged)}, "
        f"leaf_hash = '{leaf_hash(forged).hex()}' WHERE idx = 7",
    )
    result = check(store)
    assert not result.ok and result.first_bad_index == 7
    assert "signed checkpoint" in (result.problem or "")


def test_truncation_is_caught_by_the_checkpoints(store: SqlStore) -> None:
    behind_the_back(
        store,
        "DELETE FROM audit_entries WHERE idx >= 10",
        "DELETE FROM audit_checkpoints WHERE size > 10",
    )
    result = check(store)  # the file outside the database still holds checkpoint 12
    assert not result.ok and result.first_bad_index == 10
    assert "cut off" in (result.problem or "")


def test_an_inserted_entry_is_detected(store: SqlStore) -> None:
    behind_the_back(
        store,
        "UPDATE audit_entries SET idx = idx + 100 WHERE idx >= 8",
        "UPDATE audit_entries SET idx = idx - 99 WHERE idx >= 100",
        "INSERT INTO audit_entries SELECT 8, recorded_at, event_type, actor, "
        "dataset, recipient, body, leaf_hash FROM audit_entries WHERE idx = 2",
    )
    result = check(store)
    assert (result.ok, result.first_bad_index) == (False, 8)


def test_the_signer_refuses_a_head_inconsistent_with_its_last_checkpoint(
    store: SqlStore,
) -> None:
    # Rewrite the stored subtree over entries 0..7, as if the first entries had been replaced.
    behind_the_back(
        store, f"UPDATE audit_nodes SET hash = {blob(store, bytes(32))} WHERE level = 3 AND idx = 0"
    )
    with pytest.raises(IntegrityError, match="refusing to sign"), store.unit_of_work() as uow:
        uow.append_audit(AuditEvent(EventType.POLICY_LOADED, "x[system]"))


def test_concurrent_appends_get_unique_gap_free_indexes(store: SqlStore) -> None:
    def worker(n: int) -> None:
        for i in range(15):
            with store.unit_of_work() as uow:
                uow.append_audit(
                    AuditEvent(EventType.AUDIT_SEARCHED, f"w{n}[auditor]", {}, {"i": i})
                )

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.index for e in store.audit_entries()] == list(range(12 + 6 * 15))
    assert check(store).ok


def test_the_application_role_may_only_insert_and_select_audit_rows(
    tmp_path: Path, postgres: PgServer
) -> None:
    """PostgreSQL only: roles and privileges."""
    store = SqlStore.open(
        postgres.url(postgres.new_database()), Checkpointer(SIGNER, tmp_path / "checkpoints.jsonl")
    )
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from gateway.storage import tables as t
    from gateway.storage.dialects import grant_application_role

    with store.engine.begin() as conn:
        conn.execute(text("CREATE ROLE gateway_app LOGIN"))
    others = tuple(name for name in t.metadata.tables if name not in t.APPEND_ONLY)
    grant_application_role(store.engine, "gateway_app", t.APPEND_ONLY, others)
    app = SqlStore(create_engine(store.engine.url.set(username="gateway_app")), store.checkpointer)
    with app.unit_of_work() as uow:  # the application can still append
        uow.append_audit(AuditEvent(EventType.AUDIT_SEARCHED, "dpo[auditor]"))
    for sql in (
        "UPDATE audit_entries SET actor = 'x' WHERE idx = 1",
        "DELETE FROM audit_entries WHERE idx = 1",
        "TRUNCATE audit_entries",
        "DROP TRIGGER audit_entries_no_change ON audit_entries",
    ):
        with (
            pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
            app.engine.begin() as conn,
        ):
            conn.execute(text(sql))
    app.dispose()
    assert check(store).ok
    store.dispose()


def test_a_saved_checkpoint_proves_the_log_only_grew(store: SqlStore) -> None:
    saved = store.latest_checkpoint()
    assert saved is not None
    with store.unit_of_work() as uow:
        uow.append_audit(AuditEvent(EventType.AUDIT_SEARCHED, "dpo[auditor]"))
    result = check(store, since=[saved])
    assert result.ok and result.proven_since == [12]
    forged = SIGNER.sign(Checkpoint("test.example/audit", 5, b"\x01" * 32).text())
    assert not check(store, since=[forged]).ok
    foreign = NoteSigner.from_seed("test.example/audit", b"\x09" * 32)
    assert not check(
        store, since=[foreign.sign(Checkpoint("test.example/audit", 5, b"\x01" * 32).text())]
    ).ok


# -- over HTTP, with the whole gateway ---------------------------------------------------------
def test_receipts_and_releases_carry_proofs_that_verify_offline(
    gateway: Gateway, synthetic: Synthetic, tmp_path: Path
) -> None:
    push_all(gateway, synthetic)
    receipt = gateway.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr")).json()
    vkey = gateway.client.get(
        "/v1/audit/checkpoint", headers=gateway.auth("dfdg", Role.SOURCE)
    ).json()["vkey"]
    checked = receipts.verify_receipt(receipt, NoteVerifier.from_vkey(vkey))
    assert checked.type == "delivery.accepted"
    forged = {**receipt, "sha256": "0" * 64}
    with pytest.raises(IntegrityError):
        receipts.verify_receipt(forged, NoteVerifier.from_vkey(vkey))
    release, _ = release_for(gateway, "star-analyse", LINKED)
    owner = Principal("star-analyse", frozenset({Role.RECIPIENT}))
    material = audit_service.proof_material(
        gateway.runtime.context, release["audit_index"], by=owner
    )
    receipts.verify_receipt({"id": release["id"], "audit": material}, NoteVerifier.from_vkey(vkey))
    # Both also as C2SP tlog-proof bundles (no witnesses configured here: the log's key alone).
    alone = parse_policy(f"log {vkey}\nquorum none\n")
    assert verify_bundle(parse_bundle(receipt["audit"]["tlog_proof"]), alone).index == checked.index
    bundle = verify_bundle(parse_bundle(release["audit"]["tlog_proof"]), alone)
    assert bundle.entry["refs"]["release"] == release["id"]

    # Proof endpoints, checked as an outside verifier would.
    auth = gateway.auth("star-analyse", Role.RECIPIENT)
    cp = gateway.client.get("/v1/audit/checkpoint", headers=auth).json()
    head = Checkpoint.parse(NoteVerifier.from_vkey(vkey).open(cp["checkpoint"]))
    inc = gateway.client.get("/v1/audit/proofs/inclusion/3", headers=auth).json()
    verify_inclusion(
        3,
        inc["tree_size"],
        bytes.fromhex(inc["leaf_hash"]),
        [bytes.fromhex(p) for p in inc["inclusion_proof"]],
        head.root,
    )
    con = gateway.client.get(
        "/v1/audit/proofs/consistency", params={"from": 4}, headers=auth
    ).json()
    old = Checkpoint.parse(
        NoteVerifier.from_vkey(vkey).open(
            next(
                n
                for n in gateway.runtime.store.checkpoint_notes()
                if Checkpoint.parse(n.split("\n\n")[0] + "\n").size == 4
            )
        )
    )
    verify_consistency(4, con["to"], old.root, head.root, [bytes.fromhex(p) for p in con["proof"]])

    # The offline CLI check of a receipt file.
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    from gateway.cli.main import main

    assert main(["audit", "verify-receipt", str(path), "--key", vkey]) == 0


def test_subject_lookup_finds_every_entry_about_a_person_and_is_audited(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    release_for(gateway, "star-analyse", LINKED)
    # A person in a resource course with an LPR contact: in both deliveries and the release.
    lpr = input_cprs([synthetic.path("lpr")])
    dfdg = input_cprs([synthetic.path("dfdg-indsats")])
    person = sorted(lpr & dfdg)[0]
    dpo = gateway.auth("dpo@star.dk", Role.AUDITOR)
    r = gateway.client.post("/v1/audit/subject-lookup", json={"cpr": person}, headers=dpo)
    assert r.status_code == 200
    entries = r.json()["entries"]
    delivered = {e["refs"]["dataset"] for e in entries if e["type"] == "delivery.accepted"}
    assert {"lpr", "dfdg-indsats"} <= delivered
    assert "release.created" in [e["type"] for e in entries]
    # How long it is kept (art. 15(1)(d)): at the hub per dataset, and by the recipient.
    kept = {(k["who"], k["what"].split()[0]): k for k in r.json()["kept"]}
    assert "15 years after the month" in kept[("the hub", "lpr")]["kept"]
    assert "art. 5" in kept[("the hub", "lpr")]["citation"]
    assert "30 days after the recipient's pull" in kept[("star-analyse", "lpr")]["kept"]
    # The article 15 answer in words: who, for what, on which basis, which data, when, who
    # approved; where the data came from; the rights and where to complain.
    letter = r.json()["answer"]
    lpr_out = next(x for x in letter["received"] if x["dataset"] == "lpr")
    assert lpr_out["recipient"] == "star-analyse" and lpr_out["purpose"][0] == "analyse"
    assert "Lov nr." in lpr_out["citation"] and lpr_out["grant"] == "star-analyse-lpr"
    assert "diagnosis_chapter" in lpr_out["columns"] and lpr_out["approved_by"]
    assert len(lpr_out["pulled_on"]) == 1  # release_for pulled it: the pull is listed
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", lpr_out["released_on"])
    assert lpr_out["pulled_on"][0] >= lpr_out["released_on"]
    assert {s["dataset"] for s in letter["sources"]} >= {"lpr", "dfdg-indsats"}
    assert any("art. 21" in en for _da, en in letter["rights"])
    assert "Datatilsynet" in letter["controller"]["supervisory_authority"]
    assert person not in r.text
    assert (
        gateway.client.post(
            "/v1/audit/subject-lookup",
            json={"cpr": person},
            headers=gateway.auth("x", Role.RECIPIENT),
        ).status_code
        == 403
    )
    again = gateway.client.post("/v1/audit/subject-lookup", json={"cpr": person}, headers=dpo)
    assert "audit.subject-lookup" in [e["type"] for e in again.json()["entries"]]
    bad = gateway.client.post("/v1/audit/subject-lookup", json={"cpr": "3102991234"}, headers=dpo)
    assert bad.status_code == 422 and "3102991234" not in bad.text
    searched = gateway.client.get(
        "/v1/audit/entries", params={"event_type": "release.created"}, headers=dpo
    )
    assert len(searched.json()["entries"]) == 1
    assert audit_service.verify(gateway.runtime.context).ok


def test_export_verifies_offline(gateway: Gateway, synthetic: Synthetic, tmp_path: Path) -> None:
    push_all(gateway, synthetic)
    ctx = gateway.runtime.context
    from gateway.domain.principals import Principal

    done = audit_service.export(
        ctx, by=Principal("dpo", frozenset({Role.AUDITOR})), out=tmp_path / "export"
    )
    vkey = (tmp_path / "export" / "vkey.txt").read_text().strip()
    result = receipts.verify_export(tmp_path / "export", NoteVerifier.from_vkey(vkey))
    assert result.ok and result.entries == done.entries
    lines = (tmp_path / "export" / "entries.jsonl").read_text().splitlines()
    lines[3] = lines[3].replace("delivery.accepted", "delivery.rejected")
    (tmp_path / "export" / "entries.jsonl").write_text("\n".join(lines) + "\n")
    broken = receipts.verify_export(tmp_path / "export", NoteVerifier.from_vkey(vkey))
    assert not broken.ok and broken.first_bad_index == 3


def test_a_large_subject_set_is_found_before_during_and_after_background_indexing(
    store: SqlStore,
) -> None:
    """A national delivery's persons are written as one packed set in the entry's transaction
    and moved into the B-tree chunk by chunk; lookups and verification never miss a person."""
    rng = random.Random(7)
    keys = sorted({rng.randbytes(16) for _ in range(subject_index.CHUNK * 2 + 1000)})
    keys[5] = keys[5][:12] + b"\0\0\0\0"  # trailing NUL bytes must not confuse the search
    keys.sort()
    absent = rng.randbytes(16)
    with store.unit_of_work() as uow:
        big = uow.append_audit(
            AuditEvent(EventType.DELIVERY_ACCEPTED, "sds[source]", {"dataset": "lpr"}),
            subjects=keys,
        )
    probes = [keys[0], keys[5], keys[len(keys) // 2], keys[-1]]

    def found(key: bytes) -> bool:
        return big.index in [e.index for e in store.subject_entries(key)]

    with store.engine.connect() as conn:
        assert [p.entry_index for p in subject_index.pending_sets(conn)] == [big.index]
    assert all(found(k) for k in probes) and not found(absent)
    assert check(store).ok

    assert store.index_subjects() == subject_index.CHUNK  # one chunk: partly indexed
    assert all(found(k) for k in probes) and check(store).ok

    # Two indexers at once (two server processes): every key lands exactly once.
    with ThreadPoolExecutor(max_workers=2) as pool:
        moved = sum(pool.map(lambda _: store.index_subjects(all_pending=True), range(2)))
    assert moved == len(keys) - subject_index.CHUNK
    with store.engine.connect() as conn:
        assert subject_index.pending_sets(conn) == []
        rows = conn.execute(
            text("SELECT count(*) FROM audit_subjects WHERE entry_index = :i"), {"i": big.index}
        ).scalar()
    assert rows == len(keys)
    assert all(found(k) for k in probes) and not found(absent)
    assert check(store).ok
    assert store.index_subjects() == 0


def test_the_background_indexer_catches_up_after_a_poke(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(EventType.DELIVERY_ACCEPTED, "sds[source]", {"dataset": "lpr"}),
            subjects=[i.to_bytes(16, "big") for i in range(subject_index.CHUNK + 5)],
        )
    indexer = SubjectIndexer(store, interval=60)  # only the poke can wake it in time
    indexer.start()
    try:
        indexer.poke()
        deadline = time.monotonic() + 60
        while indexer.moved < subject_index.CHUNK + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        indexer.stop()
    assert indexer.moved == subject_index.CHUNK + 5
    with store.engine.connect() as conn:
        assert subject_index.pending_sets(conn) == []
    assert check(store).ok
