"""Liveness, readiness and metrics.

``/healthz`` and ``/readyz`` need no token (load balancers and orchestrators call them), so
they say only alive, ready or not ready. An operator's token on ``/readyz`` adds the details
(entry count, policy hash, which pseudonym kernel runs).
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway.api import metrics, schemas
from gateway.api.deps import Ctx, get_principal
from gateway.api.media import text
from gateway.api.problems import PROBLEM
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.audit import fast_verify
from gateway.crypto.pseudonyms import HMAC_KERNEL
from gateway.domain.permissions import authorize, permits
from gateway.errors import GatewayError, problem_type
from gateway.services.ports import AuditQuery

router = APIRouter(tags=["operations"])
log = structlog.get_logger("gateway.health")
RETRY_AFTER = "5"


@router.get(
    "/healthz",
    summary="The process is alive (no dependencies checked)",
    openapi_extra=use_case("operations.health"),
    response_model=None,
    responses=answer(schemas.Alive, "Alive"),
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers and the keys are loaded; details for operators",
    openapi_extra=use_case("operations.health"),
    response_model=None,
    responses=answer(schemas.Ready, "Ready (details with an operator's token)"),
)
def readyz(ctx: Ctx, request: Request) -> dict[str, Any] | JSONResponse:
    try:
        ctx.store.ping()
        ctx.keys.internal_pseudonym_key()
    except Exception as exc:
        log.warning("not ready", error_type=type(exc).__name__)
        return JSONResponse(
            {
                "type": problem_type("not-ready"),
                "title": "Not ready",
                "status": 503,
                "detail": "the database or the keys are not available; retry later",
            },
            status_code=503,
            media_type=PROBLEM,
            headers={"Retry-After": RETRY_AFTER},
        )
    body: dict[str, Any] = {"status": "ready"}
    if request.headers.get("authorization"):
        try:
            by = get_principal(request)
        except GatewayError:
            return body
        if permits(by.roles, "operations.metrics", owner=False):
            body.update(
                audit_entries=ctx.store.audit_size(),
                policy_hash=ctx.catalogue.policy_hash,
                pseudonym_kernel=HMAC_KERNEL,  # native, or the slower Python fallback
                audit_kernel=fast_verify.KERNEL,
                witnesses=ctx.witnessing.report() if ctx.witnessing is not None else {},
            )
    return body


@router.get(
    "/metrics",
    summary="Prometheus metrics (operator)",
    openapi_extra=use_case("operations.metrics"),
    response_class=Response,
    responses={200: text("Prometheus text exposition format 0.0.4")},
)
def prometheus(ctx: Ctx, request: Request) -> Response:
    if not _scrape_token_matches(request):
        authorize(get_principal(request), "operations.metrics")
    size = ctx.store.audit_size()
    age = None
    if size:
        newest = ctx.store.search_audit(AuditQuery(offset=size - 1, limit=1))
        if newest:
            stamp = dt.datetime.fromisoformat(newest[0].recorded_at.replace("Z", "+00:00"))
            age = (dt.datetime.now(dt.UTC) - stamp).total_seconds()
    try:
        ctx.store.ping()
        ready = True
    except Exception:
        ready = False
    witnesses = ctx.witnessing.report() if ctx.witnessing is not None else None
    body = metrics.render(size, last_entry_age=age, ready=ready, witnesses=witnesses)
    return Response(body, media_type=metrics.CONTENT_TYPE)


def _scrape_token_matches(request: Request) -> bool:
    """Prometheus's own bearer secret (GATEWAY_METRICS_TOKEN_FILE), compared in constant
    time; it opens /metrics and nothing else."""
    settings = request.app.state.runtime.settings
    path = settings.metrics_token_file
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if path is None or scheme.lower() != "bearer" or not sent:
        return False
    try:
        secret = path.read_text().strip()
    except OSError:
        return False
    return len(secret) >= 32 and hmac.compare_digest(sent.strip().encode(), secret.encode())
