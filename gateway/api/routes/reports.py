"""Built-in aggregate reports: run one for a period, then pull it like any release."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from gateway.api import schemas
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.api.routes.extracts import released
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.domain.permissions import authorize
from gateway.services.releases import reports

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "",
    summary="The built-in reports and who they are sanctioned for",
    openapi_extra=use_case("report.list"),
    response_model=None,
    responses=answer(schemas.Reports, "The built-in reports"),
)
def list_reports(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    authorize(by, "report.list")
    return {
        "reports": [
            r.model_dump(mode="json")
            for r in ctx.catalogue.reports.values()
            if r.id in reports.BUILT_IN
        ]
    }


@router.post(
    "/{report_id}/runs",
    status_code=201,
    summary="Compute, check and release a report",
    openapi_extra=use_case("report.run"),
    response_model=None,
    responses=answer(
        schemas.ReleaseWithProof, "The report as a release, with its audit proof", 201
    ),
)
def run(
    report_id: str,
    ctx: Ctx,
    by: CurrentPrincipal,
    period: str = Query(..., description="The month, YYYY-MM"),
) -> dict[str, Any]:
    return released(ctx, reports.run_report(ctx, by=by, report_id=report_id, period=period), by)
