"""The development identity provider for benchmarks: started beside the gateway, trusted by
it, and a source of tokens (the same path as the tests and the demo)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.domain.policy_files import load_catalogue
from gateway.identity.dev_provider import ProviderProcess
from gateway.identity.dev_setup import AUDIENCE, init_dev_identity
from gateway.identity.dev_tokens import DevTokens

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dev_identity(data: Path) -> Iterator[DevTokens]:
    """A running provider whose issuer ``data/trusted-issuers.yaml`` trusts."""
    state = init_dev_identity(data, load_catalogue(ROOT / "policies"), port=_port())
    with ProviderProcess(state, int(state.issuer.rsplit(":", 1)[1])).start():
        tokens = DevTokens(state, AUDIENCE)
        try:
            yield tokens
        finally:
            tokens.oauth.close()
