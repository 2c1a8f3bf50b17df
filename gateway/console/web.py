"""What every console page shares: templates, the security headers, the session cookie, the
logged-in principal, CSRF checks, and the login through the identity provider.

Login is the authorization code flow with PKCE (RFC 7636) at the first trusted issuer, through
the public client ``console_client_id`` of the trusted issuers file; the access token it yields
is verified on every request by the same verifier as the API, so a console user is exactly the
principal the API would see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.console.session import COOKIE, MAX_AGE, ConsoleSession, SessionCodec
from gateway.console.texts import LANGUAGES, text
from gateway.domain.principals import Principal
from gateway.errors import Forbidden, GatewayError, NotAuthenticated
from gateway.identity.oauth import OAuthClient
from gateway.services.bootstrap import Runtime

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Environment(
    loader=PackageLoader("gateway.console", "templates"),
    autoescape=select_autoescape(["html"]),
)


class LoginRequired(Exception):
    """Raised by a page that needs a logged-in person; answered with a redirect to login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def codec(request: Request) -> SessionCodec:
    value: SessionCodec = request.app.state.console_sessions
    return value


def session_of(request: Request) -> ConsoleSession:
    cached: ConsoleSession | None = getattr(request.state, "console_session", None)
    if cached is None:
        cached = codec(request).open(request.cookies.get(COOKIE))
        request.state.console_session = cached
    return cached


def security_headers(response: Response) -> Response:
    """No inline script, no framing, no referrer to other sites, nothing cached."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes Origin "null"
    response.headers["Cache-Control"] = "no-store"
    return response


def save(response: Response, request: Request, session: ConsoleSession) -> Response:
    """Set the sealed session cookie: HttpOnly, SameSite=Lax (the provider's redirect back must
    carry it), Secure unless the gateway is on a loopback address."""
    host = request.url.hostname or ""
    secure = request.url.scheme == "https" or host not in ("127.0.0.1", "localhost", "::1")
    response.set_cookie(
        COOKIE,
        codec(request).seal(session),
        max_age=MAX_AGE,
        path="/console",
        httponly=True,
        secure=secure,
        samesite="lax",
    )
    return response


def principal(request: Request) -> Principal:
    """The logged-in person, verified now; otherwise off to the login page."""
    session = session_of(request)
    if not session.logged_in() or session.token is None:
        raise LoginRequired(request.url.path)
    try:
        return runtime(request).verifier.verify(session.token)
    except NotAuthenticated:
        raise LoginRequired(request.url.path) from None


def console_principal(state: Any, cookie_header: str | None) -> Principal:
    """The principal of a console request's session cookie, before its body is read (the body
    guard's check for the console's forms)."""
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header or "")
    except CookieError:
        cookies = SimpleCookie()
    morsel = cookies.get(COOKIE)
    codec_: SessionCodec = state.console_sessions
    session = codec_.open(morsel.value if morsel else None)
    if not session.logged_in() or session.token is None:
        raise NotAuthenticated("log in to the console first")
    verified: Principal = state.runtime.verifier.verify(session.token)
    return verified


def check_csrf(request: Request, form: Any) -> None:
    """Every state-changing form carries the session's CSRF token, and a browser's Origin (if
    it sends one) must be the gateway's own."""
    session = session_of(request)
    sent = str(form.get("csrf", ""))
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if not sent or not hmac.compare_digest(sent, session.csrf) or (origin and origin != own):
        raise Forbidden("the form is stale or not from this console; reload the page")


def render(
    request: Request,
    template: str,
    status: int = 200,
    by: Principal | None = None,
    **values: Any,
) -> HTMLResponse:
    session = session_of(request)
    lang = session.lang if session.lang in LANGUAGES else "da"
    page = templates.get_template(template).render(
        t=lambda key: text(key, lang),
        lang=lang,
        csrf=session.csrf,
        by=by,
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(page, status_code=status)
    return security_headers(save(response, request, session))  # type: ignore[return-value]


def _oauth(request: Request) -> tuple[OAuthClient, str]:
    config = runtime(request).verifier.config
    if not config.console_client_id:
        raise NotAuthenticated("no console client is configured at the identity provider")
    return OAuthClient(config.issuers[0].issuer), config.console_client_id


def _redirect_uri(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/console/callback"


def _safe_next(value: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if value and value.startswith("/console/") and "//" not in value and "\\" not in value:
        return value
    return "/console/"


@router.get("/login")
def login(request: Request, next: str | None = None) -> Response:
    session = session_of(request)
    session.state = secrets.token_urlsafe(24)
    session.verifier = secrets.token_urlsafe(48)
    session.next = _safe_next(next)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(session.verifier.encode()).digest())
    oauth, client_id = _oauth(request)
    with oauth:
        endpoint = oauth.metadata["authorization_endpoint"]
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": _redirect_uri(request),
        "scope": "openid gateway",
        "resource": runtime(request).verifier.config.audience,
        "state": session.state,
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    response = RedirectResponse(f"{endpoint}?{urlencode(query)}", status_code=303)
    return security_headers(save(response, request, session))


@router.get("/callback")
def callback(request: Request, code: str = "", state: str = "") -> Response:
    session = session_of(request)
    expected, verifier = session.state, session.verifier
    session.state = session.verifier = None
    if not code or not expected or not verifier or not hmac.compare_digest(state, expected):
        return render(request, "error.html", 400, message="login expired; please log in again")
    oauth, client_id = _oauth(request)
    try:
        with oauth:
            response = oauth.http.post(
                oauth.metadata["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": _redirect_uri(request),
                    "client_id": client_id,
                    "code_verifier": verifier,
                },
            )
    except httpx.HTTPError:
        return render(request, "error.html", 503, message="the identity provider is unreachable")
    if response.status_code != 200:
        return render(request, "error.html", 401, message="the identity provider refused")
    body = response.json()
    token = str(body.get("access_token", ""))
    try:
        runtime(request).verifier.verify(token)
    except GatewayError as exc:
        return render(request, "error.html", exc.status, message=exc.detail)
    session.token = token
    session.expires_at = time.time() + float(body.get("expires_in", 300))
    session.csrf = secrets.token_urlsafe(24)  # a new session: a new CSRF secret
    redirect = RedirectResponse(_safe_next(session.next), status_code=303)
    return security_headers(save(redirect, request, session))


@router.post("/logout")
async def logout(request: Request) -> Response:
    check_csrf(request, await request.form())
    response = RedirectResponse("/console/login-page", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return security_headers(response)


@router.get("/login-page")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.get("/lang/{code}")
def language(request: Request, code: str, next: str | None = None) -> Response:
    session = session_of(request)
    if code in LANGUAGES:
        session.lang = code
    target = _safe_next(next) if next and urlparse(next).netloc == "" else "/console/"
    return security_headers(save(RedirectResponse(target, 303), request, session))
