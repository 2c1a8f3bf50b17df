"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from gateway.api import metrics
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.crypto.pseudonyms import HMAC_KERNEL
from gateway.domain.principal import Role

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive (no dependencies checked)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the keys are loaded")
def readyz(ctx: Ctx) -> dict[str, Any]:
    size = ctx.store.audit_size()
    ctx.keys.internal_pseudonym_key()
    return {
        "status": "ready",
        "audit_entries": size,
        "policy_hash": ctx.catalogue.policy_hash,
        "pseudonym_kernel": HMAC_KERNEL,  # native, or the slower Python fallback
    }


@router.get("/metrics", summary="Prometheus metrics (operator)")
def prometheus(ctx: Ctx, by: CurrentPrincipal) -> Response:
    by.require(Role.OPERATOR)
    return Response(metrics.render(ctx.store.audit_size()), media_type=metrics.CONTENT_TYPE)
