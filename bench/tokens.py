"""Token verification per request, with the issuer's keys cached: the gateway's whole check
(shape, issuer, key lookup, signature, claims, age, claim mapping, organisation limits)
against a bare ``jwt.decode`` of the same token with the key in hand, per algorithm."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import jwt

from bench.identity import dev_identity
from gateway.identity.issuers import load_identity_config
from gateway.identity.verifier import TokenVerifier

ALGORITHMS = ("ES256", "EdDSA", "RS256", "PS256")


def _per_call(fn: Any, token: str, rounds: int) -> float:
    fn(token)  # warm: keys fetched, caches filled
    began = time.perf_counter()
    for _ in range(rounds):
        fn(token)
    return (time.perf_counter() - began) / rounds


def run(rounds: int = 2_000) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder, dev_identity(Path(folder)) as tokens:
        config = load_identity_config(Path(folder) / "trusted-issuers.yaml")
        verifier = TokenVerifier(config)
        issuer = config.issuers[0]
        try:
            for alg in ALGORITHMS:
                token = tokens.token("sundhedsdatastyrelsen", "source", alg=alg)
                kid = jwt.get_unverified_header(token)["kid"]
                key = verifier.keys_of(issuer.issuer).key(kid, alg)

                def bare(t: str, key: Any = key, alg: str = alg) -> object:
                    return jwt.decode(t, key, algorithms=[alg], audience=config.audience)

                full = _per_call(verifier.verify, token, rounds)
                plain = _per_call(bare, token, rounds)
                rows.append(
                    {
                        "figure": f"token verification per request, {alg}, keys cached",
                        "value": round(full * 1e6, 1),
                        "unit": "µs",
                        "baseline": round(plain * 1e6, 1),
                        "ratio": round(full / plain, 2),
                    }
                )
                print(f"  {rows[-1]['figure']}: {rows[-1]['value']} µs", flush=True)
        finally:
            verifier.close()
    return rows
