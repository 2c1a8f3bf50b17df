"""Which identity providers the gateway trusts, for whom, and where their tokens say what.

One YAML file (``GATEWAY_TRUSTED_ISSUERS_FILE``, default ``<data_dir>/trusted-issuers.yaml``)
lists each trusted issuer by its exact issuer URL, the organisations it may speak for (a
municipality's provider cannot vouch for the ministry's analysts), the roles it may grant,
and the claim mapping: where in its tokens the organisation, the person, the machine client,
the unit and the roles are found (dotted paths reach nested claims, as Keycloak's
``realm_access.roles``). docs/operations.md has worked examples for Keycloak and Entra ID.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.domain.identifiers import ORGANISATION, canonical
from gateway.domain.principals import Role
from gateway.errors import ConfigurationError

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MachineRule(_Frozen):
    """When is a token a machine client's rather than a person's? By default when its person
    claim equals its client claim (RFC 9068: ``sub`` is the client id when no person is
    involved); an issuer may name a claim and value instead (Entra ID: ``idtyp`` = ``app``)."""

    claim: str
    equals: str


class ClaimMapping(_Frozen):
    """Dotted claim paths. ``roles`` may hold a list or a space-separated string."""

    organisation: str = "organisation"
    person: str = "sub"
    client: str = "client_id"
    unit: str | None = None
    roles: str = "roles"
    role_names: dict[str, Role] = Field(
        default_factory=dict,
        description="Provider role name -> gateway role, for providers whose role names "
        "differ (e.g. 'gateway-approver': approver). Unlisted names that are gateway role "
        "names map to themselves; others are ignored.",
    )
    machine: MachineRule | None = None
    fixed_organisation: str | None = Field(
        None,
        description="For a provider that serves one organisation only and puts no "
        "organisation claim in its tokens: every token is for this organisation.",
    )

    def lookup(self, claims: Mapping[str, Any], path: str) -> Any:
        value: Any = claims
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return value


RFC9068_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


class TrustedIssuer(_Frozen):
    issuer: str = Field(description="Exactly as the provider's tokens and discovery say.")
    organisations: frozenset[str] = Field(
        description="The organisations this issuer may speak for."
    )
    roles: frozenset[Role] = Field(
        frozenset(Role), description="The roles this issuer may grant (default: all)."
    )
    claims: ClaimMapping = ClaimMapping()
    algorithms: tuple[str, ...] = ALGORITHMS
    audience: str | None = Field(None, description="Overrides the file's audience.")
    jwks_uri: str | None = Field(
        None, description="Skips discovery (for providers without it); normally leave unset."
    )
    token_type: str | None = Field(
        None, description="Required 'typ' header, e.g. 'at+jwt' (RFC 9068), if the issuer sets it."
    )
    required_claims: tuple[str, ...] = Field(
        RFC9068_CLAIMS,
        description="Claims every access token must carry, each of its type (RFC 9068, "
        "section 2.2: iss, exp, aud, sub, client_id, iat, jti); a provider that names the "
        "client otherwise maps it under claims.client and lists that name here instead.",
    )
    revocation_list: str | None = Field(
        None,
        description="Where the provider publishes the ids ('jti') of access tokens it revoked "
        "before they expire (a JSON object with a 'revoked' list); checked every minute.",
    )

    @field_validator("organisations")
    @classmethod
    def _organisations(cls, value: frozenset[str]) -> frozenset[str]:
        normal = frozenset(canonical(v) for v in value)
        bad = [v for v in normal if not ORGANISATION.fullmatch(v)]
        if bad or not normal:
            raise ValueError("organisations must be a non-empty list of organisation ids")
        return normal

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(ALGORITHMS)
        if unknown or not value:
            raise ValueError(f"algorithms must be among {', '.join(ALGORITHMS)}")
        return value


class IdentityConfig(_Frozen):
    audience: str = Field(description="The gateway's own name in tokens' 'aud'.")
    leeway_seconds: int = Field(60, ge=0, le=300, description="Clock skew allowed.")
    max_token_age_seconds: int = Field(
        12 * 3600, ge=60, description="Oldest 'iat' accepted, and longest exp - iat."
    )
    jwks_cache_seconds: int = Field(3600, ge=60, description="How long fetched keys are used.")
    jwks_min_refresh_seconds: int = Field(
        30,
        ge=1,
        description="At most one refresh per issuer in this interval, however many unknown "
        "'kid's arrive (an attacker cannot make the gateway hammer the provider).",
    )
    docs_client_id: str | None = Field(
        None,
        description="A public client at the first issuer for the API docs' Authorize button "
        "(authorization code with PKCE; redirect to <gateway>/docs/oauth2-redirect).",
    )
    console_client_id: str | None = Field(
        None,
        description="A public client at the first issuer for the web console's login "
        "(authorization code with PKCE; redirect to <gateway>/console/callback).",
    )
    issuers: tuple[TrustedIssuer, ...]

    @field_validator("issuers")
    @classmethod
    def _distinct(cls, value: tuple[TrustedIssuer, ...]) -> tuple[TrustedIssuer, ...]:
        names = [i.issuer for i in value]
        if len(set(names)) != len(names):
            raise ValueError("each issuer may be listed once")
        if not value:
            raise ValueError("at least one trusted issuer is needed")
        return value

    def issuer(self, name: str) -> TrustedIssuer | None:
        return next((i for i in self.issuers if i.issuer == name), None)


def load_identity_config(path: Path) -> IdentityConfig:
    """The trusted issuers file, validated; a missing or malformed file stops start-up with a
    message saying what to do."""
    if not path.exists():
        raise ConfigurationError(
            f"no trusted issuers file at {path}: the gateway accepts tokens only from the "
            "identity providers it lists. For development, 'gateway provider init' writes one "
            "for the development provider; for production see docs/operations.md"
        )
    try:
        return IdentityConfig.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigurationError(f"{path} is not a valid trusted issuers file: {exc}") from None


def write_identity_config(path: Path, config: IdentityConfig) -> None:
    """Write a trusted issuers file (development set-up and tests)."""
    from gateway.files import write_atomic

    body = config.model_dump(mode="json", exclude_defaults=True)
    body["audience"] = config.audience
    for entry, issuer in zip(body["issuers"], config.issuers, strict=True):
        entry["organisations"] = sorted(issuer.organisations)
        if "roles" in entry:
            entry["roles"] = sorted(entry["roles"])
    write_atomic(path, yaml.safe_dump(body, sort_keys=False).encode())
