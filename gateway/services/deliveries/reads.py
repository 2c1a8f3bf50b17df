"""Reading deliveries: a delivery's record, status and quality report, the versions of its
month, and the quality of the months a specification reads. A source reads its own;
approvers and auditors read all (the permission table's ``delivery.read`` and
``delivery.quality``)."""

from __future__ import annotations

from typing import Any

from gateway.audit.events import EventType
from gateway.domain import identifiers
from gateway.domain.permissions import authorize, permits
from gateway.domain.principals import Principal
from gateway.domain.records import DeliveryRecord
from gateway.domain.versions import MonthVersions
from gateway.errors import NotFound
from gateway.services.context import Context


def get_delivery(ctx: Context, *, by: Principal, delivery_id: str) -> DeliveryRecord:
    """A source sees its own deliveries; approvers and auditors see all."""
    identifiers.identifier("delivery_id", delivery_id, identifiers.DELIVERY_ID)
    with ctx.store.unit_of_work() as uow:
        record = uow.get_delivery(delivery_id)
    if record is None:
        raise NotFound(f"no delivery '{delivery_id}'")
    if not permits(by.roles, "delivery.read", owner=by.subject == record.source):
        ctx.refuse(
            NotFound(f"no delivery '{delivery_id}'"),
            event=EventType.ACCESS_REFUSED,
            by=by,
            refs={"delivery": delivery_id, "source": record.source},
            details={"attempt": "read another source's delivery"},
        )
    return record


def month_quality(
    ctx: Context, *, by: Principal, dataset: str, months: list[str]
) -> list[dict[str, Any]]:
    """The current delivery of each of ``months`` and its quality status and flags (none:
    not delivered, or withdrawn): what an approver weighs before approving a specification
    that reads them. A source may ask about its own datasets only."""
    ds = ctx.catalogue.datasets.get(dataset)
    if ds is None:
        raise NotFound(f"no dataset '{dataset}'")
    authorize(by, "delivery.quality", owner=ds.owner)
    with ctx.store.unit_of_work() as uow:
        current = {d.period: d for d in uow.latest_deliveries(dataset, months)}
    out = []
    for month in months:
        record = current.get(month)
        report = record.quality_report() if record is not None else None
        out.append(
            {
                "period": month,
                "delivery": record.id if record else None,
                "status": report["status"] if report else ("unknown" if record else "missing"),
                "flags": [{"code": f["code"], "detail": f["detail"]} for f in report["flags"]]
                if report
                else [],
            }
        )
    return out


def get_quality(ctx: Context, *, by: Principal, delivery_id: str) -> dict[str, Any]:
    """A delivery's quality report: for its source and for approvers, who decide what is
    released from it."""
    record = get_delivery(ctx, by=by, delivery_id=delivery_id)
    authorize(by, "delivery.quality", owner=record.source)
    return {
        "delivery_id": record.id,
        "source": record.source,
        "dataset": record.dataset,
        "period": record.period,
        "quality": record.quality_report(),
    }


def month_of(ctx: Context, record: DeliveryRecord) -> MonthVersions:
    with ctx.store.unit_of_work() as uow:
        return MonthVersions.of(uow.versions_of(record.dataset, record.period))


def held_reasons(ctx: Context, record: DeliveryRecord) -> list[dict[str, str]] | None:
    """Why a delivery waits for its source's confirmation; None once it was confirmed (or if
    it never had to wait)."""
    report = record.quality_report()
    held = report.get("held") if report else None
    if not held or record.discarded_at:
        return None
    if month_of(ctx, record).version_of(record.id) is not None:
        return None
    return list(held)


def describe(ctx: Context, record: DeliveryRecord) -> dict[str, Any]:
    """Which version this delivery is, whether it is current, and the month's history."""
    month = month_of(ctx, record)
    newest = month.current
    return {
        "version": month.version_of(record.id),
        "current": month.is_current(record.id),
        "held": held_reasons(ctx, record),
        "current_version": newest.version if newest else None,
        "versions": [
            {
                "version": v.version,
                "delivery_id": v.delivery_id,
                "action": v.action,
                "recorded_at": v.recorded_at,
            }
            for v in month.versions
        ],
    }


def show(ctx: Context, *, by: Principal, delivery_id: str) -> dict[str, Any]:
    """A delivery as its reader sees it: its figures (never where its blobs live, the hub's
    business), a summary of its quality report, its status (accepted, or held for its
    source's confirmation), which version of its month it is, and the month's history."""
    record = get_delivery(ctx, by=by, delivery_id=delivery_id)
    described = describe(ctx, record)
    hidden = {"blob_key", "vault_blob_key", "quality"}
    public = {k: v for k, v in record.__dict__.items() if k not in hidden}
    report = record.quality_report()
    public["quality"] = (
        {"status": report["status"], "flags": [f["code"] for f in report["flags"]]}
        if report
        else None
    )
    status = "held" if described["held"] else "accepted"
    if record.discarded_at:
        status = "discarded"
    if record.erased_at:
        status = "erased"
    return {**public, "status": status, **described}
