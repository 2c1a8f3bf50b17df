"""Alembic migrations on both backends: from empty, and from the previous revision."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from gateway.audit.checkpointer import Checkpointer
from gateway.audit.events import AuditEvent, EventType
from gateway.crypto.notes import NoteSigner
from gateway.errors import ConfigurationError
from gateway.storage import migrate
from gateway.storage.sql_store import SqlStore, make_engine

SIGNER = NoteSigner.from_seed("test.example/audit", b"\x03" * 32)


def test_an_empty_database_is_upgraded_to_head(database_url: str, tmp_path: Path) -> None:
    store = SqlStore.open(database_url, Checkpointer(SIGNER, tmp_path / "cp.jsonl"))
    assert migrate.current_revision(store.engine) == migrate.head_revision() == "0015"
    with store.unit_of_work() as uow:
        uow.append_audit(AuditEvent(EventType.POLICY_LOADED, "gateway[system]"))
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries"))
    again = SqlStore.open(database_url)  # idempotent
    assert again.audit_size() == 1
    again.dispose()
    store.dispose()


def test_a_database_at_the_previous_revision_is_upgraded_with_its_data(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0001")
    assert migrate.current_revision(engine) == "0001"
    assert "ix_deliveries_source" not in {
        i["name"] for i in inspect(engine).get_indexes("deliveries")
    }
    store = SqlStore(engine, Checkpointer(SIGNER, tmp_path / "cp.jsonl"))
    with store.unit_of_work() as uow:
        uow.append_audit(AuditEvent(EventType.POLICY_LOADED, "gateway[system]"))
        uow.set_meta("policy-hash", "abc")
    with pytest.raises(ConfigurationError, match="gateway db upgrade"):
        SqlStore.open(database_url, migrate_schema=False)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0015"
    assert "ix_deliveries_source" in {i["name"] for i in inspect(engine).get_indexes("deliveries")}
    with store.unit_of_work() as uow:
        assert uow.get_meta("policy-hash") == "abc"
    assert store.audit_size() == 1
    SqlStore.open(database_url, migrate_schema=False).dispose()  # now current: accepted
    engine.dispose()


def test_releases_from_before_aggregates_keep_working(database_url: str, tmp_path: Path) -> None:
    """0003 adds kind, review status and the checker's report to releases: an existing
    microdata release reads back as released microdata."""
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO releases (id, extract_id, recipient, rows, persons, sha256, "
                "key_version, identifier, blob_key, created_at, released_by, audit_index) "
                "VALUES ('rel-1', 'ext-1', 'star-analyse', 10, 3, :sha, 1, "
                "'recipient-pseudonym', 'releases/star-analyse/rel-1.gwb', "
                "'2026-11-23T00:00:00+00:00', 'star-analyse[recipient]', 5)"
            ),
            {"sha": "0" * 64},
        )
    migrate.upgrade(engine)
    store = SqlStore(engine, Checkpointer(SIGNER, tmp_path / "cp.jsonl"))
    with store.unit_of_work() as uow:
        release = uow.get_release("rel-1")
        assert release is not None
        assert (release.kind, release.status, release.sdc_status) == ("microdata", "released", None)
        assert uow.releases_by_status("released") == [release]
    engine.dispose()


def test_deliveries_from_before_versions_become_versions_in_arrival_order(
    database_url: str, tmp_path: Path
) -> None:
    """0009 numbers the deliveries already stored as the versions of their month, oldest
    first; the newest stays what releases read, as it was."""
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0008")
    with engine.begin() as conn:
        for delivery, period, index in (
            ("d-2", "2016-11", 9),
            ("d-1", "2016-11", 4),
            ("d-3", "2016-12", 6),
        ):
            conn.execute(
                text(
                    "INSERT INTO deliveries (id, source, dataset, period, sha256, rows, "
                    "size_bytes, blob_key, received_at, pushed_by, audit_index, vault_blob_key) "
                    "VALUES (:id, 'sundhedsdatastyrelsen', 'lpr', :period, :sha, 1, 1, 'b', "
                    "'2026-11-23T00:00:00Z', 'sds[source]', :index, 'v')"
                ),
                {"id": delivery, "period": period, "sha": delivery * 16, "index": index},
            )
    migrate.upgrade(engine)
    store = SqlStore(engine, Checkpointer(SIGNER, tmp_path / "cp.jsonl"))
    with store.unit_of_work() as uow:
        november = uow.versions_of("lpr", "2016-11")
        assert [(v.version, v.delivery_id, v.action) for v in november] == [
            (1, "d-1", "delivered"),
            (2, "d-2", "delivered"),
        ]
        current = uow.latest_deliveries("lpr", ["2016-11", "2016-12"])
        assert [d.id for d in current] == ["d-2", "d-3"]
    engine.dispose()


def test_ledger_cells_from_before_0012_read_back_as_published_exact(
    database_url: str, tmp_path: Path
) -> None:
    """Cells recorded before the disclosure ledger kept bounds were published as exact
    counts: after the upgrade they read back with lower = upper = persons, in the published
    scope, for every recipient's later tables."""
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0011")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO release_ledger (release_id, source, cell, recipient, key, label0, "
                "label1, label2, label3, first_month, last_month, persons) VALUES "
                "('rel-1', 'dataset:lpr', 0, 'star-statistik', 7, 3, 4, 0, 0, 24202, 24202, 12)"
            )
        )
    migrate.upgrade(engine)
    store = SqlStore(engine, Checkpointer(SIGNER, tmp_path / "cp.jsonl"))
    with store.unit_of_work() as uow:
        cells = uow.ledger_cells("dataset:lpr", None)
        assert cells.persons.tolist() == [12]
        assert cells.lower.tolist() == [12.0] and cells.upper.tolist() == [12.0]
        assert len(uow.ledger_cells("dataset:lpr", ["published"])) == 1
        assert uow.ledger_tables("dataset:lpr", "", None) == []
    engine.dispose()
