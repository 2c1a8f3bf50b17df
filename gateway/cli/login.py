"""``gateway login`` / ``logout``, and the bearer token every HTTP verb sends.

Nobody pastes tokens: a person logs in once on a terminal (device flow: open the shown
address in any browser, confirm the code) and the CLI keeps the tokens in a session file
readable by that user only, refreshing them as they expire. A machine (a data owner's nightly
script) names its client key file (``--client-key`` or ``GATEWAY_CLIENT_KEY``) and the CLI
gets a fresh token by client credentials with ``private_key_jwt`` whenever it needs one.

Where the token comes from, first match wins: ``--token``; ``GATEWAY_TOKEN``;
``GATEWAY_CLIENT_KEY``; the session file (``GATEWAY_SESSION_FILE``, default
``~/.config/gateway/session.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from gateway.cli.framework import CONTEXT, PATH
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


def bearer_token(args: argparse.Namespace) -> str:
    """The token for an HTTP verb, from the first source that has one."""
    explicit = getattr(args, "token", None) or os.environ.get("GATEWAY_TOKEN")
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


@click.command("login", context_settings=CONTEXT)
@click.option("--issuer", default=None, help="the identity provider's issuer URL (people)")
@click.option("--client-id", default=CLI_CLIENT, show_default=True, help="public client (people)")
@click.option("--client-key", type=PATH, default=None, help="a machine client's key file")
@click.option(
    "--audience",
    default=lambda: os.environ.get("GATEWAY_AUDIENCE", DEFAULT_AUDIENCE),
    show_default="$GATEWAY_AUDIENCE or urn:gateway",
    help="the gateway's name at the provider",
)
def login_command(**params: Any) -> int:
    """Log in at the identity provider: a person by device code (open the address shown, in
    any browser), a machine with its client key file. The session file is yours only."""
    return login(argparse.Namespace(**params))


@click.command("logout", context_settings=CONTEXT)
def logout_command() -> int:
    """Forget the session's tokens."""
    return logout(argparse.Namespace())


def login(args: argparse.Namespace) -> int:
    path = session_file()
    if args.client_key:
        key = ClientKey.load(args.client_key)
        with OAuthClient(key.issuer) as oauth:
            tokens = oauth.client_credentials(key, args.audience)
        session = Session(
            key.issuer,
            args.audience,
            tokens.access_token,
            tokens.expires_at,
            client_id=key.client_id,
            client_key_file=str(args.client_key.resolve()),
        )
    else:
        if not args.issuer:
            print("error: give --issuer (a person) or --client-key (a machine)", file=sys.stderr)
            return 2
        with OAuthClient(args.issuer) as oauth:
            code = oauth.start_device_login(args.client_id, args.audience)
            print(
                f"Open {code.verification_uri_complete or code.verification_uri} in a browser "
                f"and confirm the code {code.user_code}. Waiting...",
                file=sys.stderr,
                flush=True,
            )
            tokens = oauth.finish_device_login(code, args.client_id)
        session = Session(
            args.issuer,
            args.audience,
            tokens.access_token,
            tokens.expires_at,
            tokens.refresh_token,
            args.client_id,
        )
    session.save(path)
    print(f"logged in; session kept in {path}", file=sys.stderr)
    return 0


def logout(_args: argparse.Namespace) -> int:
    session_file().unlink(missing_ok=True)
    print("logged out", file=sys.stderr)
    return 0


COMMANDS: dict[str, click.Command] = {"login": login_command, "logout": logout_command}
