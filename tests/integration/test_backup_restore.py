"""Backup and restore of the embedded default, tested end to end."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gateway.audit import receipts
from gateway.cli.main import main
from gateway.crypto.notes import NoteVerifier
from gateway.domain.principals import Role
from gateway.errors import KeyUnavailable
from gateway.services.audit import trail as audit_service
from gateway.services.platform.bootstrap import open_runtime
from tests.conftest import POLICIES, Synthetic, make_settings, running_gateway
from tests.integration.test_extracts_api import LINKED, push_all, release_for


def test_backup_then_restore_into_a_new_folder(
    tmp_path: Path, synthetic: Synthetic, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = tmp_path / "var"
    with running_gateway(original) as gw:
        push_all(gw, synthetic)
        receipt = gw.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr")).json()
        release, table = release_for(gw, "star-analyse", LINKED)
        vkey = audit_service.verifier_key(gw.runtime.context)
        monkeypatch.setenv("GATEWAY_DATA_DIR", str(original))
        monkeypatch.setenv("GATEWAY_POLICIES_DIR", str(POLICIES))
        assert main(["backup", "--out", str(tmp_path / "backup")]) == 0  # while it runs
    assert not (tmp_path / "backup" / "keys").exists()

    restored = tmp_path / "restored"
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(restored))
    assert main(["restore", "--from", str(tmp_path / "backup")]) == 0
    with pytest.raises(KeyUnavailable):  # without the separately kept key: a clear error
        open_runtime(make_settings(restored))
    shutil.copytree(original / "keys", restored / "keys")  # the operator restores the key
    with running_gateway(restored) as gw:
        assert audit_service.verify(gw.runtime.context).ok
        pulled = gw.client.get(
            f"/v1/releases/{release['id']}/content", headers=gw.auth("star-analyse", Role.RECIPIENT)
        )
        assert pq.read_table(io.BytesIO(pulled.content)).equals(table)
        again = gw.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr"))
        assert again.status_code == 200 and again.json()["delivery_id"] == receipt["delivery_id"]
        _, fresh = release_for(gw, "star-analyse", LINKED)  # reads the restored deliveries
        assert fresh.equals(table)
    receipts.verify_receipt(receipt, NoteVerifier.from_vkey(vkey))
    assert main(["restore", "--from", str(tmp_path / "backup")]) == 2  # not into a used folder
