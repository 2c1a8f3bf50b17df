"""The audit trail for data owners, recipients and the DPO: proofs, receipts, search, lookups.

Proof material is what lets someone outside the hub check that an event was logged: the entry's
exact bytes, its inclusion proof in a tree of some size, and the signed checkpoint of that size.
Searches and subject lookups are themselves audited (who looked up whom).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gateway.audit import fast_verify
from gateway.audit.checkpoints import Checkpoint
from gateway.audit.events import AuditEntry, AuditEvent, EventType
from gateway.audit.merkle import consistency_proof, inclusion_proof
from gateway.audit.proof_bundle import ProofBundle
from gateway.audit.tiles import TileHashes, parse_tile_path, width_at
from gateway.audit.verify import VerifyResult, verify_log
from gateway.crypto.notes import NoteVerifier
from gateway.domain.audit_query import AuditQuery
from gateway.domain.identifiers import ACTOR_FILTER, canonical, identifier
from gateway.domain.permissions import authorize, reaches_all
from gateway.domain.principals import Principal, Role
from gateway.errors import IntegrityError, InvalidRequest, NotAuthenticated, NotFound
from gateway.services.context import Context


def verifier_key(ctx: Context) -> str:
    """The checkpoint verifier key (C2SP vkey) that anyone can use offline."""
    return ctx.checkpointer.signer.vkey


def _latest(ctx: Context) -> tuple[str, Checkpoint]:
    note = ctx.store.latest_checkpoint()
    if note is None:
        raise NotFound("the audit log is empty")
    return note, Checkpoint.parse(note.split("\n\n")[0] + "\n")


def latest_checkpoint(ctx: Context) -> Checkpoint | None:
    """The newest signed checkpoint's body (size, root), or None for an empty log."""
    note = ctx.store.latest_checkpoint()
    return Checkpoint.parse(note.split("\n\n")[0] + "\n") if note else None


def last_verification(ctx: Context) -> dict[str, Any] | None:
    """The newest ``audit.verified`` entry: when the whole log was last verified, and what it
    found (None: never)."""
    total = ctx.store.count_audit(AuditQuery(event_type="audit.verified"))
    if total == 0:
        return None
    last = ctx.store.search_audit(
        AuditQuery(event_type="audit.verified", offset=total - 1, limit=1)
    )
    return entry_json(last[0]) if last else None


def witness_health(ctx: Context) -> list[dict[str, Any]]:
    """Each witness of the log's policy: the largest size it cosigned, how many entries it is
    behind the log, its last error, and whether it saw the log roll back (none: no policy)."""
    if ctx.witnessing is None:
        return []
    size = ctx.store.audit_size()
    return [
        {
            "name": name,
            "cosigned": status.get("cosigned") or 0,
            "behind": max(0, size - int(status.get("cosigned") or 0)),  # type: ignore[call-overload]
            "last_error": status.get("last_error"),
            "rolled_back": bool(status.get("rolled_back")),
        }
        for name, status in sorted(ctx.witnessing.report().items())
    ]


def checkpoint(ctx: Context) -> dict[str, Any]:
    note, cp = _latest(ctx)
    return {"checkpoint": note, "size": cp.size, "root": cp.root.hex(), "vkey": verifier_key(ctx)}


def entry_is_about(entry: AuditEntry, by: Principal) -> bool:
    """Whether ``entry`` is about the caller's own deliveries, extracts or releases: a source
    named in its ``source`` reference, or a recipient named in its ``recipient`` reference."""
    refs = json.loads(entry.body).get("refs", {})
    return (Role.SOURCE in by.roles and refs.get("source") == by.subject) or (
        Role.RECIPIENT in by.roles and refs.get("recipient") == by.subject
    )


def tiles_for(ctx: Context, size: int) -> TileHashes:
    """MTH over the tiles of a tree of ``size``, as the log serves them (cached)."""
    return TileHashes(ctx.store.read_tile, size, ctx.tiles)


