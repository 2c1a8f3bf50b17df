"""Per-request context: a request id (taken from ``X-Request-ID`` or made), bound to every log
line of the request, returned in the response, and the request's latency in the metrics.

A plain ASGI middleware, not Starlette's ``BaseHTTPMiddleware``: that one runs the route in a
task group and wraps every ``receive`` of the body in more task machinery. For a streamed
56 MB delivery the event loop's CPU time fell from about 0.25 s to 0.19 s without it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import metrics

_log = structlog.get_logger("gateway.http")


class RequestContext:
    """Wraps the app: ids, one access log line and a latency observation per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")  # ids stay out of the labels
            metrics.REQUEST_SECONDS.labels(scope["method"], template, status).observe(
                time.perf_counter() - started
            )
            # Paths carry ids only (CPR goes in bodies, never in URLs), so they are safe to log.
            _log.info("request", method=scope["method"], path=scope["path"], status=status)


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, Any]] = scope.get("headers", [])
    for key, value in headers:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
