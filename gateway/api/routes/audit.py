"""The audit trail over HTTP: verification material for everyone, search for the DPO."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from gateway.api import schemas
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.domain.audit_query import AuditQuery
from gateway.services.audit import access_answer, subjects
from gateway.services.audit import trail as audit_service

router = APIRouter(prefix="/v1/audit", tags=["audit"])
MAX_INDEX = 2**53  # beyond any log; keeps integers inside every database's range


class SubjectLookup(BaseModel):
    """The CPR travels in the body, never in a URL (URLs end up in logs)."""

    cpr: str = Field(min_length=10, max_length=11, repr=False)


@router.get(
    "/checkpoint",
    summary="The latest signed checkpoint and its verifier key",
    openapi_extra=use_case("audit.checkpoint"),
    response_model=None,
    responses=answer(schemas.Checkpoint, "The latest signed checkpoint and the log key"),
)
def checkpoint(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return audit_service.checkpoint_for(ctx, by=by)


@router.get(
    "/proofs/inclusion/{index}",
    summary="Inclusion proof of one entry (its bytes only for one's own entries; auditors: all)",
    openapi_extra=use_case("audit.proof"),
    response_model=None,
    responses=answer(schemas.ProofMaterial, "The proof material"),
)
def inclusion(
    ctx: Ctx, by: CurrentPrincipal, index: int = Path(ge=0, le=MAX_INDEX)
) -> dict[str, Any]:
    return audit_service.proof_material(ctx, index, by=by)


@router.get(
    "/proofs/consistency",
    summary="Consistency proof between two tree sizes",
    openapi_extra=use_case("audit.consistency"),
    response_model=None,
    responses=answer(schemas.Consistency, "The consistency proof"),
)
def consistency(
    ctx: Ctx,
    by: CurrentPrincipal,
    from_: int = Query(..., alias="from", ge=1, le=MAX_INDEX),
    to: int | None = Query(None, ge=1, le=MAX_INDEX),
) -> dict[str, Any]:
    return audit_service.consistency(ctx, from_, to, by=by)


@router.get(
    "/entries",
    summary="Search audit entries (auditor; the search is audited)",
    openapi_extra=use_case("audit.search"),
    response_model=None,
    responses=answer(schemas.AuditPage, "One page of matching entries and the total"),
)
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
    offset: int = Query(0, ge=0, le=MAX_INDEX),
) -> dict[str, Any]:
    query = AuditQuery(
        event_type=event_type,
        actor=actor,
        dataset=dataset,
        recipient=recipient,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    found, total = audit_service.search_page(ctx, by=by, query=query)
    return {
        "entries": [audit_service.entry_json(e) for e in found],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.post(
    "/subject-lookup",
    summary="Every entry that involved one person (auditor)",
    openapi_extra=use_case("audit.subject-lookup"),
    response_model=None,
    responses=answer(schemas.SubjectEntries, "Every entry about the person, and how long kept"),
)
def subject_lookup(body: SubjectLookup, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    found = subjects.subject_lookup(ctx, by=by, cpr=body.cpr)
    entries = [audit_service.entry_json(e) for e in found]
    letter = access_answer.answer(ctx, entries)
    return {"entries": entries, "kept": letter["kept"], "answer": letter}


@router.get(
    "/verify",
    summary="Verify the whole log against its signed checkpoints (auditor)",
    openapi_extra=use_case("audit.verify"),
    response_model=None,
    responses=answer(schemas.Verification, "The verification result"),
)
def verify(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return dict(audit_service.verify_recorded(ctx, by=by).__dict__)
