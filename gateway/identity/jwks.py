"""Issuers' signing keys: OpenID discovery, then the JWKS, cached and refreshed on rotation.

A token whose ``kid`` is not in the cached set triggers one refresh, at most one per issuer
every ``min_refresh`` seconds: a provider that rotated its key is picked up on its first new
token, and a stream of made-up ``kid``s cannot turn the gateway into a load generator against
the provider. The cache expires after ``ttl`` so a withdrawn key stops verifying. A provider
that cannot be reached is a 503 (the caller may retry), never a 401 (the token may be fine).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from gateway.errors import NotAuthenticated, ServiceUnavailable

_KTY_FOR = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}


@dataclass
class IssuerKeys:
    """The keys of one issuer, thread-safe."""

    issuer: str
    http: httpx.Client
    ttl: float = 3600.0
    min_refresh: float = 30.0
    jwks_uri: str | None = None
    _keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    _fetched_at: float = float("-inf")
    _attempted_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)
    refreshes: int = 0

    def key(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The verification key for a token header's ``kid`` and ``alg``."""
        now = time.monotonic()
        with self._lock:
            stale = now - self._fetched_at > self.ttl
            missing = kid is not None and kid not in self._keys
            if stale or missing:
                if now - self._attempted_at >= self.min_refresh:
                    self._refresh(now)
                elif stale:
                    raise _unavailable()
            jwk = self._select(kid, algorithm)
        if jwk is None:
            raise NotAuthenticated(
                "invalid bearer token: its signing key ('kid') is not among the issuer's keys"
            )
        try:
            return jwt.PyJWK(jwk, algorithm=algorithm)
        except jwt.PyJWTError:
            raise NotAuthenticated(
                "invalid bearer token: the issuer's key does not fit its algorithm"
            ) from None

    def _select(self, kid: str | None, algorithm: str) -> dict[str, Any] | None:
        if kid is not None:
            candidates = [self._keys[kid]] if kid in self._keys else []
        else:  # no kid: acceptable only if exactly one key could have signed
            candidates = [k for k in self._keys.values() if k.get("kty") == _KTY_FOR[algorithm]]
            if len(candidates) != 1:
                return None
        for jwk in candidates:
            if jwk.get("kty") != _KTY_FOR[algorithm]:
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", algorithm) != algorithm:
                continue
            return jwk
        return None

    def _refresh(self, now: float) -> None:
        try:
            uri = self.jwks_uri or self._discover()
            response = self.http.get(uri)
            response.raise_for_status()
            keys = response.json()["keys"]
            fresh = {str(k["kid"]): dict(k) for k in keys if isinstance(k, dict) and "kid" in k}
            fresh.update({f"#{i}": dict(k) for i, k in enumerate(keys) if "kid" not in k})
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            self._attempted_at = now
            if self._keys and now - self._fetched_at <= self.ttl:
                return  # keep the keys we have; the token may still be signed by one
            self._keys = {}  # expired keys are not used
            raise _unavailable() from None
        self._keys = fresh
        self._fetched_at = self._attempted_at = now
        self.refreshes += 1

    def _discover(self) -> str:
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        response = self.http.get(url)
        response.raise_for_status()
        document = response.json()
        if document.get("issuer") != self.issuer:  # OpenID Connect Discovery 1.0, section 4.3
            raise ValueError("discovery names another issuer")
        return str(document["jwks_uri"])


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the identity provider's keys cannot be fetched just now; try again shortly"
    )
