"""Map domain errors to RFC 9457 problem responses: the one place that does it."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api import metrics
from gateway.errors import GatewayError

PROBLEM = "application/problem+json"
log = structlog.get_logger("gateway.api")


def _response(body: dict[str, object], status: int) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _domain(request: Request, exc: GatewayError) -> JSONResponse:
        body = exc.problem()
        body["instance"] = request.url.path
        if exc.status in (401, 403):
            metrics.REFUSALS.labels(exc.code).inc()
        log.info("request refused", status=exc.status, code=exc.code, path=request.url.path)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        response = _response(body, exc.status)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Report where and what, never the submitted input (it could hold a CPR).
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return _response(
            {
                "type": "https://gateway.example/problems/invalid-request",
                "title": "The request is invalid",
                "status": 422,
                "detail": f"{len(errors)} problem(s) in the request",
                "errors": errors,
                "instance": request.url.path,
            },
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _response(
            {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "instance": request.url.path,
            },
            exc.status_code,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The message of an unexpected exception may quote data; log its type only.
        log.error("unhandled error", error_type=type(exc).__name__, path=request.url.path)
        return _response(
            {
                "type": "https://gateway.example/problems/internal-error",
                "title": "Internal error",
                "status": 500,
                "detail": "an unexpected error occurred; it has been logged",
                "instance": request.url.path,
            },
            500,
        )
