"""Versions of a dataset's month: corrected deliveries, earlier ones sent again, withdrawals.

Each accepted delivery of new content for a month is its next version, and the newest
version is what new releases read; the earlier versions stay stored and readable, and a
release names the versions it read. Sending an earlier version's content again makes it
current once more (a new version, ``delivery.reinstated``), while sending the current
content again is a retry and gets its receipt. A source withdraws its month's current
delivery explicitly (``delivery.withdrawn``): until it delivers again, the month has no
current delivery, and releases that need it are refused as missing inputs (409).
"""

from __future__ import annotations

from typing import Any

from gateway.audit.events import AuditEvent, EventType
from gateway.domain import identifiers
from gateway.domain.permissions import authorize
from gateway.domain.principals import Principal
from gateway.domain.records import DeliveryRecord, VersionAction
from gateway.domain.versions import MonthVersions
from gateway.errors import Conflict
from gateway.services.context import Context
from gateway.services.deliveries.reads import get_delivery, held_reasons


def _refs(record: DeliveryRecord) -> dict[str, str]:
    return {
        "source": record.source,
        "dataset": record.dataset,
        "period": record.period,
        "delivery": record.id,
    }


def reinstate(ctx: Context, record: DeliveryRecord, *, by: Principal) -> int:
    """Make an earlier delivery of the month current again, as its next version (audited)."""
    refs = _refs(record)
    with ctx.store.unit_of_work() as uow:
        entry = uow.append_audit(
            AuditEvent(EventType.DELIVERY_REINSTATED, by.label, refs, {"sha256": record.sha256})
        )
        return uow.add_version(
            record.dataset,
            record.period,
            record.id,
            VersionAction.REINSTATED,
            entry.recorded_at,
            by.label,
            entry.index,
        )


def confirm(ctx: Context, record: DeliveryRecord, *, by: Principal) -> int:
    """Make a held delivery the month's current version, as its source confirmed (audited)."""
    authorize(by, "delivery.confirm", owner=record.source)
    reasons = held_reasons(ctx, record)
    if reasons is None:
        raise Conflict(f"delivery '{record.id}' is not waiting for confirmation")
    refs = _refs(record)
    with ctx.store.unit_of_work() as uow:
        entry = uow.append_audit(
            AuditEvent(
                EventType.DELIVERY_CONFIRMED,
                by.label,
                refs,
                {"sha256": record.sha256, "reasons": [r["code"] for r in reasons]},
            )
        )
        return uow.add_version(
            record.dataset,
            record.period,
            record.id,
            VersionAction.CONFIRMED,
            entry.recorded_at,
            by.label,
            entry.index,
        )


def confirm_held(ctx: Context, *, by: Principal, delivery_id: str) -> dict[str, Any]:
    """The source confirms its held delivery: it becomes the month's current version."""
    record = get_delivery(ctx, by=by, delivery_id=delivery_id)
    version = confirm(ctx, record, by=by)
    return {"delivery_id": record.id, "confirmed": True, "current_version": version}


def withdraw(ctx: Context, *, by: Principal, delivery_id: str, note: str | None) -> dict[str, Any]:
    """Withdraw the month's current delivery (its source only). Releases made from it keep
    it; new releases of the month are refused until the source delivers again."""
    note = identifiers.free_text("note", note)
    record = get_delivery(ctx, by=by, delivery_id=delivery_id)
    authorize(by, "delivery.withdraw", owner=record.source)
    refs = _refs(record)
    if held_reasons(ctx, record) is not None:
        return _discard(ctx, record, by=by, note=note)
    with ctx.store.unit_of_work() as uow:
        if not MonthVersions.of(uow.versions_of(record.dataset, record.period)).is_current(
            record.id
        ):
            raise Conflict(
                f"delivery '{delivery_id}' is not the current version of {record.dataset} "
                f"{record.period}; only the current one can be withdrawn"
            )
        entry = uow.append_audit(
            AuditEvent(EventType.DELIVERY_WITHDRAWN, by.label, refs, {"note": note})
        )
        version = uow.add_version(
            record.dataset,
            record.period,
            None,
            VersionAction.WITHDRAWN,
            entry.recorded_at,
            by.label,
            entry.index,
        )
    return {
        "delivery_id": record.id,
        "dataset": record.dataset,
        "period": record.period,
        "withdrawn": True,
        "current_version": version,
        "audit_index": entry.index,
    }


def _discard(
    ctx: Context, record: DeliveryRecord, *, by: Principal, note: str | None
) -> dict[str, Any]:
    """A held delivery its source withdraws: it never becomes current (the month's current
    version stays) and its retention rule's withdrawal term applies (audited)."""
    at = ctx.stamp()
    with ctx.store.unit_of_work() as uow:
        if not uow.discard_delivery(record.id, at):
            raise Conflict(f"delivery '{record.id}' was already withdrawn")
        entry = uow.append_audit(
            AuditEvent(EventType.DELIVERY_DISCARDED, by.label, _refs(record), {"note": note})
        )
        current = MonthVersions.of(uow.versions_of(record.dataset, record.period)).current
    return {
        "delivery_id": record.id,
        "dataset": record.dataset,
        "period": record.period,
        "withdrawn": True,
        "current_version": current.version if current else None,
        "audit_index": entry.index,
    }
