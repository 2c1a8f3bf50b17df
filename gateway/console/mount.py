"""Mount the console on the app: its pages, its static assets, and the answer to a page that
needs a login (a redirect to the provider's login)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.console import ledgers, lookup, pages, retention_pages  # noqa: F401 - registers the pages on the router
from gateway.console.web import LoginRequired, principal, render, router, security_headers
from gateway.errors import Forbidden, GatewayError

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(router)
    app.state.console_error_page = error_page

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        target = f"/console/login?next={quote(exc.next_path, safe='/')}"
        return security_headers(RedirectResponse(target, status_code=303))


ROLES_DA = {
    "source": "dataejer",
    "recipient": "modtager",
    "approver": "godkender",
    "auditor": "revisor eller databeskyttelsesrådgiver",
    "operator": "drift",
}


def error_page(request: Request, exc: GatewayError) -> Response:
    """A refusal or fault on a console page, as a page in the console's words, with its
    navigation (for a logged-in person): a refusal for want of a role names the roles."""
    try:
        by = principal(request)
    except (LoginRequired, GatewayError):
        by = None
    roles = exc.extra.get("needs_roles") if isinstance(exc, Forbidden) else None
    return render(
        request,
        "error.html",
        exc.status,
        by=by,
        message=exc.detail,
        needs=[(ROLES_DA.get(r, r), r) for r in roles] if roles else None,
    )
