"""A development installation's identity: the provider's state, its people, a key file per
data owner and recipient, and the gateway's trusted issuers file pointing at it.

``gateway provider init`` and the demo call :func:`init_dev_identity`; nothing here is used
by a production gateway, which reads only the trusted issuers file its operators write.
"""

from __future__ import annotations

from pathlib import Path

from gateway.domain.catalogue import Catalogue
from gateway.identity.dev_provider import Person, ProviderState
from gateway.identity.dev_tokens import CLI_CLIENT
from gateway.identity.issuers import (
    ClaimMapping,
    IdentityConfig,
    TrustedIssuer,
    write_identity_config,
)

AUDIENCE = "urn:gateway"
DOCS_CLIENT = "gateway-docs"  # the API docs' Authorize button (code flow with PKCE)
DOCS_REDIRECT = "http://127.0.0.1/docs/oauth2-redirect"  # any port: a loopback redirect
CONSOLE_CLIENT = "gateway-console"  # the web console's login (code flow with PKCE)
CONSOLE_REDIRECT = "http://127.0.0.1/console/callback"
CONSOLE_LOGGED_OUT = "http://127.0.0.1/console/login-page"  # after RP-initiated logout
# The hub's own offices: the legal office (approvers), the data protection officer
# (auditor and approver) and operations. Organisations like any other in tokens.
HUB_ORGANISATIONS = ("hub-legal", "hub-dpo", "hub-operations")
DEV_PEOPLE = (
    Person("jurist", "hub-legal", ("approver",), unit="legal", name="Development jurist"),
    Person("jurist2", "hub-legal", ("approver",), unit="legal", name="Second jurist"),
    Person("dpo", "hub-dpo", ("auditor", "approver"), unit="dpo", name="Development DPO"),
    Person("drift", "hub-operations", ("operator",), name="Development operator"),
    # The analyst also holds the approver role, to show that four eyes is by person: she
    # still cannot approve what she asked for.
    Person("analytiker", "star-analyse", ("recipient", "approver"), unit="analyse", name="Analyst"),
    Person("statistiker", "star-statistik", ("recipient",), name="Statistician"),
)
# Its access tokens say what they are (RFC 9068), so an ID token never passes for one.
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
# The claim mapping of the development provider: roles nested as Keycloak nests them.
DEV_CLAIMS = ClaimMapping(roles="realm_access.roles", unit="unit")


def organisations(catalogue: Catalogue) -> list[str]:
    """Every organisation a development provider may speak for."""
    return sorted({*catalogue.sources, *catalogue.recipients, *HUB_ORGANISATIONS})


def init_dev_identity(
    data_dir: Path,
    catalogue: Catalogue,
    *,
    port: int,
    trusted_issuers_file: Path | None = None,
    issuer: str | None = None,
    listen: str = "127.0.0.1",
) -> ProviderState:
    """Create (or refresh) the provider's state under ``data_dir/provider``, a key file per
    source and recipient under ``data_dir/clients``, and the trusted issuers file."""
    state = ProviderState(data_dir / "provider")
    issuer = issuer or f"http://127.0.0.1:{port}"
    state.init(issuer=issuer, audience=AUDIENCE, listen=listen)
    state.add_public_client(CLI_CLIENT)
    state.add_public_client(DOCS_CLIENT, redirect_uris=[DOCS_REDIRECT])
    state.add_public_client(
        CONSOLE_CLIENT,
        redirect_uris=[CONSOLE_REDIRECT],
        post_logout_redirect_uris=[CONSOLE_LOGGED_OUT],
    )
    for person in DEV_PEOPLE:
        state.add_person(person)
    clients = data_dir / "clients"
    clients.mkdir(parents=True, exist_ok=True)
    for organisation in sorted(catalogue.sources):
        key = state.add_client(
            f"{organisation}-script", organisation=organisation, roles=["source"]
        )
        key.save(clients / f"{organisation}.json")
    for organisation in sorted(catalogue.recipients):
        key = state.add_client(
            f"{organisation}-script", organisation=organisation, roles=["recipient"]
        )
        key.save(clients / f"{organisation}.json")
    config = IdentityConfig(
        audience=AUDIENCE,
        docs_client_id=DOCS_CLIENT,
        console_client_id=CONSOLE_CLIENT,
        issuers=(
            TrustedIssuer(
                issuer=issuer,
                organisations=frozenset(organisations(catalogue)),
                claims=DEV_CLAIMS,
                token_type=ACCESS_TOKEN_TYPE,
            ),
        ),
    )
    write_identity_config(trusted_issuers_file or data_dir / "trusted-issuers.yaml", config)
    return state
