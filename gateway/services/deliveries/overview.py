"""What each source delivered, month by month, in the domain's terms: for every dataset and
month, the current version, how many versions there were, its rows, persons and quality, and
any delivery held, withdrawn or erased. The console's deliveries page reads this (approvers and
auditors see every source; a source sees its own), not the audit events it is recorded by.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.domain.permissions import authorize, permits
from gateway.domain.principals import Principal
from gateway.domain.records import DeliveryRecord, DeliveryVersion
from gateway.domain.versions import MonthVersions
from gateway.services.context import Context


def _state(record: DeliveryRecord, months: MonthVersions) -> str:
    if record.erased_at:
        return "erased"
    if record.discarded_at:
        return "discarded"
    if months.version_of(record.id) is None:
        return "held"
    if months.is_current(record.id):
        return "accepted"
    return "replaced"


def by_month(
    ctx: Context, *, by: Principal, source: str | None = None, dataset: str | None = None
) -> list[dict[str, Any]]:
    """One row per source, dataset and month, newest month first within each dataset: the
    current delivery (or none, if withdrawn), its version among the month's versions, rows,
    persons and quality, and the month's other deliveries with their state."""
    authorize(by, "delivery.read", owner=source)
    with ctx.store.unit_of_work() as uow:
        records = uow.all_deliveries()
        versions = uow.all_versions()
    grouped: dict[tuple[str, str], list[DeliveryVersion]] = defaultdict(list)
    for version in versions:
        grouped[(version.dataset, version.period)].append(version)
    months: dict[tuple[str, str, str], list[DeliveryRecord]] = defaultdict(list)
    for record in records:
        if (source and record.source != source) or (dataset and record.dataset != dataset):
            continue
        if not permits(by.roles, "delivery.read", owner=record.source == by.subject):
            continue
        months[(record.source, record.dataset, record.period)].append(record)
    out = []
    for (src, ds, period), found in sorted(
        months.items(), key=lambda item: (item[0][0], item[0][1], item[0][2]), reverse=False
    ):
        history = MonthVersions.of(grouped.get((ds, period), []))
        current_version = history.current
        current = next(
            (r for r in found if current_version and r.id == current_version.delivery_id), None
        )
        report = (current.quality_report() if current else None) or {}
        out.append(
            {
                "source": src,
                "dataset": ds,
                "period": period,
                "current": current.id if current else None,
                "version": current_version.version if current_version else None,
                "versions": len(history.versions),
                "rows": current.rows if current else None,
                "persons": report.get("persons"),
                "quality": report.get("status", "unknown") if current else None,
                "flags": [f["code"] for f in report.get("flags", [])],
                "received_at": current.received_at if current else None,
                "others": [
                    {"id": r.id, "state": _state(r, history), "received_at": r.received_at}
                    for r in sorted(found, key=lambda r: r.received_at)
                    if current is None or r.id != current.id
                ],
            }
        )
    return out
