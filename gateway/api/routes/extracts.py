"""Extract specifications, four-eyes decisions, releases and pulls."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from gateway.api import metrics, schemas
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.api.media import binary
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.domain.extracts import ExtractSpec
from gateway.domain.principals import Principal
from gateway.domain.records import ExtractRecord, ReleaseRecord
from gateway.services.audit import trail as audit_service
from gateway.services.releases import aggregates, extracts, pulls, reviews

router = APIRouter(prefix="/v1", tags=["extracts"])


class DecisionNote(BaseModel):
    note: str | None = Field(None, max_length=2000)


class ReturnComment(BaseModel):
    note: str = Field(
        min_length=1, max_length=2000, description="What the requester should change, and why."
    )


def _extract(record: ExtractRecord) -> dict[str, Any]:
    out = {k: v for k, v in record.__dict__.items() if k != "spec"}
    out["spec"] = record.spec.model_dump(mode="json")
    return out


def _release(record: ReleaseRecord) -> dict[str, Any]:
    hidden = {"blob_key", "report_blob_key"}
    out = {k: v for k, v in record.__dict__.items() if k not in hidden}
    out["inputs"] = json.loads(record.inputs) if record.inputs else None  # made before: none
    return out


def released(ctx: Ctx, record: ReleaseRecord, by: Principal) -> dict[str, Any]:
    """A new release with its audit proof (the recipient can verify it offline)."""
    if record.status == "released":
        metrics.RELEASES.labels(record.recipient).inc()
    proof = audit_service.proof_material(ctx, record.audit_index, by=by)
    return {**_release(record), "audit": proof}


@router.post(
    "/extracts",
    status_code=201,
    summary="Request an extract specification",
    openapi_extra=use_case("extract.request"),
    response_model=None,
    responses=answer(schemas.Extract, "The specification as requested, with its status", 201),
)
def request(spec: ExtractSpec, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return _extract(extracts.request_extract(ctx, by=by, spec=spec))


@router.get(
    "/extracts",
    openapi_extra=use_case("extract.list"),
    response_model=None,
    responses=answer(schemas.Extracts, "The specifications the caller may see"),
)
def list_extracts(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {"extracts": [_extract(r) for r in extracts.list_extracts(ctx, by=by)]}


@router.get(
    "/extracts/{extract_id}",
    openapi_extra=use_case("extract.read"),
    response_model=None,
    responses=answer(schemas.Extract, "The specification and its decision"),
)
def get_extract(extract_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    record = extracts.get_extract(ctx, by=by, extract_id=extract_id)
    # The policy's decision as of today, with its rules and citations: what an approver weighs.
    return {
        **_extract(record),
        "decision": extracts.decide(ctx, record.recipient, record.spec).as_dict(),
    }


@router.post(
    "/extracts/{extract_id}/approve",
    summary="Approve (approver, not the requester)",
    openapi_extra=use_case("extract.decide"),
    response_model=None,
    responses=answer(schemas.Extract, "The specification, approved"),
)
def approve(
    extract_id: str, ctx: Ctx, by: CurrentPrincipal, body: DecisionNote | None = None
) -> dict[str, Any]:
    note = body.note if body else None
    return _extract(
        extracts.decide_extract(ctx, by=by, extract_id=extract_id, approve=True, note=note)
    )


@router.post(
    "/extracts/{extract_id}/return",
    summary="Return for changes, with a comment to the requester (approver, not the requester)",
    openapi_extra=use_case("extract.decide"),
    response_model=None,
    responses=answer(schemas.Extract, "The specification, returned (its note is the comment)"),
)
def send_back(
    extract_id: str, ctx: Ctx, by: CurrentPrincipal, body: ReturnComment
) -> dict[str, Any]:
    return _extract(
        extracts.decide_extract(
            ctx, by=by, extract_id=extract_id, approve=False, note=body.note, send_back=True
        )
    )


@router.post(
    "/extracts/{extract_id}/reject",
    summary="Reject (approver, not the requester)",
    openapi_extra=use_case("extract.decide"),
    response_model=None,
    responses=answer(schemas.Extract, "The specification, rejected"),
)
def reject(
    extract_id: str, ctx: Ctx, by: CurrentPrincipal, body: DecisionNote | None = None
) -> dict[str, Any]:
    note = body.note if body else None
    return _extract(
        extracts.decide_extract(ctx, by=by, extract_id=extract_id, approve=False, note=note)
    )


@router.post(
    "/extracts/{extract_id}/releases",
    status_code=201,
    summary="Run an approved spec (its recipient only)",
    openapi_extra=use_case("release.run"),
    response_model=None,
    responses=answer(schemas.ReleaseWithProof, "The new release with its audit proof", 201),
)
def release(extract_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return released(ctx, extracts.run_release(ctx, by=by, extract_id=extract_id), by)


@router.get(
    "/extracts/{extract_id}/builds",
    summary="How the specification's releases are being built, newest first",
    openapi_extra=use_case("extract.read"),
    response_model=None,
    responses=answer(schemas.Builds, "Its builds: engine, Spark's progress, how each ended"),
)
def list_builds(extract_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {"builds": [b.as_dict() for b in extracts.builds_of(ctx, by=by, extract_id=extract_id)]}


@router.get(
    "/releases",
    summary="Releases by status; the default is the approvers' review queue (pending-review)",
    openapi_extra=use_case("release.list"),
    response_model=None,
    responses=answer(schemas.Releases, "Releases in that status"),
)
def list_releases(
    ctx: Ctx,
    by: CurrentPrincipal,
    status: str = Query("pending-review", pattern="^(pending-review|released|withheld|refused)$"),
) -> dict[str, Any]:
    return {"releases": [_release(r) for r in reviews.releases_in(ctx, by=by, status=status)]}


@router.post(
    "/releases/{release_id}/release",
    summary="Release a held aggregate (approver)",
    openapi_extra=use_case("release.review"),
    response_model=None,
    responses=answer(schemas.Release, "The release, released"),
)
def review_release(
    release_id: str, ctx: Ctx, by: CurrentPrincipal, body: DecisionNote | None = None
) -> dict[str, Any]:
    note = body.note if body else None
    return _release(
        reviews.review_release(ctx, by=by, release_id=release_id, approve=True, note=note)
    )


@router.post(
    "/releases/{release_id}/withhold",
    summary="Withhold a held aggregate (approver)",
    openapi_extra=use_case("release.review"),
    response_model=None,
    responses=answer(schemas.Release, "The release, withheld"),
)
def withhold_release(
    release_id: str, ctx: Ctx, by: CurrentPrincipal, body: DecisionNote | None = None
) -> dict[str, Any]:
    note = body.note if body else None
    return _release(
        reviews.review_release(ctx, by=by, release_id=release_id, approve=False, note=note)
    )


@router.get(
    "/releases/{release_id}/disclosure-report",
    summary="The disclosure checker's results.json (ACRO layout) for an aggregate",
    openapi_extra=use_case("release.report"),
)
def disclosure_report(release_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    record = pulls.get_release(ctx, by=by, release_id=release_id, use_case="release.report")
    return aggregates.disclosure_report(ctx, record)


@router.get(
    "/releases/{release_id}/review-bundle",
    summary="The reviewers' folder (results.json, tables, checksums) as a zip; SACRO Viewer "
    "opens it unpacked",
    openapi_extra=use_case("release.report"),
    response_class=Response,
    responses={200: binary("The reviewers' folder", "application/zip")},
)
def review_bundle(release_id: str, ctx: Ctx, by: CurrentPrincipal) -> Response:
    record = pulls.get_release(ctx, by=by, release_id=release_id, use_case="release.report")
    return Response(
        aggregates.review_bundle(ctx, by=by, release=record),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{release_id}-review.zip"'},
    )


@router.get(
    "/releases/{release_id}",
    openapi_extra=use_case("release.read"),
    response_model=None,
    responses=answer(schemas.Release, "The release's metadata"),
)
def get_release(release_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return _release(pulls.get_release(ctx, by=by, release_id=release_id))


@router.get(
    "/releases/{release_id}/content",
    summary="Pull the released file (its recipient only)",
    openapi_extra=use_case("release.pull"),
    response_class=Response,
    responses={
        200: binary(
            "Microdata as Parquet (or CSV); aggregates as a zip of tables, charts and the page",
            "application/vnd.apache.parquet",
            "text/csv",
            "application/zip",
        )
    },
)
def content(
    release_id: str,
    ctx: Ctx,
    by: CurrentPrincipal,
    format: str | None = Query(None, pattern="^(parquet|csv|zip)$"),
) -> StreamingResponse:
    pulled = pulls.pull_release(ctx, by=by, release_id=release_id, fmt=format)
    return StreamingResponse(
        pulled.chunks,
        media_type=pulled.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{pulled.filename}"',
            # The digest recorded in the audit entry: of the Parquet file, or of the zip bundle.
            "X-Content-SHA256-" + ("Zip" if pulled.release.kind != "microdata" else "Parquet"): (
                pulled.release.sha256
            ),
        },
    )
