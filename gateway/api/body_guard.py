"""Request bodies: authenticated before they are read, bounded in size and in time.

* A request that carries a body must present a valid bearer token (the console's forms: a
  logged-in session cookie) first; otherwise it is answered 401 without reading a byte of the
  body (a 48 MB unauthenticated JSON body was once
  parsed in full). The verified principal is kept for the route (``request.state.principal``).
* A body is bounded: a delivery by ``GATEWAY_MAX_DELIVERY_BYTES`` (checked by the route as the
  body streams), anything else by ``GATEWAY_MAX_REQUEST_BYTES`` (read here, whole, before the
  route runs): a declared ``Content-Length`` over the limit is refused at once, 413.
* A body must keep arriving: a pause between two chunks longer than
  ``GATEWAY_BODY_IDLE_SECONDS`` or a body taking longer than
  ``GATEWAY_BODY_TIMEOUT_SECONDS`` ends the request with 408, so a client that opens a push
  and sends nothing cannot hold an ingest slot.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.problems import error_response
from gateway.api.request_context import header
from gateway.console.web import console_principal
from gateway.errors import (
    BodyTooLarge,
    GatewayError,
    MethodNotAllowed,
    NotAuthenticated,
    RequestTimeout,
)

DELIVERY_PATH = re.compile(r"/v1/sources/[^/]+/datasets/[^/]+/deliveries")
WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


def _flat(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, routers included through ``include_router`` opened up."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield route


def allowed_methods(scope: Scope) -> list[str] | None:
    """The methods the request's path has, if it has it but not with the request's method;
    None if the method is fine or the path is unknown (the router then says 404)."""
    methods: set[str] = set()
    for route in _flat(scope["app"].router.routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return None
        if match is Match.PARTIAL:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods) or None


class BodyGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # a method the path has not: 405 before any token
            allow = allowed_methods(scope)
            if allow is not None:
                refused = MethodNotAllowed(f"{scope['method']} is not a method of this path", allow)
                await error_response(refused, scope["path"])(scope, receive, send)
                return
        if scope["type"] != "http" or scope["method"] in WITHOUT_BODY:
            await self.app(scope, receive, send)
            return
        runtime = scope["app"].state.runtime
        settings = runtime.settings
        try:
            scope.setdefault("state", {})["principal"] = _principal(scope, runtime.verifier)
            delivery = DELIVERY_PATH.fullmatch(scope["path"]) is not None
            limit = settings.max_delivery_bytes if delivery else settings.max_request_bytes
            _check_declared_length(scope, limit)
            timed = _Timed(receive, settings.body_idle_seconds, settings.body_timeout_seconds)
            if delivery:
                await self.app(scope, timed.receive, send)
                return
            body = await timed.read_all(limit)
        except GatewayError as exc:
            await error_response(exc, scope["path"])(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _principal(scope: Scope, verifier: object) -> object:
    if scope["path"].startswith("/console/"):  # the console's forms: its session cookie
        return console_principal(scope["app"].state, header(scope, b"cookie"))
    value = header(scope, b"authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("a bearer token is required (Authorization: Bearer <token>)")
    return verifier.verify(token.strip())  # type: ignore[attr-defined]


def _check_declared_length(scope: Scope, limit: int) -> None:
    declared = header(scope, b"content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise BodyTooLarge("the Content-Length header is not a number")
    if int(declared) > limit:
        raise BodyTooLarge(f"the request body is larger than the limit of {limit} bytes")


class _Timed:
    """``receive`` with an idle bound per chunk and a bound on the whole body."""

    def __init__(self, receive: Receive, idle: float, total: float) -> None:
        self._receive = receive
        self._idle = idle
        self._deadline = time.monotonic() + total

    async def receive(self) -> Message:
        left = self._deadline - time.monotonic()
        try:
            return await asyncio.wait_for(self._receive(), timeout=max(0.0, min(self._idle, left)))
        except TimeoutError:
            raise RequestTimeout(
                "the request body stopped arriving or took too long; nothing of it was kept"
            ) from None

    async def read_all(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise RequestTimeout("the client went away before its body arrived")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the request body is larger than the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay
