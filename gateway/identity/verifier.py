"""Bearer token verification: the one path every request's token takes, in development and in
production alike.

Order of checks, each failure a 401 naming the check and never quoting the token or the
library's message (which can quote claim values):
1. shape: at most 16 KiB, three base64url parts, a header naming an allowed asymmetric
   algorithm (``none`` and HMAC can never pass);
2. issuer: the unverified ``iss`` must be a trusted issuer; nothing else is read before the
   signature verifies;
3. signature, with the issuer's key for the header's ``kid`` (:mod:`gateway.identity.jwks`);
4. ``aud``, ``exp``, ``nbf``, ``iat`` with a small leeway, and a maximum age: a token issued
   longer ago than ``max_token_age_seconds``, or living longer than that, is refused even if
   its issuer signed it;
5. claims, through the issuer's mapping: the organisation must be one the issuer may speak
   for, the roles ones it may grant, the person or client a valid identifier.
"""

from __future__ import annotations

import binascii
import json
import re
import threading
import time
from base64 import urlsafe_b64decode
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from gateway.domain.identifiers import canonical, has_cpr
from gateway.domain.principals import ACTOR, ORGANISATION, UNIT, ActorKind, Principal, Role
from gateway.errors import NotAuthenticated, ServiceUnavailable
from gateway.identity.issuers import IdentityConfig, TrustedIssuer
from gateway.identity.jwks import IssuerKeys

MAX_TOKEN_BYTES = 16 * 1024


def checked_claim(pattern: re.Pattern[str], claim: str, value: object) -> str:
    """``value`` in canonical form if it is a string of the pattern's shape and not CPR-shaped;
    otherwise a 401 naming the claim (never quoting its value)."""
    if not isinstance(value, str):
        raise NotAuthenticated(
            f"the bearer token's '{claim}' claim is missing or not a string", claim=claim
        )
    text = canonical(value)
    if not pattern.fullmatch(text) or has_cpr(text):
        raise NotAuthenticated(
            f"the bearer token's '{claim}' claim is not a valid identifier", claim=claim
        )
    return text


