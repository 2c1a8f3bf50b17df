"""What each caller sees of the audit trail, how an unexpected error is answered and logged,
and that reading a public key changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.audit import receipts
from gateway.crypto.notes import NoteVerifier
from gateway.domain.principals import Role
from gateway.services.releases import extracts as extracts_service
from tests.conftest import POLICIES, ROOT, Gateway, Synthetic
from tests.integration.test_extracts_api import LINKED, push_all, release_for


@pytest.fixture
def gateway(served: Gateway) -> Gateway:
    """A real server on a loopback socket, on both backends."""
    return served


def _proof(gw: Gateway, index: int, subject: str, *roles: Role) -> dict[str, object]:
    r = gw.client.get(f"/v1/audit/proofs/inclusion/{index}", headers=gw.auth(subject, *roles))
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_proofs_carry_entry_bytes_only_for_the_callers_own_entries(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    receipt = gateway.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr")).json()
    release, _ = release_for(gateway, "star-analyse", LINKED)
    vkey = gateway.client.get(
        "/v1/audit/checkpoint", headers=gateway.auth("x", Role.SOURCE)
    ).json()["vkey"]
    verifier = NoteVerifier.from_vkey(vkey)
    # Receipts still verify offline: they carry their own entry.
    assert receipts.verify_receipt(receipt, verifier).type == "delivery.accepted"
    assert receipts.verify_receipt(release, verifier).type == "release.created"
    index = release["audit_index"]
    own = _proof(gateway, index, "star-analyse", Role.RECIPIENT)
    assert "entry" in own and json.loads(str(own["entry"]))["refs"]["recipient"] == "star-analyse"
    for subject, roles in (
        ("star-statistik", (Role.RECIPIENT,)),
        ("star-statistik", (Role.RECIPIENT, Role.APPROVER)),
        ("sundhedsdatastyrelsen", (Role.SOURCE,)),
        ("ops", (Role.OPERATOR,)),
        ("legal@star.dk", (Role.APPROVER,)),
    ):
        other = _proof(gateway, index, subject, *roles)
        assert "entry" not in other, (subject, roles)
        assert other["leaf_hash"] == own["leaf_hash"] and other["inclusion_proof"]
    assert "entry" in _proof(gateway, index, "dpo@star.dk", Role.AUDITOR)
    delivery = _proof(gateway, receipt["audit_index"], "sundhedsdatastyrelsen", Role.SOURCE)
    assert "entry" in delivery
    assert "entry" not in _proof(gateway, receipt["audit_index"], "dfdg", Role.SOURCE)


def test_an_unexpected_error_is_answered_with_a_request_id_and_logged_by_type_only(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("a message that quotes 0101801111")

    monkeypatch.setattr(extracts_service, "list_extracts", broken)
    r = gateway.client.get("/v1/extracts", headers=gateway.auth("star-analyse", Role.RECIPIENT))
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    request_id = r.headers["X-Request-ID"]
    assert "0101801111" not in r.text and "RuntimeError" not in r.text
    assert gateway.settings.log_file is not None
    lines = [json.loads(x) for x in gateway.settings.log_file.read_text().splitlines()]
    failed = [x for x in lines if x.get("event") == "request failed"]
    assert failed and failed[-1]["error_type"] == "RuntimeError"
    assert failed[-1]["request_id"] == request_id
    access = [x for x in lines if x.get("event") == "request" and x.get("request_id") == request_id]
    assert access and access[-1]["status"] == 500
    assert "0101801111" not in gateway.settings.log_file.read_text()


def test_show_public_reads_only_and_fails_clearly_in_an_empty_folder(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data), "GATEWAY_POLICIES_DIR": str(POLICIES)}
    env.pop("GATEWAY_DATABASE_URL", None)
    env.pop("GATEWAY_MASTER_KEY", None)
    for extra in ([], ["--audit"]):
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "keys", "show-public", *extra],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2 and "gateway keys init" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not data.exists() or list(data.rglob("*")) == []
