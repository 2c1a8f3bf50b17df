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
from pathlib import Path
from typing import Any

from gateway.audit.proof_bundle import parse_bundle, verify_bundle
from gateway.audit.tile_client import TileClient, monitor
from gateway.audit.trust_policy import TrustPolicy, parse_policy
from gateway.audit.witness.core import Witness
from gateway.errors import InvalidRequest


def register(sub: Any) -> None:
    witness = sub.add_parser(
        "witness", help="run a witness for a gateway's audit log (C2SP tlog-witness)"
    ).add_subparsers(dest="verb", required=True)
    p = witness.add_parser("init", help="a new witness folder with its own key; prints its vkey")
    p.add_argument("--dir", type=Path, required=True, help="the witness's folder")
    p.add_argument("--name", required=True, help="the witness's name, e.g. witness.example.dk/w1")
    p.set_defaults(handler=witness_init)
    p = witness.add_parser("add-log", help="trust a log: its checkpoint verifier key (vkey)")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("vkey", help="the log's key, from 'gateway keys show-public --audit'")
    p.add_argument("url", nargs="?", help="the log's prefix URL (informational)")
    p.set_defaults(handler=witness_add_log)
    p = witness.add_parser("serve", help="answer add-checkpoint requests over HTTP")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.set_defaults(handler=witness_serve)


def register_audit(audit: Any) -> None:
    """The outsider's verbs under ``gateway audit``."""
    p = audit.add_parser("verify-proof", help="check a C2SP tlog-proof offline with a trust policy")
    p.add_argument("proof", type=Path, help="a .tlog-proof file, or a receipt/release (JSON)")
    p.add_argument("--policy", type=Path, required=True, help="C2SP tlog-policy file")
    p.add_argument("--entry", type=Path, help="the entry's bytes, if the proof carries none")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=audit_verify_proof)
    p = audit.add_parser("prove", help="compute a tlog-proof of one entry from the log's tiles")
    p.add_argument("index", type=int)
    p.add_argument("--log", required=True, help="the log's prefix URL (the gateway's base URL)")
    p.add_argument("--policy", type=Path, required=True)
    p.add_argument("--entry", type=Path, help="the entry's bytes (else fetched: auditors)")
    p.add_argument("--out", type=Path, help="write the proof here (default: stdout)")
    p.set_defaults(handler=audit_prove)
    p = audit.add_parser(
        "monitor", help="prove from tiles that the log only grew since the saved checkpoint"
    )
    p.add_argument("--log", required=True, help="the log's prefix URL")
    p.add_argument("--policy", type=Path, required=True)
    p.add_argument("--state", type=Path, required=True, help="where the last checkpoint is kept")
    p.add_argument(
        "--size", type=int, help="check the checkpoint signed for this size (default: latest)"
    )
    p.set_defaults(handler=audit_monitor)


def _policy(path: Path) -> TrustPolicy:
    try:
        return parse_policy(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequest(f"{path}: {exc}") from None


def _bundle_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):  # a receipt or release: its audit member carries it
        audit = json.loads(text).get("audit") or {}
        if "tlog_proof" not in audit:
            raise InvalidRequest(f"{path} carries no tlog_proof (issued before witnessing?)")
        return str(audit["tlog_proof"])
    return text


def audit_verify_proof(args: argparse.Namespace) -> int:
    bundle = parse_bundle(_bundle_text(args.proof))
    entry = args.entry.read_bytes() if args.entry else None
    checked = verify_bundle(bundle, _policy(args.policy), entry)
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
    entry = args.entry.read_bytes() if args.entry else None
    with TileClient(args.log, token=os.environ.get("GATEWAY_TOKEN")) as client:
        text = client.prove(args.index, _policy(args.policy), entry).text()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def audit_monitor(args: argparse.Namespace) -> int:
    with TileClient(args.log) as client:
        result = monitor(client, _policy(args.policy), args.state, args.size)
    print(f"ok: the log grew from {result.old_size} to {result.new_size} entries, consistently")
    return 0


def witness_init(args: argparse.Namespace) -> int:
    witness = Witness.init(args.dir, args.name)
    print(witness.cosigner.vkey)
    return 0


def witness_add_log(args: argparse.Namespace) -> int:
    Witness(args.dir).add_log(args.vkey, args.url)
    return 0


def witness_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.api.witness_app import create_witness_app

    app = create_witness_app(args.dir)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0
