"""Mount the console on the app: its pages, its static assets, and the answer to a page that
needs a login (a redirect to the provider's login)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.console import ledgers, pages, retention_pages  # noqa: F401 - registers the pages on the router
from gateway.console.web import LoginRequired, render, router, security_headers
from gateway.errors import GatewayError

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(router)
    app.state.console_error_page = error_page

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        target = f"/console/login?next={quote(exc.next_path, safe='/')}"
        return security_headers(RedirectResponse(target, status_code=303))


def error_page(request: Request, exc: GatewayError) -> Response:
    """A refusal or fault on a console page, as a page: what happened, in words."""
    return render(request, "error.html", exc.status, message=exc.detail)
