"""What every console page shares: templates, the security headers, the session cookie, the
logged-in principal, CSRF checks, and the login through the identity provider.

Login is the authorization code flow with PKCE (RFC 7636) at the first trusted issuer, through
the public client ``console_client_id`` of the trusted issuers file; the access token it yields
is verified on every request by the same verifier as the API, so a console user is exactly the
principal the API would see. The session is kept by the gateway
(:mod:`gateway.services.platform.sessions`): the cookie holds a random id; the token is renewed
with the refresh token at least every five minutes, and a change of organisation, unit or
roles ends the session. Logging out ends it here and at the provider (RP-initiated logout).
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

from gateway.console.codes import code, local_minute, rule_explanation
from gateway.console.session import COOKIE, MAX_AGE
from gateway.console.texts import LANGUAGES, text
from gateway.domain.principals import Principal
from gateway.errors import Forbidden, GatewayError, NotAuthenticated
from gateway.identity.oauth import OAuthClient
from gateway.services.platform import sessions
from gateway.services.platform.bootstrap import Runtime
from gateway.services.platform.sessions import Session

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


def session_of(request: Request) -> Session:
    cached: Session | None = getattr(request.state, "console_session", None)
    if cached is None:
        cached = sessions.load(runtime(request).context, request.cookies.get(COOKIE))
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


def save(response: Response, request: Request, session: Session) -> Response:
    """Store the session (if it holds anything worth keeping) and set its cookie: the random
    id only, HttpOnly, SameSite=Lax (the provider's redirect back must carry it), Secure
    unless the gateway is on a loopback address."""
    if session.record is None and session.state.state is None:
        return response  # a visitor who has not begun to log in: nothing to keep
    sessions.save(runtime(request).context, session)
    host = request.url.hostname or ""
    secure = request.url.scheme == "https" or host not in ("127.0.0.1", "localhost", "::1")
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=MAX_AGE,
        path="/console",
        httponly=True,
        secure=secure,
        samesite="lax",
    )
    return response


def _renew(rt: Runtime, session: Session) -> Principal | None:
    """Renew the access token with the refresh token; the principal it names, or None if the
    provider refused (the session then ends) or the person's roles changed (likewise)."""
    refresh = session.state.refresh_token
    config = rt.verifier.config
    if not refresh or not config.console_client_id:
        sessions.end(rt.context, session, "token-expired", by=None)
        return None
    try:
        with OAuthClient(config.issuers[0].issuer) as oauth:
            answer = oauth.http.post(
                oauth.metadata["token_endpoint"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh,
                    "client_id": config.console_client_id,
                },
            )
    except httpx.HTTPError:
        raise NotAuthenticated("the identity provider cannot be reached; try again") from None
    if answer.status_code != 200:
        sessions.end(rt.context, session, "provider-ended", by=None)
        return None
    body = answer.json()
    token = str(body.get("access_token", ""))
    try:
        principal = rt.verifier.verify(token)
    except GatewayError:
        sessions.end(rt.context, session, "provider-ended", by=None)
        return None
    if not sessions.renewed(rt.context, session, principal):
        return None
    now = time.time()
    session.state.token = token
    session.state.refresh_token = str(body.get("refresh_token") or refresh)
    session.state.token_expires_at = now + float(body.get("expires_in", 300))
    session.state.checked_at = now
    sessions.save(rt.context, session)
    return principal


def authenticated(rt: Runtime, session: Session) -> Principal | None:
    """The session's person, verified now: the token renewed when it is about to expire or
    was last renewed more than five minutes ago (so a role change shows); None if there is
    no live session."""
    if not session.logged_in or session.state.token is None:
        return None
    now = time.time()
    if (
        now > session.state.token_expires_at - 30
        or now - session.state.checked_at > sessions.RECHECK
    ):
        return _renew(rt, session)
    try:
        return rt.verifier.verify(session.state.token)
    except NotAuthenticated:
        return _renew(rt, session)


def principal(request: Request) -> Principal:
    """The logged-in person, verified now; otherwise off to the login page."""
    verified = authenticated(runtime(request), session_of(request))
    if verified is None:
        raise LoginRequired(request.url.path)
    return verified


def console_principal(state: Any, cookie_header: str | None) -> Principal:
    """The principal of a console request's session cookie, before its body is read (the body
    guard's check for the console's forms)."""
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header or "")
    except CookieError:
        cookies = SimpleCookie()
    morsel = cookies.get(COOKIE)
    rt: Runtime = state.runtime
    session = sessions.load(rt.context, morsel.value if morsel else None)
    verified = authenticated(rt, session)
    if verified is None:
        raise NotAuthenticated("log in to the console first")
    return verified


