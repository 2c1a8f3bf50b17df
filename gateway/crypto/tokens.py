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

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.domain.principal import Principal, Role
from gateway.errors import ConfigurationError, NotAuthenticated

ALGORITHM = "EdDSA"


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

    def __init__(self, public_keys: list[Ed25519PublicKey], *, issuer: str, audience: str) -> None:
        if not public_keys:
            raise ConfigurationError("no token issuer public key configured")
        self._keys = public_keys
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def from_pem_file(cls, path: Path, *, issuer: str, audience: str) -> TokenVerifier:
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
        return cls(keys, issuer=issuer, audience=audience)

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
                )
            except jwt.InvalidSignatureError:
                last_error = "signature does not verify"
                continue
            except jwt.ExpiredSignatureError:
                raise NotAuthenticated("the bearer token has expired") from None
            except jwt.PyJWTError as exc:
                raise NotAuthenticated(f"invalid bearer token: {exc}") from None
            return Principal.from_claims(claims)
        raise NotAuthenticated(f"invalid bearer token: {last_error}")
