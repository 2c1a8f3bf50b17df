"""The caller's side of identity: where a script's or a person's bearer token comes from, for
the command line and the analysts' Python client alike.

Nobody pastes tokens: a person logs in once on a terminal (``gateway login``, the device flow)
and the tokens are kept in a session file readable by that user only, refreshed as they
expire. A machine (a data owner's nightly script) names its client key file
(``GATEWAY_CLIENT_KEY``) and gets a fresh token by client credentials with ``private_key_jwt``
whenever it needs one.

First match wins: an explicit token (``--token``); ``GATEWAY_TOKEN``; ``GATEWAY_CLIENT_KEY``;
the session file (``GATEWAY_SESSION_FILE``, default ``~/.config/gateway/session.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from gateway.errors import NotAuthenticated
from gateway.files import write_atomic
from gateway.identity.client_keys import ClientKey
from gateway.identity.dev_tokens import CLI_CLIENT
from gateway.identity.oauth import OAuthClient, TokenSet

DEFAULT_AUDIENCE = "urn:gateway"


def session_file() -> Path:
    configured = os.environ.get("GATEWAY_SESSION_FILE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "gateway" / "session.json"


@dataclass
class Session:
    issuer: str
    audience: str
    access_token: str
    expires_at: float
    refresh_token: str | None = None
    client_id: str = CLI_CLIENT
    client_key_file: str | None = None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, json.dumps(asdict(self), indent=2).encode(), mode=0o600)

    @classmethod
    def load(cls, path: Path) -> Session | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            raise NotAuthenticated(
                f"{path} is not a session file; run 'gateway login' again"
            ) from None

    def tokens(self) -> TokenSet:
        return TokenSet(self.access_token, self.expires_at, self.refresh_token)

    def renewed(self) -> Session:
        """A session whose access token is fresh: a machine asks again with its key, a person
        uses the refresh token (a refused refresh means: log in again)."""
        if self.tokens().fresh():
            return self
        if not (self.client_key_file or self.refresh_token):
            raise NotAuthenticated("the login has expired; run 'gateway login' again")
        with OAuthClient(self.issuer) as oauth:
            if self.client_key_file:
                key = ClientKey.load(Path(self.client_key_file))
                tokens = oauth.client_credentials(key, self.audience)
            else:
                assert self.refresh_token is not None
                try:
                    tokens = oauth.refresh(self.refresh_token, self.client_id, self.audience)
                except NotAuthenticated:
                    raise NotAuthenticated(
                        "the login has expired; run 'gateway login' again"
                    ) from None
        return Session(
            self.issuer,
            self.audience,
            tokens.access_token,
            tokens.expires_at,
            tokens.refresh_token or self.refresh_token,
            self.client_id,
            self.client_key_file,
        )


def bearer_token(token: str | None = None) -> str:
    """The token for a call to the gateway, from the first source that has one: ``token``
    (``--token``), ``GATEWAY_TOKEN``, ``GATEWAY_CLIENT_KEY``, the login session."""
    explicit = token or os.environ.get("GATEWAY_TOKEN")
    if explicit:
        return str(explicit)
    audience = os.environ.get("GATEWAY_AUDIENCE", DEFAULT_AUDIENCE)
    key_file = os.environ.get("GATEWAY_CLIENT_KEY")
    if key_file:
        key = ClientKey.load(Path(key_file))
        with OAuthClient(key.issuer) as oauth:
            return oauth.client_credentials(key, audience).access_token
    path = session_file()
    session = Session.load(path)
    if session is None:
        raise NotAuthenticated(
            "not logged in: run 'gateway login' (a person) or set GATEWAY_CLIENT_KEY to a "
            "client key file (a machine)"
        )
    renewed = session.renewed()
    if renewed is not session:
        renewed.save(path)
    return renewed.access_token
