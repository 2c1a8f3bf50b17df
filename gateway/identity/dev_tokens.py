"""Tokens from the running development provider, for the demo, the tests and the benchmarks.

Machines: a client is registered at the provider (OpenID Connect Dynamic Client Registration,
with the provider's initial access token) with its organisation, roles and public key, then
gets its tokens by client credentials with ``private_key_jwt``, exactly as a data owner's
script would. People: the device flow, with the provider's own login and consent pages filled
in as a person would in a browser (the development provider accepts any password).
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field

import httpx

from gateway.errors import ConfigurationError
from gateway.identity.client_keys import ClientKey, new_signing_jwk, public_jwk
from gateway.identity.dev_provider import ProviderState
from gateway.identity.oauth import OAuthClient, TokenSet

CLI_CLIENT = "gateway-cli"  # the public client the CLI's device login uses


def _forms(page: str) -> list[tuple[str, dict[str, str]]]:
    found = []
    for form in re.finditer(r"<form([^>]*)>(.*?)</form>", page, re.S):
        action = dict(re.findall(r'(\w+)="([^"]*)"', form[1])).get("action", "")
        inputs: dict[str, str] = {}
        for tag in re.finditer(r"<(?:input|button)([^>]*)>", form[2]):
            attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag[1]))
            if "name" in attrs:
                inputs[attrs["name"]] = html.unescape(attrs.get("value", ""))
        found.append((html.unescape(action), inputs))
    return found


def confirm_in_browser(url: str, login: str, *, steps: int = 10) -> None:
    """Do what a person does at the provider's pages: confirm the code, log in, consent."""
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(url)
        for _ in range(steps):
            forms = _forms(page.text)
            if not forms:
                if "success" in page.text.lower():
                    return
                break
            action, inputs = forms[0]
            if "login" in inputs:
                inputs.update(login=login, password="development")  # noqa: S106
            page = browser.post(str(page.url.join(action)), data=inputs)
    raise ConfigurationError("the development provider's login pages did not lead to success")


@dataclass
class DevTokens:
    """Registers clients on demand and caches their tokens (thread-safe)."""

    state: ProviderState
    resource: str
    _clients: dict[tuple[object, ...], ClientKey] = field(default_factory=dict)
    _tokens: dict[tuple[object, ...], TokenSet] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _oauth: OAuthClient | None = None

    @property
    def oauth(self) -> OAuthClient:
        if self._oauth is None:
            self._oauth = OAuthClient(self.state.issuer)
        return self._oauth

    def client(
        self,
        organisation: str,
        roles: tuple[str, ...],
        *,
        unit: str | None = None,
        alg: str | None = None,
    ) -> ClientKey:
        """A registered machine client of ``organisation`` holding ``roles``."""
        key = (organisation, tuple(sorted(roles)), unit, alg)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._register(organisation, roles, unit, alg)
            return self._clients[key]

    def _register(
        self, organisation: str, roles: tuple[str, ...], unit: str | None, alg: str | None
    ) -> ClientKey:
        jwk = new_signing_jwk()
        metadata: dict[str, object] = {
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks": {"keys": [public_jwk(jwk)]},
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "organisation": organisation,
            "roles": sorted(roles),
        }
        if unit:
            metadata["unit"] = unit
        if alg:
            metadata["access_token_alg"] = alg
        response = self.oauth.http.post(
            self.oauth.metadata["registration_endpoint"],
            json=metadata,
            headers={"Authorization": f"Bearer {self.state.settings['initial_access_token']}"},
        )
        if response.status_code != 201:
            raise ConfigurationError(f"client registration refused: {response.text[:300]}")
        return ClientKey(self.state.issuer, str(response.json()["client_id"]), jwk)

    def token(
        self,
        organisation: str,
        *roles: str,
        unit: str | None = None,
        alg: str | None = None,
    ) -> str:
        """An access token for a machine client of ``organisation`` with ``roles``."""
        key = (organisation, tuple(sorted(roles)), unit, alg)
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached.fresh(margin=60):
            return cached.access_token
        client = self.client(organisation, roles, unit=unit, alg=alg)
        tokens = self.oauth.client_credentials(client, self.resource)
        with self._lock:
            self._tokens[key] = tokens
        return tokens.access_token

    def person_token(self, login: str) -> TokenSet:
        """A person's tokens by the device flow (the person must be in accounts.json)."""
        code = self.oauth.start_device_login(CLI_CLIENT, self.resource)
        confirm_in_browser(code.verification_uri_complete or code.verification_uri, login)
        return self.oauth.finish_device_login(code, CLI_CLIENT, sleep=lambda _s: None)
