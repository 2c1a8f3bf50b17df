"""Verbs that act on the local installation: serve, keys, synth, policy, audit, db."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import re
import sys
from pathlib import Path
from typing import Any

from gateway.audit import receipts
from gateway.audit.verify import VerifyResult
from gateway.cli.progress import progress
from gateway.config import Settings
from gateway.crypto.keys import KeyRing, init_key_folder, master_key_source
from gateway.crypto.notes import NoteError, NoteVerifier
from gateway.dataplane import synth
from gateway.domain.catalogue import OutputForm, Purpose
from gateway.domain.catalogue_doc import catalogue_markdown
from gateway.domain.identifiers import canonical
from gateway.domain.policy import evaluate, parse_purpose
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import ActorKind, Principal, Role
from gateway.errors import InvalidRequest
from gateway.files import write_atomic
from gateway.services import audit as audit_service
from gateway.services import keys as keys_service
from gateway.services.audit_filters import CATEGORIES, relative_range
from gateway.services.bootstrap import audit_checkpointer, open_runtime
from gateway.services.ports import AuditQuery
from gateway.storage import migrate
from gateway.storage.sql_store import SqlStore


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if getattr(args, "json", False) else text)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.api.app import create_app

    app = create_app(Settings())  # fail here, loudly, on bad policies, keys or database
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    else:
        # Each worker process builds its own app from the same environment; they share the
        # database (PostgreSQL for several workers), the blob folder and the key folder.
        uvicorn.run(
            "gateway.api.app:create_app",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
        )
    return 0


def keys_init(_args: argparse.Namespace) -> int:
    settings = Settings()
    created = init_key_folder(settings.resolved_keys_dir)
    folder = settings.resolved_keys_dir
    print(
        f"key folder {folder}: "
        + (
            ", ".join(p.name for p in created) + " created"
            if created
            else "complete, nothing created"
        )
    )
    return 0


def keys_show_public(_args: argparse.Namespace) -> int:
    """Print a public key. Reads only: creates no key, no database and no log entry (a
    missing key is an error that says what to do)."""
    settings = Settings()
    master = master_key_source(settings.resolved_keys_dir, settings.master_key).load()
    print(audit_checkpointer(settings, KeyRing(master)).signer.vkey)
    return 0


def _local(organisation: str, role: Role) -> Principal:
    """The person at the gateway's own terminal (named by their OS account in the audit
    entry): local verbs need access to the key folder, which is the authentication."""
    account = re.sub(r"[^a-z0-9._@+-]", "-", canonical(getpass.getuser())).lstrip("-._@+")
    return Principal(organisation, frozenset({role}), account or "unknown", ActorKind.LOCAL)


def _operator() -> Principal:
    return _local("hub-operations", Role.OPERATOR)


def keys_rotate(args: argparse.Namespace) -> int:
    ctx = open_runtime(Settings()).context
    if args.recipient:
        version = keys_service.rotate_recipient_key(ctx, by=_operator(), recipient=args.recipient)
        _emit(
            args,
            {"recipient": args.recipient, "version": version},
            f"recipient '{args.recipient}': new releases use pseudonym key v{version}; "
            "earlier releases keep the version recorded with them",
        )
        return 0
    result = keys_service.rotate_blob_kek(ctx, by=_operator())
    _emit(
        args,
        result.__dict__,
        f"blob KEK v{result.from_version} -> v{result.to_version}: {result.rewrapped} blob(s) "
        f"re-wrapped, {result.already_current} already current",
    )
    return 0


def keys_rewrap(args: argparse.Namespace) -> int:
    ctx = open_runtime(Settings()).context
    result = keys_service.rewrap_all(ctx, by=_operator(), to_version=ctx.blob_kek_version())
    _emit(
        args,
        result.__dict__,
        f"blob KEK v{result.to_version}: {result.rewrapped} blob(s) re-wrapped, "
        f"{result.already_current} already current",
    )
    return 0


def synth_cmd(args: argparse.Namespace) -> int:
    catalogue = load_catalogue(Settings().policies_dir)
    files = synth.generate(
        catalogue, args.out, period=args.period, seed=args.seed, scale=args.scale
    )
    lines = [f"{f.dataset:22} {f.rows:>8} rows  {args.out / f.path}" for f in files]
    _emit(args, [f.__dict__ for f in files], "\n".join(lines))
    return 0


def policy_check(args: argparse.Namespace) -> int:
    folder = args.dir or Settings().policies_dir
    cat = load_catalogue(folder)
    print(
        f"{folder}: OK - {len(cat.sources)} sources, {len(cat.datasets)} datasets, "
        f"{len(cat.recipients)} recipients, {len(cat.populations)} populations, "
        f"{len(cat.grants)} grants; policy hash {cat.policy_hash}"
    )
    return 0


def policy_explain(args: argparse.Namespace) -> int:
    cat = load_catalogue(Settings().policies_dir)
    decision = evaluate(
        cat,
        recipient=args.recipient,
        purpose=parse_purpose(args.purpose),
        datasets=[(args.dataset, args.columns)],
        on=args.on or dt.date.today(),
        population=args.population,
    )
    lines = [("ALLOW" if decision.allowed else "DENY") + ": " + decision.summary()]
    for d in decision.datasets:
        for r in d.rules:
            lines.append(f"  [{r.outcome:5}] {r.rule}: {r.reason}")
            if r.citation:
                lines.append(f"          citation: {r.citation}")
    _emit(args, decision.as_dict(), "\n".join(lines))
    return 0 if decision.allowed else 1


def policy_doc(_args: argparse.Namespace) -> int:
    print(catalogue_markdown(load_catalogue(Settings().policies_dir)), end="")
    return 0


def policy_ptable(args: argparse.Namespace) -> int:
    """The p-table the default rules name (an office's file, or the generated one)."""
    cat = load_catalogue(Settings().policies_dir)
    table = cat.ptable(cat.disclosure)
    text = table.csv_text()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    write_atomic(args.out, text.encode())
    print(f"wrote the p-table ({table.name}) to {args.out}", file=sys.stderr)
    return 0


def policy_table(args: argparse.Namespace) -> int:
    """Every recipient x dataset x purpose, decided for the grant's own population."""
    cat = load_catalogue(Settings().policies_dir)
    rows = []
    for recipient in sorted(cat.recipients):
        for dataset in sorted(cat.datasets):
            for purpose in Purpose:
                decision = evaluate(
                    cat,
                    recipient=recipient,
                    purpose=purpose,
                    datasets=[(dataset, None)],
                    on=args.on or dt.date.today(),
                    output=OutputForm(args.output),
                )
                d = decision.datasets[0]
                rows.append(
                    {
                        "recipient": recipient,
                        "dataset": dataset,
                        "purpose": purpose.value,
                        "allowed": d.allowed,
                        "rule": d.deciding_rule.rule,
                        "grant": d.grant.id if d.grant else None,
                    }
                )
    wide = max(len(str(r["recipient"])) for r in rows)  # columns as wide as the longest id
    ds_wide = max(len(str(r["dataset"])) for r in rows)
    lines = [f"{'recipient':{wide}} {'dataset':{ds_wide}} {'purpose':15} decision  rule"]
    lines += [
        f"{r['recipient']:{wide}} {r['dataset']:{ds_wide}} {r['purpose']:15} "
        f"{'ALLOW' if r['allowed'] else 'deny':9} {r['rule']}"
        for r in rows
    ]
    _emit(args, rows, "\n".join(lines))
    return 0


def _auditor() -> Principal:
    return _local("hub-dpo", Role.AUDITOR)


def _show_verify(args: argparse.Namespace, result: VerifyResult) -> int:
    if result.ok:
        since = f"; proved {result.proven_since} only grew" if result.proven_since else ""
        text = (
            f"audit log OK: {result.entries} entries, {result.checkpoints} signed "
            f"checkpoints verified, root {result.root}{since}"
        )
    else:
        text = (
            f"audit log BROKEN at entry {result.first_bad_index}: {result.problem} "
            f"({result.entries} entries read)"
        )
    _emit(args, dict(result.__dict__), text)
    return 0 if result.ok else 1


def audit_verify(args: argparse.Namespace) -> int:
    ctx = open_runtime(Settings()).context
    since = [path.read_text() for path in args.since]
    with progress("verifying", ctx.store.audit_size(), unit="entries") as advance:
        result = audit_service.verify(ctx, since=since, progress=advance)
    return _show_verify(args, result)


def audit_index_subjects(_: argparse.Namespace) -> int:
    store = open_runtime(Settings()).store
    moved = store.index_subjects(all_pending=True)
    print(f"indexed {moved} subject keys; nothing is pending")
    return 0


def verifier_key(value: str) -> NoteVerifier:
    """The log's verifier key from ``--key``: the key's text (``name+hash+base64``) or the
    path of a file holding it (``vkey.txt`` of an export). A value that is neither is a
    wrong key format, said as such, never as a log that does not verify."""
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    try:
        return NoteVerifier.from_vkey(text)
    except NoteError:
        shown = "the file's content" if path.is_file() else "the value"
        raise InvalidRequest(
            f"wrong key format: {shown} is not a verifier key (expected name+hash+base64, "
            "as in the export's vkey.txt or `gateway keys show-public`, or that file's path)"
        ) from None


def audit_verify_receipt(args: argparse.Namespace) -> int:
    verifier = verifier_key(args.key or str(args.key_file))
    receipt = json.loads(args.file.read_text())
    checked = receipts.verify_receipt(receipt, verifier)
    print(
        f"receipt OK: entry {checked.index} ({checked.type}) is in the log of "
        f"'{checked.origin}' at size {checked.tree_size}, checkpoint signed by the key"
    )
    return 0


def audit_verify_export(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    return _show_verify(args, receipts.verify_export(folder, verifier_key(args.key)))


def audit_export(args: argparse.Namespace) -> int:
    ctx = open_runtime(Settings()).context
    with progress("exporting", ctx.store.audit_size(), unit="entries") as advance:
        done = audit_service.export(ctx, by=_auditor(), out=args.out, progress=advance)
    print(f"exported {done.entries} entries to {args.out}: {', '.join(done.files)}")
    return 0


def audit_subject(_args: argparse.Namespace) -> int:
    ctx = open_runtime(Settings()).context
    # Never from argv: the command line is visible to other users and kept in shell history.
    prompt = sys.stdin.isatty()
    cpr = getpass.getpass("CPR (not echoed): ") if prompt else sys.stdin.readline()
    for entry in audit_service.subject_lookup(ctx, by=_auditor(), cpr=cpr):
        sys.stdout.write(json.dumps(audit_service.entry_json(entry), ensure_ascii=False) + "\n")
    return 0


def audit_search(args: argparse.Namespace) -> int:
    """Search the trail as an auditor (the search itself is an audit entry)."""
    ctx = open_runtime(Settings()).context
    since, until = args.since, args.until
    if since and not re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", since):
        since, relative_until = relative_range(since, dt.date.today())
        until = until or relative_until
    query = AuditQuery(
        event_type=args.event_type,
        event_types=CATEGORIES.get(args.category or "", ()),
        actor=args.actor,
        dataset=args.dataset,
        recipient=args.recipient,
        since=since,
        until=until,
        limit=args.limit,
        offset=args.offset,
    )
    found, total = audit_service.search_page(ctx, by=_auditor(), query=query)
    for entry in found:
        sys.stdout.write(json.dumps(audit_service.entry_json(entry), ensure_ascii=False) + "\n")
    shown = f"entries {args.offset + 1}-{args.offset + len(found)}" if found else "no entries"
    more = total - args.offset - len(found)
    notice = f"; {more} more (use --offset {args.offset + len(found)})" if more > 0 else ""
    print(f"{shown} of {total} matching{notice}", file=sys.stderr)
    return 0


def db_upgrade(_args: argparse.Namespace) -> int:
    """The migration job: upgrade the schema, then check the installation starts."""
    settings = Settings()
    store = SqlStore.open(settings.resolved_database_url, migrate_schema=True)
    revision = migrate.current_revision(store.engine)
    store.dispose()
    runtime = open_runtime(settings.model_copy(update={"auto_migrate": False}))
    print(f"database ready at revision {revision}: {runtime.store.audit_size()} audit entries")
    return 0
