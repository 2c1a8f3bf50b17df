"""The catalogue and the legal bases in force, for any authenticated principal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api import schemas
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.domain.permissions import authorize

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])


@router.get(
    "/datasets",
    openapi_extra=use_case("catalogue.read"),
    response_model=None,
    responses=answer(schemas.Datasets, "The datasets and the policy set in force"),
)
def datasets(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    authorize(by, "catalogue.read")
    cat = ctx.catalogue
    return {
        "policy_hash": cat.policy_hash,
        "datasets": [d.model_dump(mode="json") for d in cat.datasets.values()],
    }


@router.get(
    "/grants",
    openapi_extra=use_case("catalogue.read"),
    response_model=None,
    responses=answer(schemas.Grants, "The grants, each saying whether it is in force today"),
)
def grants(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    authorize(by, "catalogue.read")
    cat = ctx.catalogue
    today = ctx.today()
    return {
        "policy_hash": cat.policy_hash,
        "grants": [
            {**g.model_dump(mode="json"), "in_force": g.in_force(today)} for g in cat.grants
        ],
    }
