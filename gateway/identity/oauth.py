"""Getting tokens from an OpenID provider, as the CLI and data owners' scripts do.

Three grants, all standard: client credentials with a ``private_key_jwt`` assertion
(RFC 7523) for machines; the device authorization grant (RFC 8628) for people on a terminal;
refresh tokens to renew a person's access without logging in again. Every request names the
gateway as the resource (RFC 8707), so the token's ``aud`` is the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.errors import NotAuthenticated, ServiceUnavailable
from gateway.identity.client_keys import ASSERTION_TYPE, ClientKey

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_at: float
    refresh_token: str | None = None

    def fresh(self, margin: float = 60.0) -> bool:
        return time.time() + margin < self.expires_at

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> TokenSet:
        return cls(
            str(body["access_token"]),
            time.time() + float(body.get("expires_in", 300)),
            body.get("refresh_token"),
        )


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    interval: float
    expires_at: float


class OAuthClient:
    """One provider's endpoints, from its discovery document."""

    def __init__(self, issuer: str, *, http: httpx.Client | None = None) -> None:
        self.issuer = issuer
        self.http = http or httpx.Client(timeout=30.0)
        try:
            response = self.http.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
            response.raise_for_status()
            self.metadata: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            self.http.close()
            raise ServiceUnavailable(
                f"the identity provider at {issuer} cannot be reached ({type(exc).__name__})"
            ) from None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OAuthClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = self.http.post(self.metadata["token_endpoint"], data=form)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the identity provider cannot be reached ({type(exc).__name__})"
            ) from None
        body: dict[str, Any] = response.json() if response.content else {}
        if response.status_code != 200:
            error = body.get("error", f"HTTP {response.status_code}")
            raise NotAuthenticated(
                f"the identity provider refused: {error}", provider_error=str(error)
            )
        return body

    def client_credentials(self, key: ClientKey, resource: str) -> TokenSet:
        """A machine's token: no secret is sent, only a one-time signed assertion."""
        return TokenSet.from_response(
            self._token_request(
                {
                    "grant_type": "client_credentials",
                    "client_id": key.client_id,
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": key.assertion(self.metadata["token_endpoint"]),
                    "resource": resource,
                    "scope": "gateway",
                }
            )
        )

    def start_device_login(self, client_id: str, resource: str) -> DeviceCode:
        endpoint = self.metadata.get("device_authorization_endpoint")
        if not endpoint:
            raise NotAuthenticated("this identity provider offers no device login")
        response = self.http.post(
            endpoint,
            data={
                "client_id": client_id,
                "scope": "openid offline_access gateway",
                "resource": resource,
            },
        )
        if response.status_code != 200:
            raise NotAuthenticated("the identity provider refused the device login request")
        body = response.json()
        return DeviceCode(
            body["device_code"],
            body["user_code"],
            body["verification_uri"],
            body.get("verification_uri_complete"),
            float(body.get("interval", 5)),
            time.time() + float(body.get("expires_in", 600)),
        )

    def finish_device_login(
        self,
        code: DeviceCode,
        client_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> TokenSet:
        """Poll until the person has confirmed in a browser (RFC 8628, section 3.4)."""
        interval = code.interval
        while time.time() < code.expires_at:
            try:
                body = self._token_request(
                    {
                        "grant_type": DEVICE_GRANT,
                        "device_code": code.device_code,
                        "client_id": client_id,
                    }
                )
            except NotAuthenticated as exc:
                error = exc.extra.get("provider_error")
                if error == "authorization_pending":
                    sleep(interval)
                    continue
                if error == "slow_down":
                    interval += 5
                    sleep(interval)
                    continue
                raise
            return TokenSet.from_response(body)
        raise NotAuthenticated("the device login expired before it was confirmed")

    def refresh(self, refresh_token: str, client_id: str, resource: str) -> TokenSet:
        return TokenSet.from_response(
            self._token_request(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": client_id,
                    "resource": resource,
                }
            )
        )
