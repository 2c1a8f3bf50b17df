"""Bearer tokens: EdDSA (Ed25519) JWTs from a trusted issuer, verified with its public key.

The gateway only verifies; ``issue`` is the development issuer behind ``gateway token issue``.
The algorithm is pinned and ``exp``, ``iat``, ``iss``, ``aud`` and ``sub`` are required, so an
unsigned (``alg: none``) or symmetric token can never pass.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.domain.principal import Principal, Role
from gateway.errors import ConfigurationError, NotAuthenticated

ALGORITHM = "EdDSA"
LEEWAY = dt.timedelta(seconds=60)  # clock skew between the issuer and the gateway
MAX_LIFETIME = dt.timedelta(hours=12)  # the default bound on exp - iat (GATEWAY_MAX_TOKEN_...)


def issue(
    private_key_pem: bytes,
    *,
    subject: str,
    roles: Iterable[Role],
    issuer: str,
    audience: str,
    ttl: dt.timedelta = dt.timedelta(hours=8),
    now: dt.datetime | None = None,
) -> str:
    """Sign a token for ``subject`` holding ``roles``."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError("the token issuer key must be an Ed25519 private key")
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "roles": sorted(r.value for r in roles),
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies bearer tokens against the issuer's public key(s)."""

    def __init__(
        self,
        public_keys: list[Ed25519PublicKey],
        *,
        issuer: str,
        audience: str,
        max_lifetime: dt.timedelta = MAX_LIFETIME,
    ) -> None:
        if not public_keys:
            raise ConfigurationError("no token issuer public key configured")
        self._keys = public_keys
        self._issuer = issuer
        self._audience = audience
        self._max_lifetime = max_lifetime

    @classmethod
    def from_pem_file(
        cls,
        path: Path,
        *,
        issuer: str,
        audience: str,
        max_lifetime: dt.timedelta = MAX_LIFETIME,
    ) -> TokenVerifier:
        """Load one or more concatenated PEM public keys (several during an issuer key rollover)."""
        if not path.exists():
            raise ConfigurationError(
                f"no token issuer public key at {path}; run 'gateway keys init' for development "
                "or set GATEWAY_TOKEN_PUBLIC_KEY_FILE"
            )
        keys: list[Ed25519PublicKey] = []
        marker = b"-----END PUBLIC KEY-----"
        for block in path.read_bytes().split(marker):
            if b"-----BEGIN PUBLIC KEY-----" in block:
                key = serialization.load_pem_public_key(block + marker + b"\n")
                if not isinstance(key, Ed25519PublicKey):
                    raise ConfigurationError(f"{path}: issuer keys must be Ed25519")
                keys.append(key)
        return cls(keys, issuer=issuer, audience=audience, max_lifetime=max_lifetime)

    def verify(self, token: str) -> Principal:
        """The principal a valid token names. Raises :class:`NotAuthenticated` otherwise."""
        last_error = "no key"
        for key in self._keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=self._audience,
                    issuer=self._issuer,
                    options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                    leeway=LEEWAY,
                )
            except jwt.InvalidSignatureError:
                last_error = "signature does not verify"
                continue
            except jwt.PyJWTError as exc:
                raise NotAuthenticated(f"invalid bearer token: {_failed_check(exc)}") from None
            self._check_lifetime(claims)
            return Principal.from_claims(claims)
        raise NotAuthenticated(f"invalid bearer token: {last_error}")

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """A token lives at most ``max_lifetime`` from its ``iat``, which is not in the future:
        a stolen long-lived token is refused even if its issuer signed it."""
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise NotAuthenticated("invalid bearer token: 'iat' and 'exp' must be numbers")
        now = dt.datetime.now(dt.UTC).timestamp()
        if iat > now + LEEWAY.total_seconds():
            raise NotAuthenticated("invalid bearer token: it was issued in the future ('iat')")
        if exp - iat > self._max_lifetime.total_seconds():
            raise NotAuthenticated(
                "invalid bearer token: its lifetime ('exp' - 'iat') is longer than the "
                f"{int(self._max_lifetime.total_seconds())} s this gateway accepts"
            )


def _failed_check(exc: jwt.PyJWTError) -> str:
    """Which check failed, in the gateway's words (never the library's message, which can
    quote claim values)."""
    for kind, words in _CHECKS:
        if isinstance(exc, kind):
            return words
    return "it is not a well-formed signed JWT"


_CHECKS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "it has expired ('exp')"),
    (jwt.ImmatureSignatureError, "it is not valid yet ('nbf' or 'iat')"),
    (jwt.InvalidAudienceError, "it is not for this gateway ('aud')"),
    (jwt.InvalidIssuerError, "it is not from the trusted issuer ('iss')"),
    (jwt.MissingRequiredClaimError, "a required claim is missing (exp, iat, iss, aud, sub)"),
    (jwt.InvalidAlgorithmError, "its algorithm is not allowed"),
    (jwt.InvalidIssuedAtError, "its 'iat' is not a valid time"),
)
