"""The interactive API documentation, served by the gateway itself, and the OpenAPI document's
security schemes.

The ministries' networks have no internet, so Swagger UI and ReDoc come from the gateway
(the assets of the ``fastapi-offline`` package, served under ``/docs/assets``), never a CDN.
The Authorize button works against the trusted identity provider: a person logs in by
authorization code with PKCE through the public client ``docs_client_id`` of the trusted issuers
file, or pastes a bearer token (a machine's, from client credentials).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gateway.domain import identifiers
from gateway.domain.permissions import PUBLIC
from gateway.identity.issuers import IdentityConfig

ASSETS = "/docs/assets"
REDIRECT = "/docs/oauth2-redirect"


def _provider_endpoints(config: IdentityConfig) -> dict[str, Any] | None:
    """The first trusted issuer's discovery document, if it can be read now."""
    issuer = config.issuers[0].issuer
    try:
        response = httpx.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document
    except (httpx.HTTPError, ValueError):
        return None


def security_schemes(config: IdentityConfig) -> dict[str, Any]:
    """Bearer always; OAuth2 (authorization code with PKCE for people, client credentials for
    machines) with the first trusted issuer's endpoints when its discovery answers."""
    schemes: dict[str, Any] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of a trusted identity provider whose 'aud' is "
            f"'{config.audience}'.",
        }
    }
    endpoints = _provider_endpoints(config)
    if endpoints is not None:
        scopes = {"openid": "who you are", "gateway": "use the gateway"}
        schemes["oauth2"] = {
            "type": "oauth2",
            "description": "People: log in at the identity provider (code flow with PKCE). "
            "Machines: client credentials with a private_key_jwt assertion (RFC 7523), as "
            "'gateway login --client-key' does.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": endpoints["authorization_endpoint"],
                    "tokenUrl": endpoints["token_endpoint"],
                    "scopes": scopes,
                },
                "clientCredentials": {
                    "tokenUrl": endpoints["token_endpoint"],
                    "scopes": {"gateway": "use the gateway"},
                },
            },
        }
    return schemes


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; 'type' is a page the gateway serves "
    "(/problems/<code>). Extension members: 'errors' (which field, what problem, suggestions), "
    "'decision' (a policy refusal's rules and citations), 'failed' (disclosure control), "
    "'missing' (undelivered inputs), 'needs_roles' (a refusal for want of a role: the roles "
    "that would do).",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}
_PROBLEMS = {
    "401": "No valid bearer token (the detail names the failed check)",
    "403": "Not allowed for this organisation or role, or refused by the legal-basis policy "
    "or disclosure control",
    "404": "No such object, or none the caller may see",
    "408": "The body stopped arriving or took too long",
    "409": "Not possible in the object's current state",
    "410": "The content was erased under its retention rule (its record and audit entries stay)",
    "413": "The body is larger than accepted",
    "422": "The request is malformed (fields named in 'errors')",
    "503": "A dependency is away for now (see Retry-After)",
    "507": "No space to store the work; nothing partial was kept",
}


def _document_problems(operation: dict[str, Any], path: str, method: str, *, public: bool) -> None:
    """Every problem status the route can answer with, each as problem+json."""
    statuses = {"422", "503"}
    if not public:
        statuses |= {"401", "403"}
    if "{" in path:
        statuses |= {"404", "409"}
    if method in ("post", "put", "patch"):
        statuses |= {"408", "409", "413", "507"}
    if "{release_id}" in path or "{delivery_id}" in path or path.endswith("/deliveries"):
        statuses |= {"410"}  # erased under a retention rule
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses[status] = {
            "description": _PROBLEMS[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }


# The shapes the use cases check every identifier against (gateway.domain.identifiers), so a
# client generating requests from the document sends what the gateway accepts.
_PATTERNS = {
    "period": identifiers.PERIOD,
    "extract_id": identifiers.EXTRACT_ID,
    "release_id": identifiers.RELEASE_ID,
    "delivery_id": identifiers.DELIVERY_ID,
    "hold_id": identifiers.HOLD_ID,
    "request_id": identifiers.DELETION_ID,
    "source": identifiers.CATALOGUE_ID,
    "dataset": identifiers.CATALOGUE_ID,
    "recipient": identifiers.CATALOGUE_ID,
    "report_id": identifiers.CATALOGUE_ID,
    "actor": identifiers.ACTOR_FILTER,
}


def _document_patterns(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        pattern = _PATTERNS.get(parameter["name"])
        if pattern is None:
            continue
        schema = parameter.setdefault("schema", {})
        schema.pop("anyOf", None)  # an optional query parameter is absent, never null
        schema.update(type="string", pattern=f"^(?:{pattern.pattern})$")


def install(app: FastAPI, config: IdentityConfig) -> None:
    """Offline docs at ``/docs`` and ``/redoc``, and the security schemes in ``/openapi.json``
    (built on first request, so a provider that is down at start does not stop the gateway)."""
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemes = security_schemes(config)
            components = schema.setdefault("components", {})
            components["securitySchemes"] = schemes
            components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
            components["schemas"].pop("HTTPValidationError", None)
            components["schemas"].pop("ValidationError", None)
            requirement: list[dict[str, list[str]]] = [{name: []} for name in schemes]
            for path, methods in schema.get("paths", {}).items():
                for method, operation in methods.items():
                    public = operation.get("x-use-case") in PUBLIC
                    if not public:
                        operation["security"] = requirement
                    _document_problems(operation, path, method, public=public)
                    _document_patterns(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url=REDIRECT,
            init_oauth={
                "clientId": config.docs_client_id or "",
                "usePkceWithAuthorizationCodeGrant": True,
                "scopes": "openid gateway",
                "additionalQueryStringParams": {"resource": config.audience},
            },
        )

    @app.get(REDIRECT, include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
