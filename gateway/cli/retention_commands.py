"""Storage limitation from the command line (Click).

At the installation's own terminal (the key folder's access is the authentication, as for
``gateway keys``): ``retention plan`` (what goes when, before anything goes), ``retention
sweep`` (erase what is due now), ``records export|approve`` (the records of processing).
Over HTTP, with a token: ``holds list|place|lift`` (auditors, the DPO) and ``deletions
list|confirm`` (recipients confirm they deleted their copies once a grant ended).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

import click

from gateway.cli import client
from gateway.cli.framework import CONTEXT, PATH, http_options, json_flag
from gateway.cli.local import local_principal
from gateway.config import Settings
from gateway.domain.principals import Role
from gateway.files import write_atomic
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.retention import erasure, plan, records


def _say(as_json: bool, body: Any, text: str) -> None:
    print(json.dumps(body, indent=2, ensure_ascii=False) if as_json else text)


@click.group(context_settings=CONTEXT)
def retention() -> None:
    """What the hub keeps, until when and why; erasing what is due."""


@retention.command("plan")
@click.option(
    "--on", type=click.DateTime(["%Y-%m-%d"]), default=None, help="as of this day (YYYY-MM-DD)"
)
@click.option("--all", "everything", is_flag=True, help="list every item, not only the first")
@json_flag
def retention_plan(on: dt.datetime | None, everything: bool, json: bool) -> int:
    """What would be erased, and when, under each retention rule; what holds delay."""
    runtime = open_runtime(Settings())
    try:
        shown = plan.plan(
            runtime.context,
            by=local_principal("hub-dpo", Role.AUDITOR),
            on=on.date() if on else None,
        ).as_dict()
    finally:
        runtime.close()
    summary = shown["summary"]
    lines = [
        f"as of {shown['on']}: {summary['held_at_the_hub']} held at the hub, "
        f"{summary['due_now']} due now, {summary['delayed_by_holds']} delayed by legal holds, "
        f"{summary['erased']} erased; next due {summary['next_due'] or '-'}"
    ]
    items = shown["items"] if everything else shown["items"][:20]
    for item in items:
        where = " ".join(
            str(item.get(k)) for k in ("dataset", "period", "recipient") if item.get(k)
        )
        held = f"  held by {', '.join(item['held_by'])}" if item["held_by"] else ""
        lines.append(
            f"  {item['due'] or 'kept':10} {item['kind']:8} {item['id']}  {where}  "
            f"{item['state']}: {item['reason']}{held}"
        )
    if len(shown["items"]) > len(items):
        lines.append(f"  ... {len(shown['items']) - len(items)} more (--all)")
    _say(json, shown, "\n".join(lines))
    return 0


@retention.command("sweep")
@json_flag
def retention_sweep(json: bool) -> int:
    """Erase what is due now (the server's workers do this every hour)."""
    runtime = open_runtime(Settings())
    try:
        result = erasure.sweep(
            runtime.context, by=local_principal("hub-operations", Role.OPERATOR)
        ).as_dict()
    finally:
        runtime.close()
    lines = [
        f"erased {len(result['erased'])}, finished {result['resumed']} begun before, "
        f"{result['held']} delayed by legal holds; {result['deletion_requests']} deletion "
        f"request(s), {result['reminders']} reminder(s)"
    ]
    lines += [
        f"  {e['kind']} {e['id']}: {e['rule']} (due {e['due']}), audit entry {e['audit_index']}"
        for e in result["erased"]
    ]
    _say(json, result, "\n".join(lines))
    return 0


@click.group(context_settings=CONTEXT)
def records_group() -> None:
    """The records of processing activities (GDPR art. 30), from the policies."""


@records_group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(records.FORMATS)),
    default="html",
    show_default=True,
    help="html (printable), jsonld (W3C DPV) or json",
)
@click.option("--out", type=PATH, default=None, help="a file (default: standard output)")
@click.option("--approved", type=int, default=None, help="an approved version, as frozen")
def records_export(fmt: str, out: Path | None, approved: int | None) -> int:
    """Write the records of processing (today's, or an approved version)."""
    runtime = open_runtime(Settings())
    by = local_principal("hub-dpo", Role.AUDITOR)
    try:
        if approved is None:
            text = records.render(records.current(runtime.context, by=by), fmt)
        else:
            meta, record = records.snapshot(runtime.context, by=by, version=approved)
            text = records.render(record, fmt, meta)
    finally:
        runtime.close()
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text.encode())
        print(f"wrote {out}", file=sys.stderr)
    return 0


@records_group.command("approve")
@json_flag
def records_approve(json: bool) -> int:
    """Approve today's records of processing: frozen as the next version (audited)."""
    runtime = open_runtime(Settings())
    try:
        done = records.approve(runtime.context, by=local_principal("hub-dpo", Role.AUDITOR))
    finally:
        runtime.close()
    _say(json, done, f"approved version {done['version']} (sha256 {done['sha256']})")
    return 0


@click.group(context_settings=CONTEXT)
def holds() -> None:
    """Legal holds (auditors and the DPO): nothing a hold covers is erased."""


@holds.command("list")
@http_options
def holds_list(**params: Any) -> int:
    """Every legal hold, standing and lifted."""
    return client.call(Namespace(**params), "GET", "/v1/retention/holds")


@holds.command("place")
@click.option("--reason", required=True, help="why (no CPR); audited")
@click.option("--dataset", default=None, help="hold this dataset's deliveries")
@click.option("--source", default=None, help="hold this source's deliveries")
@click.option("--from", "period_from", default=None, help="first month, YYYY-MM")
@click.option("--to", "period_to", default=None, help="last month, YYYY-MM")
@click.option("--release", default=None, help="hold this release's content")
@http_options
def holds_place(**params: Any) -> int:
    """Place a legal hold on a dataset, a source, months or a release."""
    keys = ("reason", "dataset", "source", "period_from", "period_to", "release")
    body = {k: params.pop(k) for k in keys}
    return client.call(Namespace(**params), "POST", "/v1/retention/holds", json_body=body)


@holds.command("lift")
@click.argument("hold_id")
@click.option("--reason", default=None, help="why it may be lifted (the one who asks)")
@http_options
def holds_lift(hold_id: str, reason: str | None, **params: Any) -> int:
    """Ask to lift a hold; a second person runs the same to lift it."""
    path = f"/v1/retention/holds/{hold_id}/lift"
    return client.call(Namespace(**params), "POST", path, json_body={"reason": reason})


@click.group(context_settings=CONTEXT)
def deletions() -> None:
    """Recipients' deletions once a grant has ended: the hub asks, the recipient confirms."""


@deletions.command("list")
@http_options
def deletions_list(**params: Any) -> int:
    """Your deletion requests (auditors: every recipient's), overdue ones marked."""
    return client.call(Namespace(**params), "GET", "/v1/retention/deletions")


@deletions.command("confirm")
@click.argument("request_id")
@click.option("--note", default=None, help="how the copies were deleted (no CPR)")
@http_options
def deletions_confirm(request_id: str, note: str | None, **params: Any) -> int:
    """Confirm that your copies of the requested releases are deleted (audited)."""
    path = f"/v1/retention/deletions/{request_id}/confirm"
    return client.call(Namespace(**params), "POST", path, json_body={"note": note})


COMMANDS: dict[str, click.Command] = {
    "retention": retention,
    "records": records_group,
    "holds": holds,
    "deletions": deletions,
}
