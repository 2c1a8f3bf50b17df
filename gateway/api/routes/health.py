"""Liveness, readiness and metrics.

``/healthz`` and ``/readyz`` need no token (load balancers and orchestrators call them), so
they say only alive, ready or not ready. An operator's token on ``/readyz`` adds the details
(entry count, policy hash, which pseudonym kernel runs).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway.api import metrics, schemas
from gateway.api.deps import Ctx, get_principal
from gateway.api.media import text
from gateway.api.problems import PROBLEM
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.domain.permissions import authorize, permits
from gateway.errors import GatewayError, problem_type
from gateway.services.platform import health

router = APIRouter(tags=["operations"])
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
    if not health.ready(ctx):
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
            body.update(health.details(ctx))
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
    now = health.figures(ctx)
    body = metrics.render(
        now.audit_size, last_entry_age=now.last_entry_age, ready=now.ready, witnesses=now.witnesses
    )
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
