"""Extract specifications, four-eyes decisions, releases and pulls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gateway.api import metrics
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.domain.extracts import ExtractSpec
from gateway.domain.records import ExtractRecord, ReleaseRecord
from gateway.services import audit as audit_service
from gateway.services import extracts

router = APIRouter(prefix="/v1", tags=["extracts"])


class DecisionNote(BaseModel):
    note: str | None = Field(None, max_length=2000)


def _extract(record: ExtractRecord) -> dict[str, Any]:
    out = {k: v for k, v in record.__dict__.items() if k != "spec"}
    out["spec"] = record.spec.model_dump(mode="json")
    return out


def _release(record: ReleaseRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k != "blob_key"}


@router.post("/extracts", status_code=201, summary="Request an extract specification")
def request(spec: ExtractSpec, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return _extract(extracts.request_extract(ctx, by=by, spec=spec))


@router.get("/extracts")
def list_extracts(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {"extracts": [_extract(r) for r in extracts.list_extracts(ctx, by=by)]}


@router.get("/extracts/{extract_id}")
def get_extract(extract_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return _extract(extracts.get_extract(ctx, by=by, extract_id=extract_id))


@router.post("/extracts/{extract_id}/approve", summary="Approve (approver, not the requester)")
def approve(
    extract_id: str, ctx: Ctx, by: CurrentPrincipal, body: DecisionNote | None = None
) -> dict[str, Any]:
    note = body.note if body else None
    return _extract(
        extracts.decide_extract(ctx, by=by, extract_id=extract_id, approve=True, note=note)
    )


@router.post("/extracts/{extract_id}/reject", summary="Reject (approver, not the requester)")
def reject(
    extract_id: str, ctx: Ctx, by: CurrentPrincipal, body: DecisionNote | None = None
) -> dict[str, Any]:
    note = body.note if body else None
    return _extract(
        extracts.decide_extract(ctx, by=by, extract_id=extract_id, approve=False, note=note)
    )


@router.post("/extracts/{extract_id}/releases", status_code=201, summary="Run an approved spec")
def release(extract_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    record = extracts.run_release(ctx, by=by, extract_id=extract_id)
    metrics.RELEASES.labels(record.recipient).inc()
    return {**_release(record), "audit": audit_service.proof_material(ctx, record.audit_index)}


@router.get("/releases/{release_id}")
def get_release(release_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return _release(extracts.get_release(ctx, by=by, release_id=release_id))


@router.get("/releases/{release_id}/content", summary="Pull the released file")
def content(
    release_id: str,
    ctx: Ctx,
    by: CurrentPrincipal,
    format: str = Query("parquet", pattern="^(parquet|csv)$"),
) -> StreamingResponse:
    pulled = extracts.pull_release(ctx, by=by, release_id=release_id, fmt=format)
    return StreamingResponse(
        pulled.chunks,
        media_type=pulled.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{pulled.filename}"',
            "X-Content-SHA256-Parquet": pulled.release.sha256,
        },
    )
