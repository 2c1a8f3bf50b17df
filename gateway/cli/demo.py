"""``gateway demo``: the main job end to end against a real server process on the embedded default.

Starts ``gateway serve`` on a free port with a fresh state folder, pushes every synthetic
delivery over HTTP, shows the refusals the law requires, approves and pulls one linked extract,
verifies the audit trail, prints a summary and stops the server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx

from gateway.cli.demo_flow import PERIOD, Demo, flow
from gateway.cli.demo_retention import retention_step
from gateway.cli.demo_witnesses import DemoWitnesses
from gateway.cli.framework import CONTEXT, PATH
from gateway.config import Settings
from gateway.domain.policy_files import load_catalogue
from gateway.identity.dev_provider import ProviderProcess
from gateway.identity.dev_setup import AUDIENCE, init_dev_identity
from gateway.identity.dev_tokens import DevTokens
from gateway.services.audit import trail as audit_service
from gateway.services.deliveries import synthetic
from gateway.services.platform import installation
from gateway.services.platform.bootstrap import open_runtime


@click.command("demo", context_settings=CONTEXT)
@click.option(
    "--dir", "dir", type=PATH, default=Path("var/demo"), show_default=True, help="state (reset)"
)
@click.option("--scale", type=float, default=1.0, show_default=True, help="synthetic data size")
@click.option(
    "--serve",
    is_flag=True,
    help="do not run the demo again: serve the state it left in --dir (console, API) until Ctrl-C",
)
@click.option("--port", type=int, default=8000, show_default=True, help="the port --serve uses")
def demo(**params: Any) -> int:
    """Run the whole flow against a real server and summarise (or, with --serve, serve what the
    last run left so its console can be opened)."""
    if params["serve"]:
        from gateway.cli.demo_serve import serve

        return serve(params["dir"], params["port"])
    return run(argparse.Namespace(**params))


COMMANDS: dict[str, click.Command] = {"demo": demo}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    folder: Path = args.dir
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    env = {**os.environ, "GATEWAY_DATA_DIR": str(folder), "GATEWAY_LOG_JSON": "true"}
    database_url, which = installation.demo_database(os.environ.get("GATEWAY_DATABASE_URL"))
    if which:
        print(which)
    if database_url is None:
        env.pop("GATEWAY_DATABASE_URL", None)
    else:
        env["GATEWAY_DATABASE_URL"] = database_url
    # Every part of the demo (server, checks, verification) uses the same database.
    installation.mark_demo_database(database_url)
    settings = Settings(data_dir=folder, database_url=database_url)
    installation.init_keys(settings)
    witnesses = DemoWitnesses(folder, installation.log_vkey(settings))
    env["GATEWAY_WITNESS_POLICY_FILE"] = str(witnesses.policy)
    catalogue = load_catalogue(settings.policies_dir)
    provider_state = init_dev_identity(folder, catalogue, port=_free_port())
    env["GATEWAY_TRUSTED_ISSUERS_FILE"] = str(folder / "trusted-issuers.yaml")
    print(f"identity provider (oidc-provider, Node.js) at {provider_state.issuer}")
    provider = ProviderProcess(provider_state, int(provider_state.issuer.rsplit(":", 1)[1]))
    provider.start()  # before the server's port is chosen: the two never pick the same one
    # The sources' own files hold plaintext CPR: keep them outside the hub's state, and delete.
    sources_dir = Path(tempfile.mkdtemp(prefix="gateway-demo-sources-"))
    try:
        files = synthetic.write(catalogue, sources_dir, period=PERIOD, scale=args.scale)
    except BaseException:
        shutil.rmtree(sources_dir, ignore_errors=True)
        provider.stop()
        raise
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    with provider, witnesses, open(log_path, "wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(url, server, log_path)
            demo = Demo(folder, DevTokens(provider_state, AUDIENCE), url)
            summary = flow(demo, files, sources_dir)
            summary[-1:-1] = retention_step(demo, files, sources_dir)  # before "finished"
        finally:
            shutil.rmtree(sources_dir, ignore_errors=True)
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    runtime = open_runtime(settings)
    try:
        result = audit_service.verify(runtime.context)
    finally:
        runtime.close()
    elapsed = time.monotonic() - started
    print("\n== Summary")
    for line in summary:
        print(f"  {line}")
    print(
        f"  audit log: {'verified' if result.ok else 'BROKEN'}, {result.entries} entries, "
        f"{result.checkpoints} signed checkpoints, root {result.root[:16]}..."
    )
    print(f"  server log: {log_path}; state: {folder}; time {elapsed:.1f} s")
    print("  its console, on this data: make serve-demo (gateway demo --serve)")
    return 0 if result.ok else 1


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"the server exited with code {server.returncode} at start-up; its log:\n{tail}"
            )
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready within 60 s")
