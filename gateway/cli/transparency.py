"""Verbs for outsiders who check the audit log: witnesses, proof bundles and monitoring.

``gateway witness init|add-log|serve`` is what another organisation runs to witness the log
(C2SP tlog-witness). ``gateway audit verify-proof`` checks a C2SP tlog-proof offline with a
trust policy (C2SP tlog-policy) and nothing else; ``gateway audit prove`` computes one from the
log's tiles; ``gateway audit monitor`` proves, from tiles, that the log only grew since the
last time it looked.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import click

from gateway.cli.framework import CONTEXT, PATH
from gateway.services.audit import transparency


@click.group("witness", context_settings=CONTEXT)
def witness() -> None:
    """Run a witness of a gateway's audit log (C2SP tlog-witness), as another organisation."""


@witness.command("init")
@click.option("--dir", "dir", type=PATH, required=True, help="the witness's folder")
@click.option("--name", required=True, help="its name, e.g. witness.example.dk/w1")
@click.option(
    "--algorithm",
    type=click.Choice(["ml-dsa-44", "ed25519"]),
    default="ml-dsa-44",
    show_default=True,
    help="the cosignature type (C2SP recommends ML-DSA-44)",
)
def witness_init_command(**params: Any) -> int:
    """A new witness folder with its own key; prints the witness's public key (vkey)."""
    return witness_init(argparse.Namespace(**params))


@witness.command("add-log")
@click.option("--dir", "dir", type=PATH, required=True, help="the witness's folder")
@click.argument("vkey")
@click.argument("url", required=False)
def witness_add_log_command(**params: Any) -> int:
    """Trust a log: its key (from 'gateway keys show-public --audit') and, optionally, URL."""
    return witness_add_log(argparse.Namespace(**params))


@witness.command("serve")
@click.option("--dir", "dir", type=PATH, required=True, help="the witness's folder")
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to listen on")
@click.option("--port", type=int, default=8090, show_default=True, help="the port to listen on")
def witness_serve_command(**params: Any) -> int:
    """Answer add-checkpoint requests over HTTP."""
    return witness_serve(argparse.Namespace(**params))


POLICY = click.option("--policy", type=PATH, required=True, help="a C2SP tlog-policy file")


def add_audit_verbs(audit: click.Group) -> None:
    """The outsider's verbs under ``gateway audit``."""

    @audit.command("verify-proof")
    @click.argument("proof", type=PATH)
    @POLICY
    @click.option("--entry", type=PATH, default=None, help="the entry, if the proof has none")
    @click.option("--json", "json", is_flag=True, help="print the result as JSON")
    def verify_proof(**params: Any) -> int:
        """Check a C2SP tlog-proof (a .tlog-proof file, or a receipt or release) offline with
        a trust policy: the log's and the witnesses' keys, and the quorum."""
        return audit_verify_proof(argparse.Namespace(**params))

    @audit.command("prove")
    @click.argument("index", type=int)
    @click.option("--log", required=True, help="the log's prefix URL (the gateway's base URL)")
    @POLICY
    @click.option("--entry", type=PATH, default=None, help="the entry (else fetched: auditors)")
    @click.option("--out", type=PATH, default=None, help="write the proof here (default: stdout)")
    def prove(**params: Any) -> int:
        """Compute a tlog-proof of one entry from the log's tiles alone, and check it."""
        return audit_prove(argparse.Namespace(**params))

    @audit.command("monitor")
    @click.option("--log", required=True, help="the log's prefix URL")
    @POLICY
    @click.option("--state", type=PATH, required=True, help="where the last checkpoint is kept")
    @click.option("--size", type=int, default=None, help="check the checkpoint of this size")
    def monitor_command(**params: Any) -> int:
        """Prove from tiles that the log only grew since the checkpoint kept in --state."""
        return audit_monitor(argparse.Namespace(**params))


def audit_verify_proof(args: argparse.Namespace) -> int:
    checked = transparency.verify_proof(args.proof, args.policy, args.entry)
    if args.json:
        print(json.dumps({**checked.__dict__, "ok": True}, ensure_ascii=False, indent=2))
    else:
        witnesses = ", ".join(f"{n} (at {t})" for n, t in sorted(checked.cosigned_by.items()))
        print(
            f"ok: entry {checked.index} ({checked.entry.get('type', '?')}) is in {checked.origin} "
            f"at tree size {checked.tree_size}; cosigned by {witnesses or 'no witness'}"
        )
    return 0


def audit_prove(args: argparse.Namespace) -> int:
    token = os.environ.get("GATEWAY_TOKEN")
    text = transparency.prove(args.index, args.log, args.policy, args.entry, token)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def audit_monitor(args: argparse.Namespace) -> int:
    result = transparency.monitor_log(args.log, args.policy, args.state, args.size)
    print(f"ok: the log grew from {result.old_size} to {result.new_size} entries, consistently")
    return 0


def witness_init(args: argparse.Namespace) -> int:
    print(transparency.witness_init(args.dir, args.name, args.algorithm))
    return 0


def witness_add_log(args: argparse.Namespace) -> int:
    transparency.witness_add_log(args.dir, args.vkey, args.url)
    return 0


def witness_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.api.witness_app import create_witness_app

    app = create_witness_app(args.dir)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


COMMANDS: dict[str, click.Command] = {"witness": witness}
