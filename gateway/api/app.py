"""The ASGI application: runtime on ``app.state``, routers, and the problem handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import __version__
from gateway.api import docs, problem_pages, problems
from gateway.api.body_guard import BodyGuard
from gateway.api.request_context import RequestContext
from gateway.api.routes import (
    audit,
    catalogue,
    deliveries,
    extracts,
    health,
    reports,
    retention,
    sessions,
    tlog,
)
from gateway.config import Settings
from gateway.console import mount as console
from gateway.logging import configure_logging
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.workers import Workers


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Start-up fails loudly (policy, key or database problems) before serving."""
    settings = settings or Settings()
    configure_logging(settings)
    runtime = open_runtime(settings)
    try:
        runtime.check_before_serving()
    except BaseException:
        runtime.close()
        raise
    workers = Workers(runtime)
    workers.sweep_once()  # what a crash left behind, removed (and said) before serving

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        workers.start()
        yield
        workers.stop()

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # served offline by gateway.api.docs
        redoc_url=None,
        title="The gateway",
        version=__version__,
        description="Privacy-preserving data exchange hub: deliveries, legal-basis policies, "
        "pseudonymised extracts and a tamper-evident audit trail.",
    )
    app.state.runtime = runtime
    app.state.workers = workers
    problems.install(app)
    docs.install(app, runtime.verifier.config)
    app.include_router(problem_pages.router)
    console.install(app)
    for module in (
        deliveries,
        catalogue,
        extracts,
        reports,
        retention,
        audit,
        tlog,
        health,
        sessions,
    ):
        app.include_router(module.router)

    app.add_middleware(BodyGuard)  # inner: token and bounds before any body is read
    app.add_middleware(RequestContext)  # outer: ids, headers, logs and the last-resort answer
    return app
