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

from gateway.cli.progress import progress
from gateway.config import Settings
from gateway.domain.audit_query import AuditQuery
from gateway.domain.catalogue import Catalogue, Grant, OutputForm, Purpose
from gateway.domain.catalogue_doc import catalogue_markdown
from gateway.domain.identifiers import canonical
from gateway.domain.policy import evaluate, parse_purpose
from gateway.domain.policy_checks import catalogue_warnings
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import ActorKind, Principal, Role
from gateway.errors import GatewayError
from gateway.files import write_atomic
from gateway.services.audit import subjects, transparency
from gateway.services.audit import trail as audit_service
from gateway.services.audit.filters import CATEGORIES, relative_range
from gateway.services.audit.transparency import VerifyResult
from gateway.services.deliveries import synthetic
from gateway.services.platform import installation
from gateway.services.platform import keys as keys_service
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.retention import erasure


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
    created = installation.init_keys(settings)
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
    print(installation.log_vkey(Settings()))
    return 0


def local_principal(organisation: str, role: Role) -> Principal:
    """The person at the gateway's own terminal (named by their OS account in the audit
    entry): local verbs need access to the key folder, which is the authentication."""
    account = re.sub(r"[^a-z0-9._@+-]", "-", canonical(getpass.getuser())).lstrip("-._@+")
    return Principal(organisation, frozenset({role}), account or "unknown", ActorKind.LOCAL)


def _operator() -> Principal:
    return local_principal("hub-operations", Role.OPERATOR)


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
    files = synthetic.write(
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
    for warning in catalogue_warnings(cat, dt.date.today()):
        print(f"warning: {warning}")
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
        lines.extend(_retention_lines(cat, d.dataset, d.grant))
    _emit(args, decision.as_dict(), "\n".join(lines))
    return 0 if decision.allowed else 1


def _retention_lines(cat: Catalogue, dataset: str, grant: Grant | None) -> list[str]:
    """How long the hub keeps the dataset's deliveries and the grant's releases, and when the
    recipient must confirm its deletion (docs/retention.md)."""
    lines = []
    kept = cat.datasets[dataset].retention if dataset in cat.datasets else None
    if kept is not None:
        lines.append(
            f"  retention: deliveries kept {kept.years_after_period} years after their month; "
            f"replaced versions {kept.superseded_months} months; withdrawn "
            f"{kept.withdrawn_days} days"
        )
    if grant is not None and grant.retention is not None:
        terms = grant.retention
        lines.append(
            f"  retention: a release is kept at the hub {terms.days_after_pull} days after its "
            f"last pull, never beyond the grant's end; the recipient confirms deletion within "
            f"{terms.recipient_deletion_days} days after the grant ends"
        )
        lines.append(f"          citation: {terms.citation}")
    if grant is not None and grant.dpia is not None:
        lines.append(f"  dpia: {grant.dpia.reference} (review by {grant.dpia.review_by})")
    return lines


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
    return local_principal("hub-dpo", Role.AUDITOR)


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


def audit_verify_receipt(args: argparse.Namespace) -> int:
    receipt = json.loads(args.file.read_text())
    checked = transparency.verify_receipt(receipt, args.key or str(args.key_file))
    print(
        f"receipt OK: entry {checked.index} ({checked.type}) is in the log of "
        f"'{checked.origin}' at size {checked.tree_size}, checkpoint signed by the key"
    )
    if (erased := _erased_on(receipt)) is not None:
        print(f"the content it is about was erased on {erased[:10]} (retention; docs/retention.md)")
    return 0


def _erased_on(receipt: dict[str, Any]) -> str | None:
    """On the hub's own machine, whether the receipt's content has since been erased; None
    elsewhere (the check above needs only the key)."""
    settings = Settings()
    if not settings.data_dir.is_dir():
        return None
    try:
        runtime = open_runtime(settings)
    except (GatewayError, OSError):
        return None
    try:
        return erasure.erased_on(
            runtime.context,
            delivery_id=receipt.get("delivery_id"),
            release_id=receipt.get("id") if str(receipt.get("id", "")).startswith("rel-") else None,
        )
    finally:
        runtime.close()


def audit_verify_export(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    return _show_verify(args, transparency.verify_export(folder, args.key))


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
    found = [
        audit_service.entry_json(e) for e in subjects.subject_lookup(ctx, by=_auditor(), cpr=cpr)
    ]
    _print_entries(found, getattr(_args, "json", False))
    return 0


def entry_line(entry: dict[str, Any]) -> str:
    """One audit entry as a line a person reads: its index, the minute (UTC), what happened,
    who did it, and what it was about; ``--json`` gives every field."""
    when = str(entry.get("time", ""))[:16].replace("T", " ")
    about = "; ".join(f"{k} {v}" for k, v in (entry.get("refs") or {}).items())
    return f"#{entry['index']:<7} {when}  {entry['type']:<28} {entry['actor']}  {about}".rstrip()


def _print_entries(entries: list[dict[str, Any]], as_json: bool) -> None:
    for entry in entries:
        line = json.dumps(entry, ensure_ascii=False) if as_json else entry_line(entry)
        sys.stdout.write(line + "\n")


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
    _print_entries([audit_service.entry_json(e) for e in found], getattr(args, "json", False))
    shown = f"entries {args.offset + 1}-{args.offset + len(found)}" if found else "no entries"
    more = total - args.offset - len(found)
    notice = f"; {more} more (use --offset {args.offset + len(found)})" if more > 0 else ""
    print(f"{shown} of {total} matching{notice}", file=sys.stderr)
    return 0


def db_upgrade(_args: argparse.Namespace) -> int:
    """The migration job: upgrade the schema, then check the installation starts."""
    revision, entries = installation.upgrade_database(Settings())
    print(f"database ready at revision {revision}: {entries} audit entries")
    return 0
