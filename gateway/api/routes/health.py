"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api.deps import Ctx

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: Ctx) -> dict[str, Any]:
    size = ctx.store.audit_size()
    ctx.keys.internal_pseudonym_key()
    return {"status": "ready", "audit_entries": size, "policy_hash": ctx.catalogue.policy_hash}