def proof_material(
    ctx: Context, index: int, *, by: Principal, wait: float | None = None
) -> dict[str, Any]:
    """Leaf hash, inclusion proof and the signed checkpoint: enough to check offline that the
    entry is in the log, also as one C2SP tlog-proof (``tlog_proof``) whose checkpoint carries
    the witnesses' cosignatures when they are configured (waiting up to ``wait`` seconds, the
    configured time by default, for a checkpoint that meets their quorum). The entry's bytes
    come with it only for an auditor or for an entry about the caller's own deliveries,
    extracts and releases (others' entries name other recipients, their specifications and
    counts). The proof is computed from the log's tiles."""
    authorize(by, "audit.proof")
    note, cp = _latest(ctx)
    if not 0 <= index < cp.size:
        raise NotFound(f"no audit entry {index} under the latest checkpoint (size {cp.size})")
    if ctx.witnessing is not None:
        witnessed = ctx.witnessing.trusted_checkpoint(
            index + 1, ctx.witness_wait if wait is None else wait
        )
        if witnessed is not None:
            note, cp = witnessed, Checkpoint.parse(witnessed.split("\n\n")[0] + "\n")
    entry = next(ctx.store.audit_entries(index), None)
    if entry is None or entry.index != index:
        raise NotFound(f"no audit entry {index}")
    proof = inclusion_proof(tiles_for(ctx, cp.size), index, cp.size)
    material: dict[str, Any] = {"index": index, "leaf_hash": entry.leaf_hash}
    visible = reaches_all(by, "audit.entries") or entry_is_about(entry, by)
    if visible:
        material["entry"] = entry.body.decode()
    bundle = ProofBundle(index, tuple(proof), note, entry.body if visible else None)
    return {
        **material,
        "tree_size": cp.size,
        "inclusion_proof": [p.hex() for p in proof],
        "checkpoint": note,
        "tlog_proof": bundle.text(),
    }


def latest_note(ctx: Context) -> str:
    """``/checkpoint``: with witnesses, the largest checkpoint whose cosignatures meet the
    quorum (so whoever fetches it can check it with the policy; the witnesses see each new
    checkpoint within moments), else the latest one the log signed, with any cosignatures."""
    note, cp = _latest(ctx)
    if ctx.witnessing is not None:
        return ctx.witnessing.latest_trusted() or ctx.witnessing.cosigned_note(cp.size) or note
    return note


def historical_checkpoint(ctx: Context, size: int) -> str:
    """The checkpoint signed for a tree of ``size``, with its cosignatures."""
    note = ctx.store.checkpoint_at(size)
    if note is None:
        raise NotFound(f"no checkpoint was signed for a tree of {size} entries")
    if ctx.witnessing is not None:
        return ctx.witnessing.cosigned_note(size) or note
    return note


def tile(ctx: Context, path: str, *, by: Principal | None) -> bytes:
    """A hash tile (anyone) or an entry bundle (auditors: entries describe every
    organisation's requests) by its C2SP path (``tile/0/001.p/7``), only within the latest
    checkpoint; a path that names no tile is not found."""
    try:
        tile_ = parse_tile_path(path)
    except ValueError as exc:
        raise NotFound(f"not a tile path: {exc}") from None
    if tile_.entries:
        if by is None:
            raise NotAuthenticated("entry bundles need an auditor's bearer token")
        authorize(by, "audit.entry-bundles")
    _, cp = _latest(ctx)
    if tile_.width > width_at(tile_.level if not tile_.entries else 0, tile_.index, cp.size):
        raise NotFound(f"the log's latest checkpoint (size {cp.size}) has no {tile_.path()}")
    return ctx.store.read_tile(tile_)


def checkpoint_for(ctx: Context, *, by: Principal) -> dict[str, Any]:
    authorize(by, "audit.checkpoint")
    return checkpoint(ctx)


def consistency(
    ctx: Context, old_size: int, new_size: int | None, *, by: Principal
) -> dict[str, Any]:
    authorize(by, "audit.consistency")
    note, cp = _latest(ctx)
    new = cp.size if new_size is None else new_size
    if not 0 < old_size <= new <= cp.size:
        raise InvalidRequest(f"need 0 < from <= to <= {cp.size}")
    proof = ctx.store.with_subtree(lambda subtree: consistency_proof(subtree, old_size, new))
    return {"from": old_size, "to": new, "proof": [p.hex() for p in proof], "checkpoint": note}


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"index": entry.index, "leaf_hash": entry.leaf_hash, **json.loads(entry.body)}


EVENT_TYPES = frozenset(e.value for e in EventType)


