"""Map errors to RFC 9457 problem responses: the one place that does it.

No response echoes what the caller sent: validation errors give where and what, never the
input; the ``instance`` member is the request path with anything CPR-shaped replaced.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api import metrics
from gateway.domain.identifiers import redact
from gateway.errors import GatewayError, problem_type

PROBLEM = "application/problem+json"
log = structlog.get_logger("gateway.api")


def problem_response(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def error_response(exc: GatewayError, path: str) -> JSONResponse:
    """The problem response of a gateway error (and its headers: WWW-Authenticate for 401,
    Retry-After where retrying helps)."""
    body = exc.problem()
    body["instance"] = redact(path)
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    allow = getattr(exc, "allow", None)
    if allow:
        headers["Allow"] = ", ".join(allow)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return problem_response(body, exc.status, headers or None)


def _location(loc: Any) -> list[Any]:
    # A body's own keys appear in locations (e.g. an unexpected member): screened too.
    return [redact(part) if isinstance(part, str) else part for part in loc]


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _domain(request: Request, exc: GatewayError) -> Response:
        if exc.status in (401, 403):
            metrics.REFUSALS.labels(exc.code).inc()
        log.info("request refused", status=exc.status, code=exc.code)
        page = getattr(request.app.state, "console_error_page", None)
        if page is not None and request.url.path.startswith("/console/"):
            response: Response = page(request, exc)  # people get a page, not JSON
            return response
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Report where and what, never the submitted input (it could hold a CPR).
        errors = [
            {
                "loc": _location(e.get("loc", ())),
                "msg": redact(str(e.get("msg"))),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        return problem_response(
            {
                "type": problem_type("invalid-request"),
                "title": "The request is invalid",
                "status": 422,
                "detail": f"{len(errors)} problem(s) in the request",
                "errors": errors,
                "instance": redact(request.url.path),
            },
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """What the framework answers itself, as the gateway's own problems: a body that is not
        JSON in UTF-8 is an invalid request (422, like any malformed body), an unknown path
        is not found, a method the path has not is not allowed."""
        if exc.status_code == 400:  # the framework could not decode the body at all
            return problem_response(
                {
                    "type": problem_type("invalid-request"),
                    "title": "The request is invalid",
                    "status": 422,
                    "detail": "the request body is not JSON in UTF-8",
                    "errors": [{"loc": ["body"], "msg": "not JSON", "type": "json_invalid"}],
                    "instance": redact(request.url.path),
                },
                422,
            )
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code)
        return problem_response(
            {
                "type": problem_type(code) if code else "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "instance": redact(request.url.path),
            },
            exc.status_code,
            dict(exc.headers) if exc.headers else None,  # e.g. Allow on a 405
        )
