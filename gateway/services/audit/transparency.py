"""What outsiders do with the audit log, needing nothing of the hub but its public material:
check a C2SP tlog-proof offline against a trust policy (C2SP tlog-policy), compute a proof
from the log's tiles, prove that the log only grew since the last look (monitoring), and run a
witness of the log as another organisation (C2SP tlog-witness).

The fronts (``gateway audit verify-proof|prove|monitor``, ``gateway witness ...`` and the
witness's HTTP app) call these; the log's machinery stays in :mod:`gateway.audit`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.audit import receipts
from gateway.audit.proof_bundle import CheckedBundle, parse_bundle, verify_bundle
from gateway.audit.receipts import CheckedReceipt
from gateway.audit.tile_client import MonitorResult, TileClient, monitor
from gateway.audit.trust_policy import TrustPolicy, parse_policy
from gateway.audit.verify import VerifyResult
from gateway.audit.witness.core import Answer, Witness
from gateway.crypto.notes import NoteError, NoteVerifier
from gateway.errors import InvalidRequest

__all__ = [
    "Answer",
    "CheckedBundle",
    "CheckedReceipt",
    "MonitorResult",
    "VerifyResult",
    "Witness",
    "monitor_log",
    "open_witness",
    "prove",
    "verifier_key",
    "verify_export",
    "verify_proof",
    "verify_receipt",
    "witness_add_log",
    "witness_init",
]


def trust_policy(path: Path) -> TrustPolicy:
    """A C2SP tlog-policy file; a malformed one is the caller's input problem."""
    try:
        return parse_policy(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequest(f"{path}: {exc}") from None


def bundle_text(path: Path) -> str:
    """A .tlog-proof file's text, or the proof a receipt or release (JSON) carries."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        audit = json.loads(text).get("audit") or {}
        if "tlog_proof" not in audit:
            raise InvalidRequest(f"{path} carries no tlog_proof (issued before witnessing?)")
        return str(audit["tlog_proof"])
    return text


def verify_proof(proof: Path, policy: Path, entry: Path | None = None) -> CheckedBundle:
    """Check a proof offline: the entry is in the log, under a checkpoint the policy's log key
    signed and its quorum of witnesses cosigned."""
    bundle = parse_bundle(bundle_text(proof))
    return verify_bundle(bundle, trust_policy(policy), entry.read_bytes() if entry else None)


def prove(
    index: int, log: str, policy: Path, entry: Path | None = None, token: str | None = None
) -> str:
    """A tlog-proof of entry ``index`` computed from the log's tiles at ``log`` (its prefix
    URL) and checked against ``policy``; entry bundles need an auditor's ``token``."""
    with TileClient(log, token=token) as client:
        return client.prove(
            index, trust_policy(policy), entry.read_bytes() if entry else None
        ).text()


def monitor_log(log: str, policy: Path, state: Path, size: int | None = None) -> MonitorResult:
    """Prove from the tiles that the log only grew since the checkpoint kept in ``state``."""
    with TileClient(log) as client:
        return monitor(client, trust_policy(policy), state, size)


def verifier_key(value: str) -> NoteVerifier:
    """The log's verifier key: its text (``name+hash+base64``) or the path of a file holding
    it (``vkey.txt`` of an export). A value that is neither is a wrong key format, said as
    such, never as a log that does not verify."""
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    try:
        return NoteVerifier.from_vkey(text)
    except NoteError:
        shown = "the file's content" if path.is_file() else "the value"
        raise InvalidRequest(
            f"wrong key format: {shown} is not a verifier key (expected name+hash+base64, "
            "as in the export's vkey.txt or `gateway keys show-public`, or that file's path)"
        ) from None


def verify_receipt(receipt: dict[str, Any], key: str) -> CheckedReceipt:
    """A receipt or release (its JSON) checked offline with the log's key alone: its entry is
    in the log under a checkpoint that key signed."""
    return receipts.verify_receipt(receipt, verifier_key(key))


def verify_export(folder: Path, key: str) -> VerifyResult:
    """An exported log (``gateway audit export``) verified offline with the log's key."""
    return receipts.verify_export(folder, verifier_key(key))


def witness_init(folder: Path, name: str, algorithm: str) -> str:
    """A new witness folder with its own key; the witness's public key (vkey)."""
    return Witness.init(folder, name, algorithm).cosigner.vkey


def witness_add_log(folder: Path, vkey: str, url: str | None) -> None:
    """The witness trusts one more log (its checkpoint key, and optionally its URL)."""
    Witness(folder).add_log(vkey, url)


def open_witness(folder: Path) -> Witness:
    return Witness(folder)