def _instant(field: str, value: str | None) -> str | None:
    """An ISO date or time, as the stored UTC form (``...Z``) so that it compares as text;
    a time without a zone is UTC. Anything else is a 422 naming the field."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"'{field}' is not an ISO date or time (e.g. 2016-11-01 or 2016-11-01T08:00:00Z)",
            errors=[{"field": field, "problem": "not-a-time"}],
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    stamp = parsed.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return stamp.replace("+00:00", "Z")


def checked_query(query: AuditQuery) -> AuditQuery:
    """The query with every filter validated: known event types, identifier-shaped actors,
    datasets and recipients, ISO times. A filter is recorded in the audit trail, so nothing
    CPR-shaped or free-form gets through."""
    unknown = [
        e for e in (query.event_type, *query.event_types) if e is not None and e not in EVENT_TYPES
    ]
    if unknown:
        raise InvalidRequest(
            "'event_type' is not a known event type",
            errors=[{"field": "event_type", "problem": "unknown"}],
            known=sorted(EVENT_TYPES),
        )
    if query.actor is not None:
        query = replace(query, actor=identifier("actor", canonical(query.actor), ACTOR_FILTER))
    for field in ("dataset", "recipient"):
        value = getattr(query, field)
        if value is not None:
            identifier(field, value)
    return replace(
        query, since=_instant("since", query.since), until=_instant("until", query.until)
    )


def search(ctx: Context, *, by: Principal, query: AuditQuery) -> list[AuditEntry]:
    return search_page(ctx, by=by, query=query)[0]


def search_page(ctx: Context, *, by: Principal, query: AuditQuery) -> tuple[list[AuditEntry], int]:
    """One page of a search and how many entries match in all; the search is audited with
    its filters."""
    authorize(by, "audit.search")
    query = checked_query(query)
    found = ctx.store.search_audit(query)
    total = ctx.store.count_audit(query)
    filters = {k: v for k, v in query.__dict__.items() if v is not None and v != ()}
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(
                EventType.AUDIT_SEARCHED,
                by.label,
                {},
                {"filters": filters, "results": len(found), "total": total},
            )
        )
    return found, total


@dataclass(frozen=True)
class Export:
    entries: int
    files: list[str]


def export(
    ctx: Context, *, by: Principal, out: Path, progress: Callable[[int], None] | None = None
) -> Export:
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
            if progress is not None and count % 10_000 == 0:
                progress(10_000)
    with open(out / "checkpoints.jsonl", "w", encoding="utf-8") as fh:
        for note in ctx.store.checkpoint_notes():
            fh.write(json.dumps({"note": note}, ensure_ascii=False) + "\n")
    (out / "checkpoint.txt").write_text(ctx.store.latest_checkpoint() or "")
    (out / "vkey.txt").write_text(verifier_key(ctx) + "\n")
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(AuditEvent(EventType.AUDIT_EXPORTED, by.label, {}, {"entries": count}))
    return Export(count, ["entries.jsonl", "checkpoints.jsonl", "checkpoint.txt", "vkey.txt"])


def verify(
    ctx: Context,
    *,
    since: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Verify the whole log against the checkpoints in the database and in the outside file.

    Exact under concurrent writes: the file is read first (a note reaches it only after its
    transaction committed), then entries, checkpoints and subject index are read in one
    snapshot that holds everything the file's notes cover."""
    verifier = NoteVerifier.from_vkey(verifier_key(ctx))
    try:
        file_notes = ctx.checkpointer.notes()
        order = file_order_problem(file_notes, verifier)
    except IntegrityError as exc:
        file_notes, order = [], f"checkpoint file: {exc.detail}"
    with ctx.store.snapshot() as snap:
        notes = [*snap.checkpoint_notes(), *file_notes]
        if fast_verify.available():
            result = fast_verify.verify_stored(
                snap.entry_rows(),
                snap.level0_nodes,
                notes,
                verifier,
                subjects=snap.subjects_by_entry(),
                since=since or [],
                subtree_for_proofs=snap.tiles,
                progress=progress,
            )
        else:
            result = verify_log(
                snap.audit_entries(),
                notes,
                verifier,
                subjects=snap.subjects_by_entry(),
                since=since or [],
                progress=progress,
            )
    if result.ok and order is not None:
        return replace(result, ok=False, problem=order)
    return result


def verify_recorded(ctx: Context, *, by: Principal) -> VerifyResult:
    """Verify the whole log for ``by`` and record that they did, with the result: the console
    shows when the log was last verified, by whom, and what they found."""
    authorize(by, "audit.verify")
    result = verify(ctx)
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(
                EventType.AUDIT_VERIFIED,
                by.label,
                {},
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "checkpoints": result.checkpoints,
                    "root": result.root,
                },
            )
        )
    return result


def file_order_problem(notes: list[str], verifier: NoteVerifier) -> str | None:
    """The checkpoint file must grow in tree-size order (each signing was checked against
    the last note in it)."""
    last = -1
    for number, note in enumerate(notes, start=1):
        try:
            size = Checkpoint.parse(verifier.open(note)).size
        except (IntegrityError, ValueError):
            return f"checkpoint file: note {number} does not verify"
        if size < last:
            return f"checkpoint file: note {number} (size {size}) follows a note of size {last}"
        last = size
    return None
