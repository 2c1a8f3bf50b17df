"""Identity for the tests: the real development provider (oidc-provider on Node.js, its own
process, one per test session) and, for tokens no honest provider would issue, a
``StaticIssuer``: a real HTTP server publishing discovery and a JWKS, whose private key the
test holds and signs whatever claims it wants with (malformed claims, foreign organisations,
odd spellings). Both are reached by the gateway over HTTP exactly as a production provider.
"""

from __future__ import annotations

import atexit
import json
import secrets
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt

from gateway.domain.policy_files import load_catalogue
from gateway.identity.client_keys import new_signing_jwk, public_jwk
from gateway.identity.dev_provider import Person, ProviderProcess, ProviderState
from gateway.identity.dev_setup import (
    ACCESS_TOKEN_TYPE,
    AUDIENCE,
    CONSOLE_CLIENT,
    CONSOLE_LOGGED_OUT,
    CONSOLE_REDIRECT,
    DEV_CLAIMS,
    DEV_PEOPLE,
    DOCS_CLIENT,
    DOCS_REDIRECT,
    organisations,
)
from gateway.identity.dev_tokens import CLI_CLIENT, DevTokens
from gateway.identity.issuers import (
    ClaimMapping,
    IdentityConfig,
    TrustedIssuer,
    write_identity_config,
)
from gateway.identity.oauth import TokenSet

POLICIES = Path(__file__).resolve().parent.parent / "policies"
# Organisations the tests act for beyond the catalogue's sources and recipients.
TEST_ORGANISATIONS = ("star.dk", "x", "dpo", "ops", "hub")
TEST_PEOPLE = (
    Person("anna", "star-analyse", ("recipient", "approver"), unit="analyse"),
    Person("bo", "star-analyse", ("approver",), unit="analyse"),
    Person("carl", "star-analyse", ("approver",), unit="jura"),
    Person("dina", "hub-legal", ("approver",), unit="legal"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestProvider:
    """The session's development provider and a token source for it."""

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="gateway-test-idp-"))
        self.state = ProviderState(folder / "state")
        self.state.init(issuer=f"http://127.0.0.1:{free_port()}", audience=AUDIENCE)
        self.state.add_public_client(CLI_CLIENT)
        self.state.add_public_client(DOCS_CLIENT, redirect_uris=[DOCS_REDIRECT])
        self.state.add_public_client(
            CONSOLE_CLIENT,
            redirect_uris=[CONSOLE_REDIRECT],
            post_logout_redirect_uris=[CONSOLE_LOGGED_OUT],
        )
        for person in (*DEV_PEOPLE, *TEST_PEOPLE):
            self.state.add_person(person)
        self.process = ProviderProcess(self.state, int(self.state.issuer.rsplit(":", 1)[1]))
        self.process.start()
        self.tokens = DevTokens(self.state, AUDIENCE)
        self._people: dict[str, TokenSet] = {}

    @property
    def issuer(self) -> str:
        return self.state.issuer

    def close(self) -> None:
        self.tokens.oauth.close()
        self.process.stop()

    def organisation_of(self, who: str) -> str:
        """Tests name principals as before: an organisation id, or ``name@organisation``."""
        return who.rsplit("@", 1)[-1]

    def token(self, who: str, *roles: str, unit: str | None = None, alg: str | None = None) -> str:
        """A machine client's token; with the approver role a person's instead (approving is
        a person's act), from the session's static issuer, named after ``who``."""
        organisation = self.organisation_of(who)
        if "approver" in roles:
            person = who.split("@", 1)[0] if "@" in who else f"{organisation}-person"
            claims = {"organisation": organisation, "sub": person, "roles": sorted(roles)}
            if unit:
                claims["unit"] = unit
            return signer().sign(claims)
        return self.tokens.token(organisation, *roles, unit=unit, alg=alg)

    def person(self, login: str) -> str:
        """A person's access token, by the device flow through the provider's own pages; reused
        until a minute before it expires (they live five minutes; a long run outlives them)."""
        held = self._people.get(login)
        if held is None or not held.fresh():
            held = self._people[login] = self.tokens.person_token(login)
        return held.access_token

    def trusted_issuer(self, **overrides: Any) -> TrustedIssuer:
        catalogue = load_catalogue(POLICIES)
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "organisations": frozenset([*organisations(catalogue), *TEST_ORGANISATIONS]),
            "claims": DEV_CLAIMS,
            "token_type": ACCESS_TOKEN_TYPE,
        }
        values.update(overrides)
        return TrustedIssuer(**values)


_provider: TestProvider | None = None
_lock = threading.Lock()


def provider() -> TestProvider:
    """The session's provider, started on first use and stopped when the session ends."""
    global _provider
    with _lock:
        if _provider is None:
            _provider = TestProvider()
            atexit.register(_provider.close)
        return _provider


def write_trusted_issuers(path: Path, *extra: TrustedIssuer, **config: Any) -> None:
    """The gateway's trusted issuers file for a test: the session's provider, the session's
    :func:`signer` (for tokens of odd shapes), and any others."""
    trusted = provider().trusted_issuer()
    issuers = (trusted, signer().trusted(tuple(trusted.organisations)), *extra)
    config.setdefault("docs_client_id", DOCS_CLIENT)
    config.setdefault("console_client_id", CONSOLE_CLIENT)
    write_identity_config(path, IdentityConfig(audience=AUDIENCE, issuers=issuers, **config))


_signer: StaticIssuer | None = None


def signer() -> StaticIssuer:
    """The session's static issuer, trusted by every test gateway for a few organisations."""
    global _signer
    with _lock:
        if _signer is None:
            _signer = StaticIssuer(("EC", "OKP", "RSA"))
            atexit.register(_signer.close)
        return _signer


class StaticIssuer:
    """A minimal issuer over real HTTP (discovery + JWKS) whose key the test holds."""

    def __init__(self, kinds: tuple[str, ...] = ("EC",)) -> None:
        self.keys = [new_signing_jwk(kind) for kind in kinds]
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}/static-{secrets.token_hex(4)}"
        self.requests: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = {"issuer": issuer.issuer, "jwks_uri": f"{issuer.issuer}/jwks"}
                elif self.path.endswith("/jwks"):
                    body = {"keys": [public_jwk(k) for k in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def trusted(self, organisations: tuple[str, ...], **overrides: Any) -> TrustedIssuer:
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "organisations": frozenset(organisations),
            "claims": ClaimMapping(unit="unit"),
        }
        values.update(overrides)
        return TrustedIssuer(**values)

    def sign(self, claims: dict[str, Any], *, key: int = 0, **header: Any) -> str:
        jwk = self.keys[key]
        algorithm = {"EC": "ES256", "OKP": "EdDSA", "RSA": "RS256"}[jwk["kty"]]
        algorithm = header.pop("alg", algorithm)
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "someone",
            "client_id": "static-test-client",
            "jti": secrets.token_hex(8),
            "organisation": "star-analyse",
            "roles": ["recipient"],
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not ...}
        signing = jwt.PyJWK(jwk, algorithm=algorithm)
        # Signed as bytes: PyJWT's encode refuses some claims of a wrong shape (an iss that is
        # not a string), and the tests need to send exactly those.
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers = {"kid": jwk["kid"], "typ": "JWT", **header}
        return jwt.api_jws.encode(payload, signing, algorithm=algorithm, headers=headers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
