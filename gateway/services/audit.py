"""The audit trail for data owners, recipients and the DPO: proofs, receipts, search, lookups.

Proof material is what lets someone outside the hub check that an event was logged: the entry's
exact bytes, its inclusion proof in a tree of some size, and the signed checkpoint of that size.
Searches and subject lookups are themselves audited (who looked up whom).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.events import AuditEntry, AuditEvent, EventType
from gateway.audit.merkle import consistency_proof, inclusion_proof
from gateway.audit.verify import VerifyResult, verify_log
from gateway.crypto.notes import NoteVerifier
from gateway.crypto.pseudonyms import internal_pseudonyms, subject_keys
from gateway.domain import cpr as cpr_rules
from gateway.domain.principal import Principal, Role
from gateway.errors import InvalidRequest, NotFound
from gateway.services.context import Context
from gateway.services.ports import AuditQuery


def verifier_key(ctx: Context) -> str:
    """The checkpoint verifier key (C2SP vkey) that anyone can use offline."""
    return ctx.checkpointer.signer.vkey


def _latest(ctx: Context) -> tuple[str, Checkpoint]:
    note = ctx.store.latest_checkpoint()
    if note is None:
        raise NotFound("the audit log is empty")
    return note, Checkpoint.parse(note.split("\n\n")[0] + "\n")


def checkpoint(ctx: Context) -> dict[str, Any]:
    note, cp = _latest(ctx)
    return {"checkpoint": note, "size": cp.size, "root": cp.root.hex(), "vkey": verifier_key(ctx)}


def proof_material(ctx: Context, index: int) -> dict[str, Any]:
    """Entry bytes, inclusion proof and the signed checkpoint: enough to check offline."""
    note, cp = _latest(ctx)
    if not 0 <= index < cp.size:
        raise NotFound(f"no audit entry {index} under the latest checkpoint (size {cp.size})")
    entry = next(ctx.store.audit_entries(index), None)
    if entry is None or entry.index != index:
        raise NotFound(f"no audit entry {index}")
    proof = ctx.store.with_subtree(lambda subtree: inclusion_proof(subtree, index, cp.size))
    return {
        "index": index,
        "leaf_hash": entry.leaf_hash,
        "entry": entry.body.decode(),
        "tree_size": cp.size,
        "inclusion_proof": [p.hex() for p in proof],
        "checkpoint": note,
    }


def consistency(ctx: Context, old_size: int, new_size: int | None) -> dict[str, Any]:
    note, cp = _latest(ctx)
    new = cp.size if new_size is None else new_size
    if not 0 < old_size <= new <= cp.size:
        raise InvalidRequest(f"need 0 < from <= to <= {cp.size}")
    proof = ctx.store.with_subtree(lambda subtree: consistency_proof(subtree, old_size, new))
    return {"from": old_size, "to": new, "proof": [p.hex() for p in proof], "checkpoint": note}


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"index": entry.index, "leaf_hash": entry.leaf_hash, **json.loads(entry.body)}


def search(ctx: Context, *, by: Principal, query: AuditQuery) -> list[AuditEntry]:
    by.require(Role.AUDITOR)
    found = ctx.store.search_audit(query)
    filters = {k: v for k, v in query.__dict__.items() if v is not None}
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(
                EventType.AUDIT_SEARCHED, by.label, {}, {"filters": filters, "results": len(found)}
            )
        )
    return found


def subject_key_of(ctx: Context, cpr: str) -> bytes:
    """The keyed subject index entry of a CPR, computed in memory (the CPR goes nowhere)."""
    normalised = cpr_rules.normalise(cpr.strip())
    if normalised is None or cpr_rules.birth_date(normalised) is None:
        raise InvalidRequest("not a valid CPR number")
    internal = internal_pseudonyms(pa.array([normalised]), ctx.keys.internal_pseudonym_key())
    return subject_keys(internal, ctx.keys.subject_index_key())[0]


def subject_lookup(ctx: Context, *, by: Principal, cpr: str) -> list[AuditEntry]:
    """Every entry whose data involved this person; the lookup is logged with the keyed subject,
    so a later lookup of the same person also shows who looked before."""
    by.require(Role.AUDITOR)
    subject = subject_key_of(ctx, cpr)
    found = ctx.store.subject_entries(subject)
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(
                EventType.AUDIT_SUBJECT_LOOKUP,
                by.label,
                {},
                {"subject_key": subject.hex(), "results": len(found)},
            ),
            subjects=[subject],
        )
    return found


@dataclass(frozen=True)
class Export:
    entries: int
    files: list[str]


def export(ctx: Context, *, by: Principal, out: Path) -> Export:
    """JSON Lines of every entry, the checkpoints and the verifier key, for an external reviewer."""
    by.require(Role.AUDITOR)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(out / "entries.jsonl", "w", encoding="utf-8") as fh:
        for entry in ctx.store.audit_entries():
            fh.write(
                json.dumps(
                    {
                        "index": entry.index,
                        "leaf_hash": entry.leaf_hash,
                        "entry": entry.body.decode(),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            count += 1
    with open(out / "checkpoints.jsonl", "w", encoding="utf-8") as fh:
        for note in ctx.store.checkpoint_notes():
            fh.write(json.dumps({"note": note}, ensure_ascii=False) + "\n")
    (out / "checkpoint.txt").write_text(ctx.store.latest_checkpoint() or "")
    (out / "vkey.txt").write_text(verifier_key(ctx) + "\n")
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(AuditEvent(EventType.AUDIT_EXPORTED, by.label, {}, {"entries": count}))
    return Export(count, ["entries.jsonl", "checkpoints.jsonl", "checkpoint.txt", "vkey.txt"])


def verify(ctx: Context, *, since: list[str] | None = None) -> VerifyResult:
    """Verify the whole log against the checkpoints in the database and in the outside file."""
    return verify_log(
        ctx.store.audit_entries(),
        [*ctx.store.checkpoint_notes(), *ctx.checkpointer.notes()],
        NoteVerifier.from_vkey(verifier_key(ctx)),
        subjects=ctx.store.subjects_by_entry(),
        since=since or [],
    )
