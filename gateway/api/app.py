"""The ASGI application: runtime on ``app.state``, routers, and the problem handlers."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response

from gateway import __version__
from gateway.api import metrics, problems
from gateway.api.routes import audit, catalogue, deliveries, extracts, health, reports
from gateway.config import Settings
from gateway.logging import configure_logging
from gateway.services.bootstrap import open_runtime
from gateway.services.subject_indexer import SubjectIndexer


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Start-up fails loudly (policy, key or database problems) before serving."""
    settings = settings or Settings()
    configure_logging(settings)
    runtime = open_runtime(settings)
    indexer = SubjectIndexer(runtime.store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        indexer.start()  # large deliveries' subject keys, into the lookup index
        yield
        indexer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="The gateway",
        version=__version__,
        description="Privacy-preserving data exchange hub: deliveries, legal-basis policies, "
        "pseudonymised extracts and a tamper-evident audit trail.",
    )
    app.state.runtime = runtime
    app.state.subject_indexer = indexer
    problems.install(app)
    for module in (deliveries, catalogue, extracts, reports, audit, health):
        app.include_router(module.router)

    log = structlog.get_logger("gateway.http")

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await call_next(request)
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")  # ids stay out of the labels
            metrics.REQUEST_SECONDS.labels(request.method, template, response.status_code).observe(
                time.perf_counter() - started
            )
            # Paths carry ids only (CPR goes in bodies, never in URLs), so they are safe to log.
            log.info(
                "request", method=request.method, path=request.url.path, status=response.status_code
            )
        response.headers["X-Request-ID"] = request_id
        return response

    return app
