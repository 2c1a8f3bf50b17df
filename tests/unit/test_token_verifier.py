"""The token verifier against issuers over real HTTP (discovery and JWKS), with tokens signed
by keys the test holds: every check, every algorithm, key rotation, claim mapping and the
limits of what each issuer may say."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.principals import ActorKind, Role
from gateway.errors import NotAuthenticated, ServiceUnavailable
from gateway.identity.issuers import ClaimMapping, IdentityConfig, MachineRule
from gateway.identity.verifier import TokenVerifier
from tests.identity import AUDIENCE, StaticIssuer, free_port


@pytest.fixture
def issuer() -> Iterator[StaticIssuer]:
    static = StaticIssuer(("EC", "OKP", "RSA"))
    yield static
    static.close()


def verifier_for(*issuers: object, **config: object) -> TokenVerifier:
    config_ = IdentityConfig(audience=AUDIENCE, issuers=issuers, **config)  # type: ignore[arg-type]
    return TokenVerifier(config_)


def test_every_algorithm_verifies(issuer: StaticIssuer) -> None:
    verifier = verifier_for(issuer.trusted(("star-analyse",)))
    try:
        for key, alg in ((0, "ES256"), (1, "EdDSA"), (2, "RS256"), (2, "PS256")):
            principal = verifier.verify(issuer.sign({"sub": "anna"}, key=key, alg=alg))
            assert principal.organisation == "star-analyse"
            assert principal.actor == "anna" and principal.kind is ActorKind.PERSON
            assert principal.roles == {Role.RECIPIENT}
    finally:
        verifier.close()


def test_each_failed_check_is_a_401_that_names_it(issuer: StaticIssuer) -> None:
    verifier = verifier_for(issuer.trusted(("star-analyse",)), max_token_age_seconds=3600)
    other = StaticIssuer()
    now = int(time.time())
    cases = {
        "signature": (other.sign({"iss": issuer.issuer}, kid=issuer.keys[0]["kid"]), "signature"),
        "expired": (issuer.sign({"iat": now - 1200, "exp": now - 600}), "expired"),
        "audience": (issuer.sign({"aud": "someone-else"}), "aud"),
        "untrusted issuer": (other.sign({}), "trusted issuer"),
        "not yet valid": (issuer.sign({"nbf": now + 600}), "not valid yet"),
        "future iat": (issuer.sign({"iat": now + 600, "exp": now + 900}), "not valid yet"),
        "too old": (issuer.sign({"iat": now - 7200, "exp": now + 60}), "older"),
        "lives too long": (issuer.sign({"exp": now + 86400}), "longer"),
        "no exp": (issuer.sign({"exp": ...}), "no 'exp' claim"),
        "foreign organisation": (issuer.sign({"organisation": "dst"}), "speak for"),
        "no role": (issuer.sign({"roles": ["janitor"]}), "no gateway role"),
        "roles not a list": (issuer.sign({"roles": 7}), "roles claim"),
        "person a CPR": (issuer.sign({"sub": "0101801111"}), "'sub' claim"),
        "person with spaces": (issuer.sign({"sub": "a b"}), "'sub' claim"),
        "organisation missing": (issuer.sign({"organisation": ...}), "'organisation' claim"),
        "unknown kid": (issuer.sign({}, kid="nope"), "signing key"),
        "garbage": ("not-a-token", "well-formed"),
        "three dots of garbage": ("a.b.c", "well-formed"),
    }
    unsigned = jwt.encode({"iss": issuer.issuer, "aud": AUDIENCE}, key=None, algorithm="none")
    symmetric = jwt.encode({"iss": issuer.issuer}, key="s" * 32, algorithm="HS256")
    cases["alg none"] = (unsigned, "algorithm")
    cases["hmac"] = (symmetric, "algorithm")
    try:
        for name, (token, words) in cases.items():
            with pytest.raises(NotAuthenticated) as failed:
                verifier.verify(token)
            assert words in failed.value.detail, (name, failed.value.detail)
            assert "0101801111" not in failed.value.detail
    finally:
        verifier.close()
        other.close()


def test_an_issuer_grants_only_the_roles_it_may(issuer: StaticIssuer) -> None:
    trusted = issuer.trusted(("star-analyse",), roles=frozenset({Role.RECIPIENT}))
    verifier = verifier_for(trusted)
    try:
        verifier.verify(issuer.sign({"roles": ["recipient"]}))
        with pytest.raises(NotAuthenticated, match="may not grant"):
            verifier.verify(issuer.sign({"roles": ["recipient", "approver"]}))
    finally:
        verifier.close()


def test_claim_mapping_reads_nested_claims_and_renames_roles(issuer: StaticIssuer) -> None:
    mapping = ClaimMapping(
        organisation="org.id",
        person="preferred_username",
        roles="realm_access.roles",
        unit="org.unit",
        role_names={"gateway-approver": Role.APPROVER},
    )
    verifier = verifier_for(issuer.trusted(("hub-legal",), claims=mapping))
    claims = {
        "organisation": ...,
        "roles": ...,
        "org": {"id": "HUB-LEGAL", "unit": "Legal"},
        "preferred_username": "Dina@Hub",
        "realm_access": {"roles": ["gateway-approver", "offline_access"]},
    }
    try:
        principal = verifier.verify(issuer.sign(claims))
    finally:
        verifier.close()
    assert principal.organisation == "hub-legal" and principal.unit == "legal"
    assert principal.actor == "dina@hub" and principal.roles == {Role.APPROVER}
    assert principal.label == "hub-legal/legal/person:dina@hub[approver]"


def test_machine_tokens_name_the_client(issuer: StaticIssuer) -> None:
    verifier = verifier_for(issuer.trusted(("dst",)))
    entra = StaticIssuer()
    by_claim = ClaimMapping(machine=MachineRule(claim="idtyp", equals="app"))
    entra_verifier = verifier_for(entra.trusted(("dst",), claims=by_claim))
    try:
        rfc9068 = verifier.verify(
            issuer.sign({"organisation": "dst", "sub": "dst-script", "client_id": "dst-script"})
        )
        assert rfc9068.kind is ActorKind.CLIENT and rfc9068.actor == "dst-script"
        app = entra_verifier.verify(
            entra.sign({"organisation": "dst", "sub": "o-1", "client_id": "app-1", "idtyp": "app"})
        )
        assert app.kind is ActorKind.CLIENT and app.actor == "app-1"
    finally:
        verifier.close()
        entra_verifier.close()
        entra.close()


def test_a_new_kid_triggers_one_bounded_refresh(issuer: StaticIssuer) -> None:
    verifier = verifier_for(issuer.trusted(("star-analyse",)), jwks_min_refresh_seconds=2)
    try:
        old = issuer.sign({})
        verifier.verify(old)
        keys = verifier.keys_of(issuer.issuer)
        assert keys.refreshes == 1
        issuer.keys.insert(0, StaticIssuer().keys[0])  # the provider rotates: new key first
        time.sleep(2.1)  # at most one refresh per jwks_min_refresh_seconds
        new = issuer.sign({}, key=0)
        verifier.verify(new)  # the unknown kid: one refresh
        verifier.verify(old)  # the old key is still published: still verifies
        assert keys.refreshes == 2
        for _ in range(20):  # made-up kids: refused, and no refresh within the interval
            with pytest.raises(NotAuthenticated):
                verifier.verify(issuer.sign({}, kid=f"made-up-{_}"))
        assert keys.refreshes == 2
    finally:
        verifier.close()


def test_an_unreachable_provider_is_503_not_401(issuer: StaticIssuer) -> None:
    gone = issuer.trusted(("star-analyse",), jwks_uri=f"http://127.0.0.1:{free_port()}/jwks")
    verifier = verifier_for(gone)
    token = issuer.sign({})
    try:
        with pytest.raises(ServiceUnavailable):
            verifier.verify(token)
    finally:
        verifier.close()


def test_an_issuer_that_types_its_access_tokens_gets_only_access_tokens(
    issuer: StaticIssuer,
) -> None:
    verifier = verifier_for(issuer.trusted(("star-analyse",), token_type="at+jwt"))
    try:
        assert verifier.verify(issuer.sign({}, typ="at+jwt")).organisation == "star-analyse"
        with pytest.raises(NotAuthenticated, match="not an access token"):
            verifier.verify(issuer.sign({}))  # typ JWT: an ID token, say
    finally:
        verifier.close()


REQUIRED = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
WRONG_TYPES: dict[str, list[object]] = {
    "sub": [7, {"a": 1}, True, ""],
    "client_id": [7, ["c"], False],
    "jti": [7, ["j"], 1.5],
    "aud": [7, {"a": 1}, [7], []],
    "exp": ["soon", ["1"], True],
    "iat": ["now", True],
    "roles": ["recipient", "recipient approver", {"r": 1}],
    "organisation": [7, ["star-analyse"]],
}


@pytest.mark.parametrize("claim", REQUIRED)
def test_a_token_without_a_required_claim_is_refused_naming_it(
    issuer: StaticIssuer, claim: str
) -> None:
    """RFC 9068, section 2.2: iss, exp, aud, sub, client_id, iat and jti are required."""
    verifier = verifier_for(issuer.trusted(("star-analyse",)))
    try:
        with pytest.raises(NotAuthenticated) as failed:
            verifier.verify(issuer.sign({claim: ...}))
        assert claim in failed.value.detail, failed.value.detail
    finally:
        verifier.close()


@pytest.mark.parametrize(
    ("claim", "value"), [(c, v) for c, values in WRONG_TYPES.items() for v in values]
)
def test_a_claim_of_the_wrong_type_is_an_error_not_coerced(
    issuer: StaticIssuer, claim: str, value: object
) -> None:
    verifier = verifier_for(issuer.trusted(("star-analyse",)))
    try:
        with pytest.raises(NotAuthenticated) as failed:
            verifier.verify(issuer.sign({claim: value}))
        detail = failed.value.detail
        assert claim in detail, detail
        assert failed.value.extra.get("claim") == claim or claim in ("exp", "iat"), detail
    finally:
        verifier.close()


def test_a_revoked_token_is_refused_while_the_list_holds_it(issuer: StaticIssuer) -> None:
    """A provider that publishes the ids of tokens it revoked before they expire: the
    gateway refuses those, reading the list over HTTP at most once a minute."""
    import http.server
    import json as json_
    import threading

    revoked: list[str] = ["revoked-one"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json_.dumps({"revoked": [{"jti": j} for j in revoked]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/revoked"
    verifier = verifier_for(issuer.trusted(("star-analyse",), revocation_list=url))
    try:
        assert verifier.verify(issuer.sign({"jti": "fine"})).organisation == "star-analyse"
        with pytest.raises(NotAuthenticated) as failed:
            verifier.verify(issuer.sign({"jti": "revoked-one"}))
        assert "revoked" in failed.value.detail and failed.value.extra["claim"] == "jti"
    finally:
        verifier.close()
        server.shutdown()
        server.server_close()
    # A list that cannot be read at all: the gateway cannot tell, so it does not accept.
    dead = verifier_for(issuer.trusted(("star-analyse",), revocation_list=url))
    try:
        with pytest.raises(ServiceUnavailable):
            dead.verify(issuer.sign({}))
    finally:
        dead.close()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
# What each claim must be; anything else is refused. The mapped claims (organisation, roles)
# are the trusted issuer's: a string, and a list of strings.
CLAIM_OK: dict[str, Callable[[object], bool]] = {
    "iss": lambda v: False,  # any other issuer is not the trusted one
    "sub": lambda v: isinstance(v, str) and bool(v),
    "client_id": lambda v: isinstance(v, str) and bool(v),
    "jti": lambda v: isinstance(v, str) and bool(v),
    "aud": lambda v: False,  # only the gateway's own audience
    "exp": lambda v: _number(v) and float(v) > time.time(),  # type: ignore[arg-type]
    "iat": lambda v: _number(v) and float(v) <= time.time(),  # type: ignore[arg-type]
    "organisation": lambda v: v == "star-analyse",
    "roles": lambda v: isinstance(v, list) and all(isinstance(r, str) for r in v),
}


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(claim=st.sampled_from(sorted(CLAIM_OK)), value=JSON_VALUES, drop=st.booleans())
def test_every_claim_dropped_or_retyped_is_refused(
    issuer: StaticIssuer, claim: str, value: object, drop: bool
) -> None:
    """Property: a token whose claim is missing (``drop``) or holds any JSON value of the
    wrong shape is refused with a 401, never accepted with the value coerced."""
    if not drop and (value is None or CLAIM_OK[claim](value)):
        return  # a well-shaped value (a missing one is drawn by ``drop``)
    if drop and claim not in REQUIRED and claim != "organisation" and claim != "roles":
        return
    verifier = verifier_for(issuer.trusted(("star-analyse",)))
    try:
        with pytest.raises(NotAuthenticated):
            verifier.verify(issuer.sign({claim: ... if drop else value}))
    finally:
        verifier.close()
