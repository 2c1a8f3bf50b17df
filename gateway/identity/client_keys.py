"""Machine clients' key files and their ``private_key_jwt`` assertions (RFC 7523, RFC 7521).

A data owner's script holds one JSON file: the provider's issuer URL, its client id and its
private key as a JWK. The provider holds only the public half. To get a token the script
signs a short assertion (``iss`` = ``sub`` = client id, ``aud`` = the provider's token
endpoint, a fresh ``jti``) instead of sending a shared secret, so nothing reusable crosses
the wire and a leaked token endpoint log reveals nothing.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from gateway.errors import ConfigurationError
from gateway.files import write_atomic

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60  # seconds; the provider refuses a replayed jti within it
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def new_signing_jwk(kind: str = "EC") -> dict[str, Any]:
    """A fresh private signing key as a JWK with a random ``kid``: ``EC`` (P-256, ES256),
    ``OKP`` (Ed25519, EdDSA) or ``RSA`` (2048 bits, RS256 and PS256)."""
    jwk: dict[str, Any]
    if kind == "EC":
        jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    elif kind == "OKP":
        jwk = json.loads(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate()))
    elif kind == "RSA":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(key))
    else:
        raise ValueError(f"unknown key type {kind}")
    jwk.update(kid=secrets.token_hex(8), use="sig")
    return jwk


def public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """The public half of a private JWK (never publish the other members)."""
    return {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}


def _algorithm_of(jwk: dict[str, Any]) -> str:
    return {"EC": "ES256", "OKP": "EdDSA", "RSA": "PS256"}[str(jwk["kty"])]


@dataclass(frozen=True)
class ClientKey:
    """What a machine client needs to authenticate: the file ``gateway login --client-key``
    reads."""

    issuer: str
    client_id: str
    jwk: dict[str, Any]

    def assertion(self, token_endpoint: str) -> str:
        """A one-time signed client assertion for ``token_endpoint``."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_endpoint,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        algorithm = _algorithm_of(self.jwk)
        key = jwt.PyJWK(self.jwk, algorithm=algorithm)
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": self.jwk["kid"]})

    def save(self, path: Path) -> None:
        """Written readable by its owner only: it is a credential."""
        body = {"issuer": self.issuer, "client_id": self.client_id, "key": self.jwk}
        write_atomic(path, json.dumps(body, indent=2).encode(), mode=0o600)

    @classmethod
    def load(cls, path: Path) -> ClientKey:
        try:
            body = json.loads(path.read_text())
            return cls(str(body["issuer"]), str(body["client_id"]), dict(body["key"]))
        except FileNotFoundError:
            raise ConfigurationError(f"no client key file at {path}") from None
        except (ValueError, KeyError, TypeError):
            raise ConfigurationError(
                f"{path} is not a client key file (issuer, client_id, key)"
            ) from None
