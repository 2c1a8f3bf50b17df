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
    sessions,
    tlog,
)
from gateway.config import Settings
from gateway.console import mount as console
from gateway.logging import configure_logging
from gateway.services.bootstrap import check_witness, open_runtime
from gateway.services.janitor import Janitor
from gateway.services.subject_indexer import SubjectIndexer
from gateway.services.witnessing import Witnessing


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Start-up fails loudly (policy, key or database problems) before serving."""
    settings = settings or Settings()
    configure_logging(settings)
    runtime = open_runtime(settings)
    try:
        check_witness(runtime.store, runtime.context.checkpointer)
        runtime.verifier  # noqa: B018 - the trusted issuers file, checked before serving
    except BaseException:
        runtime.close()
        raise
    indexer = SubjectIndexer(runtime.store)
    ctx = runtime.context
    janitor = Janitor(ctx.store, ctx.blobs, ctx.work, settings.sweep_interval_seconds)
    janitor.sweep_once()  # what a crash left behind, removed (and said) before serving

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        indexer.start()  # large deliveries' subject keys, into the lookup index
        janitor.start()
        if isinstance(ctx.witnessing, Witnessing):
            ctx.witnessing.start()  # checkpoints to the witnesses, cosignatures back
        yield
        janitor.stop()
        indexer.stop()

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
    app.state.subject_indexer = indexer
    problems.install(app)
    docs.install(app, runtime.verifier.config)
    app.include_router(problem_pages.router)
    console.install(app, runtime)
    for module in (deliveries, catalogue, extracts, reports, audit, tlog, health, sessions):
        app.include_router(module.router)

    app.add_middleware(BodyGuard)  # inner: token and bounds before any body is read
    app.add_middleware(RequestContext)  # outer: ids, headers, logs and the last-resort answer
    return app
