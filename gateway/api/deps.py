"""Request dependencies: the runtime, and the principal from the bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.domain.principals import Principal
from gateway.errors import NotAuthenticated
from gateway.services.context import Context
from gateway.services.platform.bootstrap import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_context(request: Request) -> Context:
    return get_runtime(request).context


def get_principal(request: Request) -> Principal:
    verified: Principal | None = getattr(request.state, "principal", None)
    if verified is not None:  # verified before the body was read (gateway.api.body_guard)
        return verified
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("a bearer token is required (Authorization: Bearer <token>)")
    return get_runtime(request).verifier.verify(token.strip())


Ctx = Annotated[Context, Depends(get_context)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
