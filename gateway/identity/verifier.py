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
import time
from base64 import urlsafe_b64decode
from typing import Any

import httpx
import jwt

from gateway.domain.identifiers import canonical, has_cpr
from gateway.domain.principals import ACTOR, ORGANISATION, UNIT, ActorKind, Principal, Role
from gateway.errors import NotAuthenticated
from gateway.identity.issuers import IdentityConfig, TrustedIssuer
from gateway.identity.jwks import IssuerKeys

MAX_TOKEN_BYTES = 16 * 1024


def checked_claim(pattern: re.Pattern[str], claim: str, value: object) -> str:
    """``value`` in canonical form if it is a string of the pattern's shape and not CPR-shaped;
    otherwise a 401 naming the claim (never quoting it)."""
    if not isinstance(value, str):
        raise NotAuthenticated(f"the bearer token's {claim} is missing or not a string")
    text = canonical(value)
    if not pattern.fullmatch(text) or has_cpr(text):
        raise NotAuthenticated(f"the bearer token's {claim} is not a valid identifier")
    return text


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
        issuer = self._issuer(_unverified_part(parts[1]).get("iss"))
        if not isinstance(algorithm, str) or algorithm not in issuer.algorithms:
            raise NotAuthenticated("invalid bearer token: its algorithm is not allowed")
        if issuer.token_type is not None and header.get("typ") != issuer.token_type:
            raise NotAuthenticated("invalid bearer token: it is not an access token ('typ')")
        kid = header.get("kid")
        key = self._keys[issuer.issuer].key(kid if isinstance(kid, str) else None, algorithm)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=issuer.audience or self.config.audience,
                issuer=issuer.issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
                leeway=self.config.leeway_seconds,
            )
        except jwt.PyJWTError as exc:
            raise NotAuthenticated(f"invalid bearer token: {_failed_check(exc)}") from None
        self._check_age(claims)
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


def principal_of(claims: dict[str, Any], issuer: TrustedIssuer) -> Principal:
    """The principal that verified claims name, through the issuer's claim mapping."""
    mapping = issuer.claims
    raw_org = mapping.fixed_organisation or mapping.lookup(claims, mapping.organisation)
    organisation = checked_claim(ORGANISATION, "organisation claim", raw_org)
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
        actor = checked_claim(ACTOR, "client claim", client if client is not None else person)
        kind = ActorKind.CLIENT
    else:
        actor = checked_claim(ACTOR, "person claim", person)
        kind = ActorKind.PERSON
    unit = None
    if mapping.unit is not None and mapping.lookup(claims, mapping.unit) is not None:
        unit = checked_claim(UNIT, "unit claim", mapping.lookup(claims, mapping.unit))
    return Principal(organisation, roles, actor, kind, unit, issuer.issuer)


def _roles(raw: object, names: dict[str, Role]) -> frozenset[Role]:
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise NotAuthenticated("the bearer token's roles claim is not a list of role names")
    known = {r.value: r for r in Role}
    roles = frozenset(names.get(r) or known[r] for r in raw if r in names or r in known)
    if not roles:
        raise NotAuthenticated("the bearer token carries no gateway role")
    return roles


def _failed_check(exc: jwt.PyJWTError) -> str:
    """Which check failed, in the gateway's words."""
    for kind, words in _CHECKS:
        if isinstance(exc, kind):
            return words
    return "it is not a well-formed signed JWT"


_CHECKS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidSignatureError, "its signature does not verify"),
    (jwt.ExpiredSignatureError, "it has expired ('exp')"),
    (jwt.ImmatureSignatureError, "it is not valid yet ('nbf' or 'iat')"),
    (jwt.InvalidAudienceError, "it is not for this gateway ('aud')"),
    (jwt.InvalidIssuerError, "it is not from the trusted issuer ('iss')"),
    (jwt.MissingRequiredClaimError, "a required claim is missing (exp, iat, iss, aud)"),
    (jwt.InvalidAlgorithmError, "its algorithm is not allowed"),
    (jwt.InvalidIssuedAtError, "its 'iat' is not a valid time"),
)
