"""The audit trail for the DPO: search and verification (auditor role)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query

from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.audit.chain import verify
from gateway.audit.events import AuditEntry
from gateway.domain.principal import Role
from gateway.services.ports import AuditQuery

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"index": entry.index, "entry_hash": entry.entry_hash, **json.loads(entry.body)}


@router.get("/entries", summary="Search audit entries")
def entries(
    ctx: Ctx,
    by: CurrentPrincipal,
    event_type: str | None = None,
    actor: str | None = None,
    dataset: str | None = None,
    recipient: str | None = None,
    since: str | None = Query(None, description="ISO time, inclusive"),
    until: str | None = Query(None, description="ISO time, exclusive"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    by.require(Role.AUDITOR)
    query = AuditQuery(event_type, actor, dataset, recipient, since, until, limit, offset)
    found = ctx.store.search_audit(query)
    return {"entries": [entry_json(e) for e in found], "limit": limit, "offset": offset}


@router.get("/verify", summary="Recompute the hash chain over every entry")
def verify_chain(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    by.require(Role.AUDITOR)
    result = verify(ctx.store.audit_entries())
    return dict(result.__dict__)
