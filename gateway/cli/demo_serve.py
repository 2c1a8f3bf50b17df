"""``gateway demo --serve``: serve what the last ``gateway demo`` left behind, so a person can
open the console on the demo's deliveries, releases, reviews and audit trail.

The demo's folder holds everything the server needs: its keys, its blobs, its SQLite file (or
the mark in its own PostgreSQL database), its identity provider's state and the witness
policy. This starts that provider again on the issuer's own port (its tokens name it), then
the server on ``127.0.0.1:<port>`` in the foreground, and stops both on Ctrl-C or SIGTERM.
The demo's witnesses are not restarted (each demo run makes new ones): receipts of new
deliveries then carry the log's signature alone, as the witness policy allows when no
witness answers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.identity.dev_provider import ProviderProcess, ProviderState
from gateway.identity.dev_setup import DEV_PEOPLE
from gateway.services.platform.installation import served_demo_database


def serve(folder: Path, port: int) -> int:
    provider_state = ProviderState(folder / "provider")
    if not (folder / "keys").is_dir() or not (provider_state.folder / "settings.json").exists():
        raise ConfigurationError(
            f"no demo state in {folder}: run 'make demo' (or 'gateway demo') first"
        )
    env = {**os.environ, "GATEWAY_DATA_DIR": str(folder)}
    env["GATEWAY_TRUSTED_ISSUERS_FILE"] = str(folder / "trusted-issuers.yaml")
    if (folder / "witness-policy.txt").exists():
        env["GATEWAY_WITNESS_POLICY_FILE"] = str(folder / "witness-policy.txt")
    database = served_demo_database(os.environ.get("GATEWAY_DATABASE_URL"))
    if database is None:
        env.pop("GATEWAY_DATABASE_URL", None)
    else:
        env["GATEWAY_DATABASE_URL"] = database
    issuer_port = int(provider_state.issuer.rsplit(":", 1)[1])
    with ProviderProcess(provider_state, issuer_port).start():
        people = ", ".join(f"{p.login} ({'+'.join(p.roles)})" for p in DEV_PEOPLE)
        print(f"identity provider of the demo at {provider_state.issuer}", file=sys.stderr)
        print(
            f"the demo's data in {folder}: console at http://127.0.0.1:{port}/console/ "
            f"(people, any password: {people}); Ctrl-C stops",
            file=sys.stderr,
        )
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)], env=env
        )
        signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait(timeout=15)
            return 0
