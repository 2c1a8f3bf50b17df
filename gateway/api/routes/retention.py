"""Storage limitation over HTTP: the retention plan, a sweep now, erasures, legal holds,
recipients' deletion confirmations, and the records of processing (GDPR art. 30)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api import retention_schemas
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.errors import InvalidRequest
from gateway.services.retention import deletions, erasure, holds, plan, records

router = APIRouter(prefix="/v1", tags=["retention"])
ON = Query(
    None,
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    description="As of this day, YYYY-MM-DD (default: today)",
)
FORMAT = Query("json", pattern="^(json|jsonld|html)$", description="json, jsonld (W3C DPV), html")
RECORD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The records of processing",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/ld+json": {"schema": {"type": "object"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}


@router.get(
    "/retention/plan",
    summary="What the hub keeps, until when and why; what is due; what holds delay",
    openapi_extra=use_case("retention.plan"),
    response_model=None,
    responses=answer(retention_schemas.RetentionPlan, "The retention plan"),
)
def retention_plan(
    ctx: Ctx,
    by: CurrentPrincipal,
    on: str | None = ON,
) -> dict[str, Any]:
    return plan.plan(ctx, by=by, on=_day(on)).as_dict()


def _day(text: str | None) -> dt.date | None:
    """A calendar day (no numbers read as seconds since 1970, no impossible dates)."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("'on' is not a day of the calendar: expected YYYY-MM-DD") from None


@router.post(
    "/retention/sweep",
    summary="Erase what is due now (the server's workers do it every hour)",
    openapi_extra=use_case("retention.sweep"),
    response_model=None,
    responses=answer(retention_schemas.SweepResult, "What was erased, resumed and delayed"),
)
def sweep(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return erasure.sweep(ctx, by=by).as_dict()


@router.get(
    "/retention/erasures",
    summary="Erasures, newest first, each with the audit entry that proves it",
    openapi_extra=use_case("retention.plan"),
    response_model=None,
    responses=answer(retention_schemas.Erasures, "The erasures"),
)
def erasures(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {"erasures": erasure.erasures(ctx, by=by)}


class NewHold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=5, max_length=2000, description="Why (no CPR); audited")
    dataset: str | None = Field(None, max_length=64)
    source: str | None = Field(None, max_length=64)
    period_from: str | None = Field(None, max_length=7, description="YYYY-MM")
    period_to: str | None = Field(None, max_length=7, description="YYYY-MM")
    release: str | None = Field(None, max_length=40)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000, description="Why (no CPR); audited")


@router.get(
    "/retention/holds",
    summary="Legal holds, standing and lifted",
    openapi_extra=use_case("hold.list"),
    response_model=None,
    responses=answer(retention_schemas.LegalHolds, "The holds"),
)
def list_holds(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {"holds": holds.holds(ctx, by=by)}


@router.post(
    "/retention/holds",
    status_code=201,
    summary="Place a legal hold: nothing it covers is erased while it stands",
    openapi_extra=use_case("hold.place"),
    response_model=None,
    responses=answer(retention_schemas.LegalHold, "The hold", 201),
)
def place_hold(ctx: Ctx, by: CurrentPrincipal, body: NewHold) -> dict[str, Any]:
    return holds.place(ctx, by=by, **body.model_dump())


@router.post(
    "/retention/holds/{hold_id}/lift",
    summary="Ask to lift a legal hold (with a reason), or, as a second person, lift it",
    openapi_extra=use_case("hold.lift"),
    response_model=None,
    responses=answer(retention_schemas.LegalHold, "The hold, asked to lift or lifted"),
)
def lift_hold(
    hold_id: str, ctx: Ctx, by: CurrentPrincipal, body: Note | None = None
) -> dict[str, Any]:
    return holds.lift(ctx, by=by, hold_id=hold_id, reason=body.reason if body else None)


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000, description="How it was deleted (no CPR)")


@router.get(
    "/retention/deletions",
    summary="Recipients' deletion requests (one's own; auditors: all), overdue ones marked",
    openapi_extra=use_case("deletion.list"),
    response_model=None,
    responses=answer(retention_schemas.DeletionRequests, "The requests"),
)
def list_deletions(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {"requests": deletions.requests(ctx, by=by)}


@router.post(
    "/retention/deletions/{request_id}/confirm",
    summary="Confirm that one's copies of the requested releases are deleted",
    openapi_extra=use_case("deletion.confirm"),
    response_model=None,
    responses=answer(retention_schemas.DeletionRequest, "The request, confirmed"),
)
def confirm_deletion(
    request_id: str, ctx: Ctx, by: CurrentPrincipal, body: Confirmation | None = None
) -> dict[str, Any]:
    return deletions.confirm(ctx, by=by, request_id=request_id, note=body.note if body else None)


def _formatted(record: dict[str, Any], fmt: str, meta: dict[str, Any] | None = None) -> Response:
    media = {"json": "application/json", "jsonld": "application/ld+json"}.get(fmt)
    text = records.render(record, fmt, meta)
    if media is None:
        return HTMLResponse(text)
    return Response(text, media_type=media)


@router.get(
    "/processing-records",
    summary="The records of processing (GDPR art. 30), generated from the policies",
    openapi_extra=use_case("records.read"),
    response_class=Response,
    responses=RECORD,
)
def current_records(ctx: Ctx, by: CurrentPrincipal, format: str = FORMAT) -> Response:
    return _formatted(records.current(ctx, by=by), format)


@router.post(
    "/processing-records/approvals",
    status_code=201,
    summary="Approve today's records of processing: frozen as the next version",
    openapi_extra=use_case("records.snapshot"),
    response_model=None,
    responses=answer(retention_schemas.RecordApproval, "The approved version", 201),
)
def approve_records(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return records.approve(ctx, by=by)


@router.get(
    "/processing-records/approvals",
    summary="The approved versions of the records of processing",
    openapi_extra=use_case("records.read"),
    response_model=None,
    responses=answer(retention_schemas.RecordApprovals, "Every approved version"),
)
def record_approvals(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {"approvals": records.snapshots(ctx, by=by)}


@router.get(
    "/processing-records/approvals/{version}",
    summary="One approved version, as it was frozen",
    openapi_extra=use_case("records.read"),
    response_class=Response,
    responses=RECORD,
)
def record_approval(
    ctx: Ctx,
    by: CurrentPrincipal,
    version: int = Path(ge=1, le=1_000_000),
    format: str = FORMAT,
) -> Response:
    meta, record = records.snapshot(ctx, by=by, version=version)
    return _formatted(record, format, meta)