def check_csrf(request: Request, form: Any) -> None:
    """Every state-changing form carries the session's CSRF token, and a browser's Origin (if
    it sends one) must be the gateway's own."""
    session = session_of(request)
    sent = str(form.get("csrf", ""))
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if not sent or not hmac.compare_digest(sent, session.state.csrf) or (origin and origin != own):
        raise Forbidden("the form is stale or not from this console; reload the page")


def render(
    request: Request,
    template: str,
    status: int = 200,
    by: Principal | None = None,
    **values: Any,
) -> HTMLResponse:
    session = session_of(request)
    lang = session.state.lang if session.state.lang in LANGUAGES else "da"
    page = templates.get_template(template).render(
        t=lambda key: text(key, lang),
        code=lambda kind, value: code(kind, value, lang),
        explain=lambda rule, outcome: rule_explanation(rule, outcome, lang),
        when=local_minute,
        lang=lang,
        csrf=session.state.csrf,
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
    state = session.state
    state.state = secrets.token_urlsafe(24)
    state.verifier = secrets.token_urlsafe(48)
    state.next = _safe_next(next)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(state.verifier.encode()).digest())
    oauth, client_id = _oauth(request)
    with oauth:
        endpoint = oauth.metadata["authorization_endpoint"]
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": _redirect_uri(request),
        "scope": "openid gateway",
        "resource": runtime(request).verifier.config.audience,
        "state": state.state,
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    response = RedirectResponse(f"{endpoint}?{urlencode(query)}", status_code=303)
    return security_headers(save(response, request, session))


@router.get("/callback")
def callback(request: Request, code: str = "", state: str = "") -> Response:
    session = session_of(request)
    expected, verifier = session.state.state, session.state.verifier
    session.state.state = session.state.verifier = None
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
    rt = runtime(request)
    try:
        verified = rt.verifier.verify(token)
    except GatewayError as exc:
        return render(request, "error.html", exc.status, message=exc.detail)
    new = sessions.begin(
        rt.context,
        session,
        verified,
        token=token,
        refresh_token=body.get("refresh_token"),
        expires_in=float(body.get("expires_in", 300)),
    )
    request.state.console_session = new
    redirect = RedirectResponse(_safe_next(new.state.next), status_code=303)
    return security_headers(save(redirect, request, new))


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session here (a copy of the cookie opens nothing any more) and at the
    identity provider (RP-initiated logout), then back to the login page."""
    check_csrf(request, await request.form())
    session = session_of(request)
    rt = runtime(request)
    by = authenticated(rt, session) if session.logged_in else None
    sessions.end(rt.context, session, "logout", by=by)
    back = f"{request.url.scheme}://{request.url.netloc}/console/login-page"
    target = "/console/login-page"
    config = rt.verifier.config
    if session.logged_in and config.console_client_id:
        try:
            with OAuthClient(config.issuers[0].issuer) as oauth:
                end_session = oauth.metadata.get("end_session_endpoint")
        except (httpx.HTTPError, GatewayError):
            end_session = None
        if end_session:
            # The client id names the session to end (an ID token hint is optional in RP-
            # initiated logout, and some providers cannot check their own after a key
            # rotation); the provider asks the person to confirm, then sends them back.
            target = f"{end_session}?" + urlencode(
                {"post_logout_redirect_uri": back, "client_id": config.console_client_id}
            )
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return security_headers(response)


@router.get("/login-page")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.get("/lang/{code}")
def language(request: Request, code: str, next: str | None = None) -> Response:
    session = session_of(request)
    if code in LANGUAGES:
        session.state.lang = code
    target = _safe_next(next) if next and urlparse(next).netloc == "" else "/console/"
    return security_headers(save(RedirectResponse(target, 303), request, session))
