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
import os
import sys
from typing import Any

import click

from gateway.cli.framework import CONTEXT, PATH
from gateway.identity.client_keys import ClientKey
from gateway.identity.credentials import DEFAULT_AUDIENCE, Session, session_file
from gateway.identity.dev_tokens import CLI_CLIENT
from gateway.identity.oauth import OAuthClient


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
