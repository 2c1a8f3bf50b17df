"""The retention sweep: everything whose rule has run out, and no legal hold delays, is
crypto-shredded and recorded, one audit entry per erasure.

Each erasure goes in three steps, so that a crash (kill -9) at any instruction leaves nothing
the next sweep cannot explain and finish:

1. an ``erasures`` row says it has begun (which blobs, which rule), committed first;
2. each blob's wrapped data key is destroyed in place and synced, then the blob itself is
   deleted (:meth:`gateway.ports.BlobStore.shred`); both steps may be repeated;
3. in one transaction, the row is marked finished (only once, whichever worker gets there),
   the delivery or release is marked erased, and the ``retention.erased`` audit entry is
   appended: what, which rule with its citation, when, and the content's SHA-256.

Every sweep first finishes what an earlier one began. The audit log keeps every entry about
the erased data (hashes and metadata, never content), so it and every receipt still verify.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import structlog

from gateway.audit.events import AuditEvent, EventType
from gateway.domain.permissions import authorize
from gateway.domain.principals import ActorKind, Principal, Role
from gateway.domain.records import ErasureRecord
from gateway.services.context import Context
from gateway.services.retention import deletions
from gateway.services.retention.plan import Item, items

log = structlog.get_logger("gateway.retention")
SWEEPER = Principal(
    "hub-operations", frozenset({Role.OPERATOR}), "retention-sweep", ActorKind.LOCAL
)


@dataclass
class SweepResult:
    on: str
    erased: list[dict[str, Any]] = field(default_factory=list)
    resumed: int = 0
    held: int = 0
    deletion_requests: int = 0
    reminders: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sweep(ctx: Context, *, by: Principal = SWEEPER, on: dt.date | None = None) -> SweepResult:
    """Erase what is due on ``on`` (today by default): finish erasures an earlier sweep began,
    then begin and finish each new one; then ask recipients to confirm their deletions.
    Idempotent: a second sweep finds nothing left to do."""
    authorize(by, "retention.sweep")
    on = on or ctx.today()
    result = SweepResult(on.isoformat())
    with ctx.store.unit_of_work() as uow:
        unfinished = uow.unfinished_erasures()
    for begun in unfinished:
        if _finish(ctx, begun, by) is not None:
            result.resumed += 1
    with ctx.store.unit_of_work() as uow:
        plan = items(ctx, uow)
    for item in plan:
        if item.erased_at is None and item.holds and item.due and item.due.on <= on:
            result.held += 1
        if not item.due_by(on):
            continue
        assert item.due is not None
        record = ErasureRecord(
            item.kind,
            item.id,
            item.due.rule.value,
            item.due.on.isoformat(),
            json.dumps(list(item.blob_keys)),
            ctx.stamp(),
        )
        with ctx.store.unit_of_work() as uow:
            uow.begin_erasure(record)
        done = _finish(ctx, record, by, item)
        if done is not None:
            result.erased.append(done)
    requested, reminded = deletions.follow_up(ctx, on=on)
    result.deletion_requests, result.reminders = requested, reminded
    if result.erased or result.resumed:
        log.info("retention sweep", erased=len(result.erased), resumed=result.resumed)
    return result


def _finish(
    ctx: Context, record: ErasureRecord, by: Principal, item: Item | None = None
) -> dict[str, Any] | None:
    """Shred the blobs (again, if a crash came between) and record the erasure once; what was
    erased, or None if another worker recorded it first."""
    for key in record.blob_key_list():
        ctx.blobs.shred(key)
    facts = item or _item_of(ctx, record)
    at = ctx.stamp()
    details = {
        "rule": record.rule,
        "due": record.due,
        "erased_at": at,
        "blobs": len(record.blob_key_list()),
        "sha256": facts.sha256 if facts else None,
        "reason": facts.due.reason if facts and facts.due else None,
        "citation": facts.due.citation if facts and facts.due else None,
    }
    refs = {**(facts.refs if facts else {}), record.kind: record.object_id}
    with ctx.store.unit_of_work() as uow:
        if not uow.finish_erasure(record.kind, record.object_id, at):
            return None
        entry = uow.append_audit(AuditEvent(EventType.RETENTION_ERASED, by.label, refs, details))
        uow.set_erasure_entry(record.kind, record.object_id, entry.index)
    return {"kind": record.kind, "id": record.object_id, "audit_index": entry.index, **details}


def _item_of(ctx: Context, record: ErasureRecord) -> Item | None:
    """The plan's facts of an erasure begun by an earlier sweep (for its audit entry)."""
    with ctx.store.unit_of_work() as uow:
        return next(
            (i for i in items(ctx, uow) if (i.kind, i.id) == (record.kind, record.object_id)),
            None,
        )


def erased_on(ctx: Context, *, delivery_id: str | None, release_id: str | None) -> str | None:
    """When the content a receipt is about was erased (None: kept, or unknown to this hub).
    The receipt itself still verifies: erasure removes content, never log entries."""
    with ctx.store.unit_of_work() as uow:
        if delivery_id is not None:
            delivery = uow.get_delivery(delivery_id)
            if delivery is not None and delivery.erased_at:
                return delivery.erased_at
        if release_id is not None:
            release = uow.get_release(release_id)
            if release is not None and release.erased_at:
                return release.erased_at
    return None


def erasures(ctx: Context, *, by: Principal, limit: int = 1000) -> list[dict[str, Any]]:
    """Finished erasures, newest first, each with the audit entry that records it (its proof:
    ``GET /v1/audit/proofs/inclusion/{audit_index}``)."""
    authorize(by, "retention.plan")
    with ctx.store.unit_of_work() as uow:
        done = uow.erasures(limit)
    return [
        {
            "kind": e.kind,
            "id": e.object_id,
            "rule": e.rule,
            "due": e.due,
            "erased_at": e.done_at,
            "audit_index": e.audit_index,
            "blobs": len(e.blob_key_list()),
        }
        for e in done
    ]


class Sweeper:
    """The retention sweep on a daemon thread, every ``interval`` seconds (and once soon
    after start); a sweep that fails (the database away) is tried again next time."""

    def __init__(self, ctx: Context, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep_once(self) -> SweepResult | None:
        try:
            return sweep(self._ctx)
        except Exception as exc:
            log.warning("retention sweep postponed", error_type=type(exc).__name__)
            return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = min(60.0, self._interval)  # the first sweep soon after start
        while not self._stop.wait(delay):
            self.sweep_once()
            delay = self._interval

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
