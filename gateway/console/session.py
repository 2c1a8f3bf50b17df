"""Console sessions: the whole session in one cookie, sealed with AES-256-GCM under a key
derived from the master key, so any worker process can read it and nobody can read or forge
it. It holds the person's access token (verified on every request with the same verifier as
the API), a CSRF secret, the language, and, during login, the PKCE verifier and state."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field

from gateway.crypto.cookies import seal, unseal
from gateway.crypto.keys import Labels

COOKIE = "gateway_console"
LABEL = Labels.CONSOLE_SESSION  # HKDF label of the sealing key (keys/README.md)
_AAD = b"gateway console session v1"
MAX_AGE = 12 * 3600


@dataclass
class ConsoleSession:
    token: str | None = None
    expires_at: float = 0.0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    lang: str = "da"
    state: str | None = None  # during login: the OAuth state and PKCE verifier
    verifier: str | None = None
    next: str = "/console/"

    def logged_in(self) -> bool:
        return self.token is not None and time.time() < self.expires_at


class SessionCodec:
    """Seals and opens session cookies; a cookie that does not open is no session."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, session: ConsoleSession) -> str:
        return seal(self._key, json.dumps(asdict(session), separators=(",", ":")).encode(), _AAD)

    def open(self, cookie: str | None) -> ConsoleSession:
        body = unseal(self._key, cookie, _AAD)
        if body is None:
            return ConsoleSession()
        try:
            return ConsoleSession(**json.loads(body))
        except (ValueError, TypeError):
            return ConsoleSession()
