"""The API documentation works on a closed network: every asset from the gateway itself, the
OpenAPI document declares how to authenticate, and the Authorize button's code flow with PKCE
works against the real provider from the gateway's origin."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from gateway.domain.permissions import PUBLIC
from gateway.identity.dev_setup import AUDIENCE, DOCS_CLIENT
from gateway.identity.dev_tokens import _forms
from tests.conftest import Gateway
from tests.identity import bearer, provider


def test_docs_pages_use_only_the_gateways_own_assets(served: Gateway) -> None:
    for page in ("/docs", "/redoc"):
        html = served.client.get(page)
        assert html.status_code == 200
        references = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        references += re.findall(r"url: '([^']+)'", html.text)
        assert references, page
        assert all(ref.startswith("/") for ref in references), references
        assert "cdn" not in html.text and "googleapis" not in html.text
        for ref in references:
            if ref.startswith("/docs/assets/"):
                assert served.client.get(ref).status_code == 200, ref
    assert served.client.get("/docs/oauth2-redirect").status_code == 200


def test_openapi_declares_bearer_and_oauth2_on_every_protected_route(served: Gateway) -> None:
    spec = served.client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    flows = schemes["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == f"{provider().issuer}/token"
    assert flows["authorizationCode"]["authorizationUrl"] == f"{provider().issuer}/auth"
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if operation["x-use-case"] in PUBLIC:
                assert "security" not in operation, (method, path)
            else:
                assert operation["security"] == [{"bearer": []}, {"oauth2": []}], (method, path)
            for parameter in operation.get("parameters", []):
                if parameter["name"] in ("period", "extract_id", "release_id", "source"):
                    assert parameter["schema"]["pattern"].startswith("^"), (path, parameter)


def test_the_authorize_buttons_code_flow_works_from_the_gateways_origin(served: Gateway) -> None:
    """What Swagger UI does when a person presses Authorize: code flow with PKCE at the
    provider, redirect back to the gateway's /docs/oauth2-redirect, then the token request
    from the gateway's origin (CORS)."""
    origin = str(served.client.base_url).rstrip("/")
    redirect = f"{origin}/docs/oauth2-redirect"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "response_type": "code",
        "client_id": DOCS_CLIENT,
        "redirect_uri": redirect,
        "scope": "openid gateway",
        "resource": AUDIENCE,
        "state": "s",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(f"{provider().issuer}/auth?{urlencode(query)}")
        for _ in range(6):
            if str(page.url).startswith(redirect):
                break
            action, inputs = _forms(page.text)[0]
            if "login" in inputs:
                inputs.update(login="dpo", password="any")
            page = browser.post(str(page.url.join(action)), data=inputs)
        code = parse_qs(urlparse(str(page.url)).query)["code"][0]
    token = httpx.post(
        f"{provider().issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": DOCS_CLIENT,
            "code_verifier": verifier,
        },
        headers={"Origin": origin},
    )
    assert token.status_code == 200, token.text
    assert token.headers["access-control-allow-origin"] == origin
    access = token.json()["access_token"]
    assert served.client.get("/v1/releases", headers=bearer(access)).status_code == 200


def test_every_problem_type_is_a_page_the_gateway_serves(served: Gateway) -> None:
    from gateway.api.problem_pages import EXPLANATIONS, codes

    assert codes() <= set(EXPLANATIONS), codes() - set(EXPLANATIONS)
    for code in codes():
        page = served.client.get(f"/problems/{code}")
        assert page.status_code == 200 and "What to do" in page.text, code
    refused = served.client.get("/v1/extracts")  # no token
    assert refused.json()["type"] == "/problems/not-authenticated"
    assert served.client.get(refused.json()["type"]).status_code == 200
    assert served.client.get("/problems/no-such-thing").status_code == 404
