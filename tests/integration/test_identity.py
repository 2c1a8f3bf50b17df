"""Identity end to end against the real provider process (oidc-provider on Node.js): machines
by client credentials with private_key_jwt, people by the device flow, key rotation at the
provider, untrusted providers and foreign organisations refused, four eyes by person."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from gateway.domain.principals import Role
from gateway.identity.dev_provider import ProviderProcess, ProviderState
from gateway.identity.dev_setup import AUDIENCE
from gateway.identity.dev_tokens import DevTokens, confirm_in_browser
from gateway.identity.oauth import OAuthClient
from tests.conftest import (
    POLICIES,
    ROOT,
    Gateway,
    Synthetic,
    edited_policies,
    running_gateway,
)
from tests.identity import bearer, free_port, provider, signer, write_trusted_issuers
from tests.integration.test_extracts_api import LINKED, push_all
from tests.integration.test_processes import gateway_cmd
from tests.server import Server


def _other_provider(folder: Path) -> ProviderProcess:
    """A second, independent provider process with one machine client."""
    state = ProviderState(folder)
    state.init(issuer=f"http://127.0.0.1:{free_port()}", audience=AUDIENCE)
    state.add_client("star-script", organisation="star-analyse", roles=["recipient"]).save(
        folder / "star-script.json"
    )
    return ProviderProcess(state, int(state.issuer.rsplit(":", 1)[1])).start()


def _client_token(process: ProviderProcess) -> str:
    from gateway.identity.client_keys import ClientKey

    key = ClientKey.load(process.state.folder / "star-script.json")
    with OAuthClient(key.issuer) as oauth:
        return oauth.client_credentials(key, AUDIENCE).access_token


def test_key_rotation_at_the_provider_is_picked_up_and_old_tokens_still_verify(
    tmp_path: Path,
) -> None:
    with _other_provider(tmp_path / "idp") as idp:
        trusted = tmp_path / "trusted-issuers.yaml"
        extra = provider().trusted_issuer(issuer=idp.state.issuer)
        write_trusted_issuers(trusted, extra, jwks_min_refresh_seconds=2)
        with running_gateway(tmp_path / "var", trusted_issuers_file=trusted) as gw:
            old = _client_token(idp)
            assert gw.client.get("/v1/extracts", headers=bearer(old)).status_code == 200
            keys = gw.runtime.verifier.keys_of(idp.state.issuer)
            assert keys.refreshes == 1
            idp.state.rotate_keys()
            idp.restart()
            new = _client_token(idp)
            assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
            time.sleep(gw.runtime.verifier.config.jwks_min_refresh_seconds)
            assert gw.client.get("/v1/extracts", headers=bearer(new)).status_code == 200
            assert gw.client.get("/v1/extracts", headers=bearer(old)).status_code == 200
            assert keys.refreshes == 2  # one refresh for the new kid, none for the old one


def test_an_untrusted_provider_and_a_foreign_organisation_are_refused(
    tmp_path: Path,
) -> None:
    with _other_provider(tmp_path / "idp") as idp:
        trusted = tmp_path / "trusted-issuers.yaml"
        # The session's provider may speak for star-analyse only, the static signer not at all.
        from gateway.identity.issuers import IdentityConfig, write_identity_config

        limited = provider().trusted_issuer(organisations=frozenset({"star-analyse"}))
        write_identity_config(trusted, IdentityConfig(audience=AUDIENCE, issuers=(limited,)))
        with running_gateway(tmp_path / "var", trusted_issuers_file=trusted) as gw:
            stranger = gw.client.get("/v1/extracts", headers=bearer(_client_token(idp)))
            assert stranger.status_code == 401
            assert "trusted issuer" in stranger.json()["detail"]
            foreign = provider().token("dst", Role.SOURCE)
            r = gw.client.get("/v1/deliveries/dlv-" + "0" * 32, headers=bearer(foreign))
            assert r.status_code == 401 and "may not speak for" in r.json()["detail"]
            ours = provider().token("star-analyse", Role.RECIPIENT)
            assert gw.client.get("/v1/extracts", headers=bearer(ours)).status_code == 200
            forged = signer().sign({"organisation": "star-analyse"})
            assert gw.client.get("/v1/extracts", headers=bearer(forged)).status_code == 401


def test_four_eyes_is_by_person_and_unit(gateway: Gateway, synthetic: Synthetic) -> None:
    """Anna (star-analyse, recipient and approver) asks; she cannot approve her own request
    under either role; Bo, her colleague in the same unit, is not a second pair of eyes
    either (another unit by default); Carl, of another unit, can. Every audit entry names the
    organisation and the person."""
    push_all(gateway, synthetic)
    anna, bo = bearer(provider().person("anna")), bearer(provider().person("bo"))
    ext = gateway.client.post("/v1/extracts", json=LINKED, headers=anna)
    assert ext.status_code == 201, ext.text
    url = f"/v1/extracts/{ext.json()['id']}"
    mine = gateway.client.post(f"{url}/approve", headers=anna)
    assert mine.status_code == 403 and "four-eyes" in mine.json()["detail"]
    colleague = gateway.client.post(f"{url}/approve", headers=bo)
    assert colleague.status_code == 403 and "same organisation unit" in colleague.json()["detail"]
    carl = bearer(provider().person("carl"))
    ok = gateway.client.post(f"{url}/approve", headers=carl, json={"note": "checked"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["decided_by"] == "star-analyse/jura/person:carl[approver]"
    dpo = bearer(provider().person("dpo"))
    entries = gateway.client.get(
        "/v1/audit/entries", params={"actor": "person:anna"}, headers=dpo
    ).json()["entries"]
    actors = {e["actor"] for e in entries}
    assert actors == {"star-analyse/analyse/person:anna[approver,recipient]"}, actors
    assert {e["type"] for e in entries} >= {"extract.requested", "approval.refused"}
    org = gateway.client.get(
        "/v1/audit/entries", params={"actor": "star-analyse"}, headers=dpo
    ).json()["entries"]
    assert {e["actor"].split("[")[0] for e in org} >= {
        "star-analyse/analyse/person:anna",
        "star-analyse/analyse/person:bo",
        "star-analyse/jura/person:carl",
    }


def test_a_grant_can_require_an_approver_from_another_organisation(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    policies = edited_policies(
        tmp_path / "policies",
        {
            "grants/star-analyse.yaml": (
                "    population: persons-in-resource-course\n"
                "    columns: [contact_start, contact_end, contact_type, diagnosis_chapter]\n",
                "    population: persons-in-resource-course\n"
                "    columns: [contact_start, contact_end, contact_type, diagnosis_chapter]\n"
                "    four_eyes: other-organisation\n",
            )
        },
    )
    with running_gateway(tmp_path / "var", policies=policies) as gw:
        push_all(gw, synthetic)
        anna = bearer(provider().person("anna"))
        ext = gw.client.post("/v1/extracts", json=LINKED, headers=anna)
        url = f"/v1/extracts/{ext.json()['id']}"
        other_unit = gw.client.post(f"{url}/approve", headers=bearer(provider().person("carl")))
        assert other_unit.status_code == 403
        assert "another organisation" in other_unit.json()["detail"]
        other_org = gw.client.post(f"{url}/approve", headers=bearer(provider().person("dina")))
        assert other_org.status_code == 200, other_org.text


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return gateway_cmd(*args, data_dir=Path(env["GATEWAY_DATA_DIR"]), env=env)


@pytest.mark.slow
def test_the_cli_logs_in_machines_and_people_and_renews_their_tokens(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    server = Server(tmp_path / "var")
    server.start()
    try:
        env = {
            **os.environ,
            "GATEWAY_URL": server.url,
            "GATEWAY_POLICIES_DIR": str(POLICIES),
            "GATEWAY_SESSION_FILE": str(tmp_path / "session.json"),
            "GATEWAY_DATA_DIR": str(tmp_path / "cli"),
        }
        env.pop("GATEWAY_TOKEN", None)
        # A machine: a client key file, no token pasted anywhere.
        key_file = tmp_path / "sundhedsdatastyrelsen.json"
        provider().tokens.client("sundhedsdatastyrelsen", ("source",)).save(key_file)
        assert key_file.stat().st_mode & 0o077 == 0
        pushed = _cli(
            "push", str(synthetic.path("lpr")), "--source", "sundhedsdatastyrelsen",
            "--dataset", "lpr", "--period", "2016-11",
            env={**env, "GATEWAY_CLIENT_KEY": str(key_file)},
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stderr
        login = _cli("login", "--client-key", str(key_file), env=env)
        assert login.returncode == 0, login.stderr
        for verb in (("catalogue", "list"), ("catalogue", "grants")):
            listed = _cli(*verb, env=env)
            assert listed.returncode == 0, (verb, listed.stderr)
        assert (tmp_path / "session.json").stat().st_mode & 0o077 == 0
        # A person: the device flow, confirmed in the provider's pages.
        with subprocess.Popen(
            [sys.executable, "-m", "gateway", "login", "--issuer", provider().issuer],
            env=env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        ) as person:
            assert person.stderr is not None
            line = person.stderr.readline()
            url = line.split("Open ", 1)[1].split(" in a browser")[0]
            confirm_in_browser(url, "dpo")
            assert person.wait(timeout=60) == 0
        queue = _cli("extract", "queue", env=env)
        assert queue.returncode == 0, queue.stderr
        assert _cli("extract", "list", env=env).returncode == 0
        # An expired access token is renewed with the refresh token, without a new login.
        session = json.loads((tmp_path / "session.json").read_text())
        session["expires_at"] = 0
        (tmp_path / "session.json").write_text(json.dumps(session))
        again = _cli("extract", "queue", env=env)
        assert again.returncode == 0, again.stderr
        renewed = json.loads((tmp_path / "session.json").read_text())
        assert renewed["access_token"] != session["access_token"]
        assert _cli("logout", env=env).returncode == 0
        gone = _cli("extract", "queue", env=env)
        assert gone.returncode == 1 and "gateway login" in gone.stderr
    finally:
        server.stop()


def test_dev_tokens_reach_every_algorithm(gateway: Gateway) -> None:
    """The provider signs access tokens with RS256, PS256, ES256 or EdDSA (per client); the
    gateway verifies each."""
    tokens: DevTokens = provider().tokens
    for alg in ("RS256", "PS256", "ES256", "EdDSA"):
        token = tokens.token("star-analyse", "recipient", alg=alg)
        assert jwt.get_unverified_header(token)["alg"] == alg
        assert gateway.client.get("/v1/extracts", headers=bearer(token)).status_code == 200


def test_a_machine_client_never_approves(gateway: Gateway, synthetic: Synthetic) -> None:
    """Approving is a second person's act: a client whose provider gave it the approver role
    is refused (and the refusal is audited)."""
    push_all(gateway, synthetic)
    ext = gateway.client.post(
        "/v1/extracts", json=LINKED, headers=bearer(provider().person("anna"))
    )
    machine = bearer(provider().tokens.token("hub-legal", "approver"))
    r = gateway.client.post(f"/v1/extracts/{ext.json()['id']}/approve", headers=machine)
    assert r.status_code == 403 and "person" in r.json()["detail"]
    person = bearer(provider().person("jurist"))
    assert (
        gateway.client.post(f"/v1/extracts/{ext.json()['id']}/approve", headers=person).status_code
        == 200
    )


def test_the_provider_never_forgets_a_registered_client_however_busy() -> None:
    """The quick-start adapter of ``oidc-provider`` kept the 1,000 most recent entries, and
    every token request stores its assertion's jti: after 2,000 requests by others, a client
    registered earlier got ``invalid_client``. Registered clients now live as long as the
    provider."""
    p = provider()
    quiet = p.tokens.client("star-analyse", ("recipient", "source"))
    busy = p.tokens.client("star-statistik", ("recipient", "source"))
    for _ in range(2100):
        p.tokens.oauth.client_credentials(busy, p.tokens.resource)
    token = p.tokens.oauth.client_credentials(quiet, p.tokens.resource).access_token
    assert jwt.decode(token, options={"verify_signature": False})["organisation"] == "star-analyse"
