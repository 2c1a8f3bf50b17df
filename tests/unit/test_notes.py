"""C2SP signed notes and checkpoints, against the published examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.audit.checkpoints import Checkpoint
from gateway.crypto.notes import NoteError, NoteSigner, NoteVerifier

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "vectors" / "merkle_vectors.json"


def notes() -> list[dict[str, str]]:
    return list(json.loads(VECTORS.read_text())["signed_notes"])


def test_published_notes_verify() -> None:
    for v in notes():
        text = NoteVerifier.from_vkey(v["vkey"]).open(v["note"])
        assert v["note"].startswith(text)


def test_signing_is_byte_for_byte_the_go_implementation() -> None:
    v = next(n for n in notes() if "skey" in n)
    signer = NoteSigner.from_skey(v["skey"])
    assert signer.vkey == v["vkey"]
    text = v["note"].split("\n\n")[0] + "\n"
    assert signer.sign(text) == v["note"]


def test_tampered_notes_fail_and_unknown_keys_are_ignored() -> None:
    v = notes()[0]
    verifier = NoteVerifier.from_vkey(v["vkey"])
    with pytest.raises(NoteError):
        verifier.open(v["note"].replace("example", "exemple", 1))
    other = NoteSigner.from_seed("someone.else/log", b"\x07" * 32)
    cosigned = v["note"] + other.sign("x\n").splitlines()[-1] + "\n"
    assert verifier.open(cosigned)  # an extra signature by an unknown key is ignored
    with pytest.raises(NoteError, match="no signature"):
        NoteVerifier.from_vkey(other.vkey).open(v["note"])


def test_checkpoint_round_trip() -> None:
    cp = Checkpoint("gateway.example/audit", 42, bytes(range(32)), ("time 2026-11-23T08:00:00Z",))
    assert Checkpoint.parse(cp.text()) == cp
    assert cp.text().splitlines()[:2] == ["gateway.example/audit", "42"]
