"""``gateway provider``: the development OpenID provider (never used by a production gateway).

``init`` writes its state, a client key file per source and recipient (``<data_dir>/clients``)
and the gateway's trusted issuers file; ``serve`` runs it in the foreground;
``rotate-keys`` makes new signing keys (the old ones stay published until restart + expiry).
"""

from __future__ import annotations

import argparse
import signal
import sys

import click

from gateway.cli.framework import CONTEXT
from gateway.config import Settings
from gateway.domain.policy_files import load_catalogue
from gateway.identity.dev_provider import ProviderProcess, ProviderState
from gateway.identity.dev_setup import DEV_PEOPLE, init_dev_identity


@click.group("provider", context_settings=CONTEXT)
def provider() -> None:
    """The development identity provider (oidc-provider on Node.js): never for production."""


@provider.command("init")
def init_command() -> int:
    """Write its state, a client key file per organisation, and the trusted issuers file."""
    return provider_init(argparse.Namespace())


@provider.command("serve")
def serve_command() -> int:
    """Run it in the foreground (port: GATEWAY_PROVIDER_PORT)."""
    return provider_serve(argparse.Namespace())


@provider.command("rotate-keys")
def rotate_command() -> int:
    """New signing keys, used after a restart (the old ones stay published until then)."""
    return provider_rotate(argparse.Namespace())


def _state(settings: Settings) -> ProviderState:
    return ProviderState(settings.data_dir / "provider")


def provider_init(_args: argparse.Namespace) -> int:
    settings = Settings()
    catalogue = load_catalogue(settings.policies_dir)
    state = init_dev_identity(
        settings.data_dir,
        catalogue,
        port=settings.provider_port,
        trusted_issuers_file=settings.resolved_trusted_issuers_file,
        issuer=settings.provider_issuer,
        listen=settings.provider_listen,
    )
    print(f"provider state in {state.folder}; issuer {state.issuer}")
    print(f"client key files (machines) in {settings.data_dir / 'clients'}")
    print(f"trusted issuers file: {settings.resolved_trusted_issuers_file}")
    people = ", ".join(f"{p.login} ({p.organisation}: {'+'.join(p.roles)})" for p in DEV_PEOPLE)
    print(f"people (any password): {people}")
    return 0


def provider_serve(_args: argparse.Namespace) -> int:
    settings = Settings()
    state = _state(settings)
    if not (state.folder / "settings.json").exists():
        provider_init(_args)
    process = ProviderProcess(state, settings.provider_port).start()
    print(f"identity provider at {state.issuer} (Ctrl-C stops it)", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: process.stop())
    try:
        if process.process is not None:
            process.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        process.stop()
    return 0


def provider_rotate(_args: argparse.Namespace) -> int:
    kids = _state(Settings()).rotate_keys()
    print(f"new signing keys {', '.join(kids)}; restart the provider to use them")
    return 0


COMMANDS: dict[str, click.Command] = {"provider": provider}
