"""Offline checks with nothing but the log's public key: receipts and exported logs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.events import AuditEntry
from gateway.audit.merkle import leaf_hash, verify_inclusion
from gateway.audit.verify import VerifyResult, verify_log
from gateway.crypto.notes import NoteVerifier
from gateway.errors import IntegrityError


@dataclass(frozen=True)
class CheckedReceipt:
    index: int
    type: str
    origin: str
    tree_size: int


def verify_receipt(receipt: dict[str, Any], verifier: NoteVerifier) -> CheckedReceipt:
    """Check that a receipt's entry is in a log whose checkpoint the key signed.

    Also checks that the entry is about what the receipt says (delivery or release id, and the
    content hash). Raises :class:`IntegrityError` naming the failed check.
    """
    material = receipt.get("audit")
    if not isinstance(material, dict):
        raise IntegrityError("the file carries no audit proof ('audit' member)")
    entry_bytes = str(material["entry"]).encode()
    leaf = leaf_hash(entry_bytes)
    if leaf.hex() != material["leaf_hash"]:
        raise IntegrityError("the entry bytes do not hash to the stated leaf hash")
    entry = json.loads(entry_bytes)
    if entry.get("index") != material["index"]:
        raise IntegrityError("the entry's own index differs from the proof's index")
    checkpoint = Checkpoint.parse(verifier.open(str(material["checkpoint"])))
    if checkpoint.size != material["tree_size"]:
        raise IntegrityError("the proof's tree size differs from the checkpoint's")
    proof = [bytes.fromhex(p) for p in material["inclusion_proof"]]
    verify_inclusion(material["index"], checkpoint.size, leaf, proof, checkpoint.root)
    refs = entry.get("refs", {})
    for field, ref in (("delivery_id", "delivery"), ("id", "release")):
        if field in receipt and ref in refs and refs[ref] != receipt[field]:
            raise IntegrityError(f"the entry is about {ref} {refs[ref]}, not {receipt[field]}")
    if "sha256" in receipt and entry.get("details", {}).get("sha256") != receipt["sha256"]:
        raise IntegrityError("the entry records another content hash than the receipt")
    return CheckedReceipt(
        material["index"], entry.get("type", ""), checkpoint.origin, checkpoint.size
    )


def verify_export(folder: Path, verifier: NoteVerifier) -> VerifyResult:
    """Verify a folder written by ``gateway audit export`` (subject index not included)."""

    def entries() -> Any:
        with open(folder / "entries.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                body = json.loads(row["entry"])
                refs = body.get("refs", {})
                yield AuditEntry(
                    row["index"],
                    body.get("time", ""),
                    body.get("type", ""),
                    body.get("actor", ""),
                    refs.get("dataset"),
                    refs.get("recipient"),
                    row["entry"].encode(),
                    row["leaf_hash"],
                )

    with open(folder / "checkpoints.jsonl", encoding="utf-8") as fh:
        notes = [json.loads(line)["note"] for line in fh if line.strip()]
    result = verify_log(entries(), notes, verifier)
    return result