def _is_string(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_audience(value: object) -> bool:
    return _is_string(value) or (
        isinstance(value, list) and bool(value) and all(_is_string(v) for v in value)
    )


# RFC 9068, section 2.2 (and RFC 7519): the type each registered claim must have.
CLAIM_TYPES: dict[str, tuple[str, Callable[[object], bool]]] = {
    "iss": ("a string", _is_string),
    "sub": ("a string", _is_string),
    "client_id": ("a string", _is_string),
    "jti": ("a string", _is_string),
    "aud": ("a string or a list of strings", _is_audience),
    "exp": ("a number", _is_number),
    "iat": ("a number", _is_number),
    "nbf": ("a number", _is_number),
}


def check_claims(claims: dict[str, Any], required: tuple[str, ...]) -> None:
    """Every required claim present, and every claim the gateway knows of its type; a 401
    naming the first that is not (never its value)."""
    for name in required:
        if name not in claims or claims[name] is None:
            raise NotAuthenticated(f"the bearer token has no '{name}' claim", claim=name)
    for name, (kind, ok) in CLAIM_TYPES.items():
        if name in claims and not ok(claims[name]):
            raise NotAuthenticated(f"the bearer token's '{name}' claim is not {kind}", claim=name)


def _unverified_part(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise NotAuthenticated("invalid bearer token: it is not a well-formed signed JWT") from None
    if not isinstance(value, dict):
        raise NotAuthenticated("invalid bearer token: it is not a well-formed signed JWT")
    return value


class TokenVerifier:
    """Verifies bearer tokens from the trusted issuers of an :class:`IdentityConfig`."""

    def __init__(self, config: IdentityConfig, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http or httpx.Client(timeout=5.0, follow_redirects=False)
        self._keys = {
            i.issuer: IssuerKeys(
                i.issuer,
                self._http,
                ttl=config.jwks_cache_seconds,
                min_refresh=config.jwks_min_refresh_seconds,
                jwks_uri=i.jwks_uri,
            )
            for i in config.issuers
        }
        self._revocations = {
            i.issuer: RevocationList(i.revocation_list, self._http)
            for i in config.issuers
            if i.revocation_list is not None
        }

    def close(self) -> None:
        self._http.close()

    def keys_of(self, issuer: str) -> IssuerKeys:
        return self._keys[issuer]

    def verify(self, token: str) -> Principal:
        """The principal a valid token names. Raises :class:`NotAuthenticated` otherwise, or
        ``ServiceUnavailable`` if the issuer's keys cannot be fetched."""
        parts = token.split(".")
        if len(token) > MAX_TOKEN_BYTES or len(parts) != 3:
            raise NotAuthenticated("invalid bearer token: it is not a well-formed signed JWT")
        header = _unverified_part(parts[0])
        algorithm = header.get("alg")
        payload = _unverified_part(parts[1])
        issuer = self._issuer(payload.get("iss"))
        if not isinstance(algorithm, str) or algorithm not in issuer.algorithms:
            raise NotAuthenticated("invalid bearer token: its algorithm is not allowed")
        if issuer.token_type is not None and header.get("typ") != issuer.token_type:
            raise NotAuthenticated("invalid bearer token: it is not an access token ('typ')")
        check_claims(payload, issuer.required_claims)  # shapes: named, never coerced
        kid = header.get("kid")
        key = self._keys[issuer.issuer].key(kid if isinstance(kid, str) else None, algorithm)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=issuer.audience or self.config.audience,
                issuer=issuer.issuer,
                options={"require": ["exp", "iat", "iss", "aud"], "verify_sub": False},
                leeway=self.config.leeway_seconds,
            )
        except jwt.PyJWTError as exc:
            words, claim = _failed_check(exc)
            extra = {"claim": claim} if claim else {}
            raise NotAuthenticated(f"invalid bearer token: {words}", **extra) from None
        check_claims(claims, issuer.required_claims)
        self._check_age(claims)
        if issuer.revocation_list is not None:
            self._revocations[issuer.issuer].check(claims.get("jti"))
        return principal_of(claims, issuer)

    def _issuer(self, iss: object) -> TrustedIssuer:
        trusted = self.config.issuer(iss) if isinstance(iss, str) else None
        if trusted is None:
            raise NotAuthenticated("invalid bearer token: it is not from a trusted issuer ('iss')")
        return trusted

    def _check_age(self, claims: dict[str, Any]) -> None:
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise NotAuthenticated("invalid bearer token: 'iat' and 'exp' must be numbers")
        now, leeway = time.time(), self.config.leeway_seconds
        limit = self.config.max_token_age_seconds
        if iat > now + leeway:
            raise NotAuthenticated("invalid bearer token: it was issued in the future ('iat')")
        if now - iat > limit + leeway or exp - iat > limit:
            raise NotAuthenticated(
                "invalid bearer token: it is older, or lives longer, than the "
                f"{limit} s this gateway accepts ('iat', 'exp')"
            )


class RevocationList:
    """The ids of tokens an issuer revoked before they expire, fetched at most once a minute;
    the last good list is kept when a fetch fails, and a list that was never fetched fails
    closed (503: the gateway cannot tell)."""

    TTL = 60.0

    def __init__(self, url: str, http: httpx.Client) -> None:
        self.url = url
        self._http = http
        self._ids: frozenset[str] | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def check(self, jti: object) -> None:
        ids = self._current()
        if isinstance(jti, str) and jti in ids:
            raise NotAuthenticated("invalid bearer token: it was revoked ('jti')", claim="jti")

    def _current(self) -> frozenset[str]:
        with self._lock:
            if self._ids is not None and time.monotonic() - self._fetched < self.TTL:
                return self._ids
            try:
                answer = self._http.get(self.url)
                answer.raise_for_status()
                listed = answer.json().get("revoked", [])
                self._ids = frozenset(
                    str(item.get("jti") if isinstance(item, dict) else item) for item in listed
                )
                self._fetched = time.monotonic()
            except (httpx.HTTPError, ValueError, AttributeError):
                if self._ids is None:
                    raise ServiceUnavailable(
                        "the identity provider's revocation list cannot be read"
                    ) from None
            return self._ids


def principal_of(claims: dict[str, Any], issuer: TrustedIssuer) -> Principal:
    """The principal that verified claims name, through the issuer's claim mapping."""
    mapping = issuer.claims
    raw_org = mapping.fixed_organisation or mapping.lookup(claims, mapping.organisation)
    organisation = checked_claim(ORGANISATION, mapping.organisation, raw_org)
    if organisation not in issuer.organisations:
        raise NotAuthenticated(
            "the bearer token's issuer may not speak for the organisation it names"
        )
    roles = _roles(mapping.lookup(claims, mapping.roles), mapping.role_names)
    if not roles <= issuer.roles:
        raise NotAuthenticated("the bearer token's issuer may not grant a role it names")
    person = mapping.lookup(claims, mapping.person)
    client = mapping.lookup(claims, mapping.client)
    if mapping.machine is not None:
        machine = str(mapping.lookup(claims, mapping.machine.claim)) == mapping.machine.equals
    else:
        machine = person is None or (client is not None and person == client)
    if machine:
        actor = checked_claim(
            ACTOR,
            mapping.client if client is not None else mapping.person,
            client if client is not None else person,
        )
        kind = ActorKind.CLIENT
    else:
        actor = checked_claim(ACTOR, mapping.person, person)
        kind = ActorKind.PERSON
    unit = None
    if mapping.unit is not None and mapping.lookup(claims, mapping.unit) is not None:
        unit = checked_claim(UNIT, mapping.unit, mapping.lookup(claims, mapping.unit))
    return Principal(organisation, roles, actor, kind, unit, issuer.issuer)


def _roles(raw: object, names: dict[str, Role]) -> frozenset[Role]:
    """The gateway roles a roles claim names: it must be a list of strings (a string is a
    claim of the wrong type, never split into one)."""
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise NotAuthenticated(
            "the bearer token's roles claim is not a list of role names", claim="roles"
        )
    known = {r.value: r for r in Role}
    roles = frozenset(names.get(r) or known[r] for r in raw if r in names or r in known)
    if not roles:
        raise NotAuthenticated("the bearer token carries no gateway role")
    return roles


def _failed_check(exc: jwt.PyJWTError) -> tuple[str, str | None]:
    """Which check failed, in the gateway's words, and the claim it is about (if one)."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"it has no '{exc.claim}' claim", exc.claim
    for kind, words, claim in _CHECKS:
        if isinstance(exc, kind):
            return words, claim
    return "it is not a well-formed signed JWT", None


_CHECKS: tuple[tuple[type[jwt.PyJWTError], str, str | None], ...] = (
    (jwt.InvalidSignatureError, "its signature does not verify", None),
    (jwt.ExpiredSignatureError, "it has expired ('exp')", "exp"),
    (jwt.ImmatureSignatureError, "it is not valid yet ('nbf' or 'iat')", "nbf"),
    (jwt.InvalidAudienceError, "it is not for this gateway ('aud')", "aud"),
    (jwt.InvalidIssuerError, "it is not from the trusted issuer ('iss')", "iss"),
    (jwt.InvalidAlgorithmError, "its algorithm is not allowed", None),
    (jwt.InvalidIssuedAtError, "its 'iat' is not a valid time", "iat"),
    (jwt.exceptions.InvalidJTIError, "its 'jti' claim is not a string", "jti"),
    (jwt.exceptions.InvalidSubjectError, "its 'sub' claim is not a string", "sub"),
)
