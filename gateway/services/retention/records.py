"""The records of processing activities (GDPR art. 30), generated from the policy files
(:mod:`gateway.domain.processing_records`), as data, as W3C DPV JSON-LD and as a printable
page; and approved versions, frozen: the DPO approves the current record, which is stored
with its SHA-256 and the policy hash it was made from, numbered, and never changed again (an
audit entry records each approval).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gateway.audit.events import AuditEvent, EventType
from gateway.domain.permissions import authorize
from gateway.domain.principals import Principal
from gateway.domain.processing_records import build, to_dpv
from gateway.errors import InvalidRequest, NotFound
from gateway.reports.processing_records import page
from gateway.services.context import Context

FORMATS = ("json", "jsonld", "html")


def current(ctx: Context, *, by: Principal) -> dict[str, Any]:
    """The record as the policies say it today."""
    authorize(by, "records.read")
    return build(ctx.catalogue, ctx.today())


def render(record: dict[str, Any], fmt: str, snapshot: dict[str, Any] | None = None) -> str:
    """The record in ``fmt``: json, jsonld (W3C DPV) or html (printable)."""
    if fmt == "json":
        return json.dumps(record, indent=2, ensure_ascii=False)
    if fmt == "jsonld":
        return json.dumps(to_dpv(record), indent=2, ensure_ascii=False)
    if fmt == "html":
        return page(record, snapshot)
    raise InvalidRequest(f"no format '{fmt}': use one of {', '.join(FORMATS)}")


def _canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def approve(ctx: Context, *, by: Principal) -> dict[str, Any]:
    """Freeze today's record as the next approved version (audited)."""
    authorize(by, "records.snapshot")
    record = build(ctx.catalogue, ctx.today())
    body = _canonical(record)
    digest = hashlib.sha256(body.encode()).hexdigest()
    at = ctx.clock().isoformat(timespec="seconds").replace("+00:00", "Z")
    with ctx.store.unit_of_work() as uow:
        entry = uow.append_audit(
            AuditEvent(
                EventType.RECORDS_APPROVED,
                by.label,
                {},
                {"sha256": digest, "policy_hash": ctx.catalogue.policy_hash},
            )
        )
        version = uow.add_record_snapshot(
            created_at=at,
            approved_by=by.label,
            policy_hash=ctx.catalogue.policy_hash,
            sha256=digest,
            body=body,
            audit_index=entry.index,
        )
    return {"version": version, "created_at": at, "approved_by": by.label, "sha256": digest,
            "policy_hash": ctx.catalogue.policy_hash, "audit_index": entry.index}  # fmt: skip


def snapshots(ctx: Context, *, by: Principal) -> list[dict[str, Any]]:
    authorize(by, "records.read")
    with ctx.store.unit_of_work() as uow:
        found = uow.record_snapshots()
    return [{k: v for k, v in s.__dict__.items() if k != "body"} for s in found]


def snapshot(ctx: Context, *, by: Principal, version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An approved version: its metadata and its record, as frozen (checked against its
    SHA-256)."""
    authorize(by, "records.read")
    with ctx.store.unit_of_work() as uow:
        found = uow.get_record_snapshot(version)
    if found is None:
        raise NotFound(f"no approved version {version} of the records of processing")
    meta = {k: v for k, v in found.__dict__.items() if k != "body"}
    if hashlib.sha256(found.body.encode()).hexdigest() != found.sha256:
        raise InvalidRequest(f"version {version} does not match its SHA-256")
    record: dict[str, Any] = json.loads(found.body)
    return meta, record
