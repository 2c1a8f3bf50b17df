"""The verbs that talk to a gateway over HTTP: push, extract, catalogue, report (Click).

Every one takes ``--url`` (default ``$GATEWAY_URL``), ``--token`` (default: the login session,
``$GATEWAY_CLIENT_KEY`` or ``$GATEWAY_TOKEN``) and ``--json`` (the gateway's answer as is;
otherwise a few readable lines).
"""

from __future__ import annotations

import difflib
import json
from argparse import Namespace
from pathlib import Path
from typing import Any

import click

from gateway.cli import client
from gateway.cli.build_watch import BuildWatch, builds
from gateway.cli.framework import CONTEXT, PATH, http_options
from gateway.errors import InvalidRequest

PERIOD = click.option("--period", required=True, help="the month, YYYY-MM")
NOTE = click.option("--note", default=None, help="a note kept with the decision (no CPR)")


@click.command(context_settings=CONTEXT)
@click.argument("file", type=PATH)
@click.option("--source", required=True, help="the data owner: your organisation's id")
@click.option("--dataset", required=True, help="the dataset, e.g. lpr (see: catalogue list)")
@PERIOD
@click.option(
    "--confirm",
    is_flag=True,
    help="make it current even with no rows, far fewer rows or persons than the month's "
    "current version, or rows mostly outside the month (else it is held for confirmation)",
)
@http_options
def push(**params: Any) -> int:
    """Push a delivery file (CSV or Parquet) of one dataset for one month.

    A dropped connection or a busy gateway is retried with the whole file (a repeat of the
    same content for the same month gets the same receipt). A progress bar shows on a
    terminal."""
    return client.push(Namespace(**params))


@click.group(context_settings=CONTEXT)
def delivery() -> None:
    """A delivery: which version of its month it is, its quality report, and withdrawing it."""


@delivery.command("show")
@click.argument("delivery_id")
@http_options
def delivery_show(delivery_id: str, **params: Any) -> int:
    """A delivery's counts, its version, whether it is current, and its month's versions."""
    return client.call(Namespace(**params), "GET", f"/v1/deliveries/{delivery_id}")


@delivery.command("quality")
@click.argument("delivery_id")
@http_options
def delivery_quality(delivery_id: str, **params: Any) -> int:
    """A delivery's quality report: completeness, coverage by municipality, events outside the
    month, repeated rows, date precision, change against the previous month, and its flags."""
    return client.call(Namespace(**params), "GET", f"/v1/deliveries/{delivery_id}/quality")


@delivery.command("impact")
@click.argument("delivery_id")
@http_options
def delivery_impact(delivery_id: str, **params: Any) -> int:
    """Which recipients and releases hold data from a delivery, with persons and whether each
    was collected (auditors; a breach question)."""
    return client.call(Namespace(**params), "GET", f"/v1/deliveries/{delivery_id}/impact")


@delivery.command("confirm")
@click.argument("delivery_id")
@http_options
def delivery_confirm(delivery_id: str, **params: Any) -> int:
    """Confirm your delivery held for confirmation: it becomes its month's current version."""
    return client.call(Namespace(**params), "POST", f"/v1/deliveries/{delivery_id}/confirm")


@delivery.command("withdraw")
@click.argument("delivery_id")
@NOTE
@http_options
def delivery_withdraw(delivery_id: str, note: str | None, **params: Any) -> int:
    """Withdraw your month's current delivery: new releases no longer read it (audited)."""
    path = f"/v1/deliveries/{delivery_id}/withdraw"
    return client.call(Namespace(**params), "POST", path, json_body={"note": note})


@click.group(context_settings=CONTEXT)
def extract() -> None:
    """Extract specifications: request, decide, release, pull."""


@extract.command("request")
@click.argument("spec", type=PATH)
@http_options
def extract_request(spec: Path, **params: Any) -> int:
    """Request a specification (a JSON file: datasets, columns, purpose, population)."""
    body = json.loads(spec.read_text())
    return client.call(Namespace(**params), "POST", "/v1/extracts", json_body=body)


@extract.command("list")
@http_options
def extract_list(**params: Any) -> int:
    """The specifications you may see (your own; approvers and auditors: all)."""
    return client.call(Namespace(**params), "GET", "/v1/extracts")


@extract.command("show")
@click.argument("extract_id")
@http_options
def extract_show(extract_id: str, **params: Any) -> int:
    """One specification with its status and decision."""
    return client.call(Namespace(**params), "GET", f"/v1/extracts/{extract_id}")


def _decide(verb: str) -> click.Command:
    @click.argument("extract_id")
    @NOTE
    @http_options
    def decide(extract_id: str, note: str | None, **params: Any) -> int:
        return client.decide(Namespace(**params), extract_id, verb, note)

    decide.__doc__ = (
        f"{verb.capitalize()} a pending specification (an approver, not its requester): shows "
        "the specification and the policy's decision first, and at a terminal asks for a note"
        + (" (required: the comment the requester reads)." if verb == "return" else ".")
    )
    return click.command(verb)(decide)


extract.add_command(_decide("approve"))
extract.add_command(_decide("reject"))
extract.add_command(_decide("return"))


@extract.command("release")
@click.argument("extract_id")
@http_options
def extract_release(extract_id: str, **params: Any) -> int:
    """Run an approved specification (its recipient only): a new release. While a long build
    runs (on Spark), how it goes is shown on standard error."""
    args = Namespace(**params)
    with BuildWatch(args, extract_id):
        return client.call(args, "POST", f"/v1/extracts/{extract_id}/releases")


@extract.command("builds")
@click.argument("extract_id")
@http_options
def extract_builds(extract_id: str, **params: Any) -> int:
    """How a specification's releases were built, newest first: engine, Spark's tasks, how
    each ended (built, failed, interrupted)."""
    return builds(Namespace(**params), extract_id)


@extract.command("pull")
@click.argument("release_id")
@click.option("--out", type=PATH, required=True, help="where to write the file")
@click.option(
    "--format",
    "format",
    type=click.Choice(["parquet", "csv", "zip"]),
    default=None,
    help="parquet (microdata) or zip (aggregates) by default",
)
@click.option("--force", is_flag=True, help="replace --out if it exists")
@http_options
def extract_pull(**params: Any) -> int:
    """Download a release's content (its recipient only); a progress bar on a terminal."""
    return client.pull(Namespace(**params))


@extract.command("queue")
@http_options
def extract_queue(**params: Any) -> int:
    """Aggregates held for review (approvers, auditors)."""
    return client.call(Namespace(**params), "GET", "/v1/releases")


def _review(verb: str, path: str) -> click.Command:
    @click.argument("release_id")
    @NOTE
    @http_options
    def review(release_id: str, note: str | None, **params: Any) -> int:
        url = f"/v1/releases/{release_id}/{path}"
        return client.call(Namespace(**params), "POST", url, json_body={"note": note})

    review.__doc__ = f"Vote to {path} an aggregate held for review (an approver)."
    return click.command(verb)(review)


extract.add_command(_review("release-held", "release"))
extract.add_command(_review("withhold", "withhold"))


@click.group(context_settings=CONTEXT)
def catalogue() -> None:
    """The datasets and the legal bases in force."""


@catalogue.command("list")
@http_options
def catalogue_list(**params: Any) -> int:
    """Every dataset: owner, purposes, restriction, columns."""
    return client.call(Namespace(**params), "GET", "/v1/catalogue/datasets")


@catalogue.command("show")
@click.argument("dataset")
@http_options
def catalogue_show(dataset: str, **params: Any) -> int:
    """One dataset in full: its columns, purposes, restriction and quality notes."""
    args = Namespace(**params)
    with client.http_client(args) as http:
        answer = http.get("/v1/catalogue/datasets")
    if not answer.is_success:
        return client.show(answer, args.json)
    known = {d["id"]: d for d in answer.json()["datasets"]}
    if dataset not in known:
        near = difflib.get_close_matches(dataset, known, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else " (see: gateway catalogue list)"
        raise InvalidRequest(f"no dataset '{dataset}' in the catalogue{hint}")
    if args.json:
        print(json.dumps(known[dataset], indent=2, ensure_ascii=False))
    else:
        print(client.dataset_sheet(known[dataset]))
    return 0


@catalogue.command("grants")
@http_options
def catalogue_grants(**params: Any) -> int:
    """Every grant, with its citation and whether it is in force today."""
    return client.call(Namespace(**params), "GET", "/v1/catalogue/grants")


@click.command(context_settings=CONTEXT)
@click.argument("report_id")
@PERIOD
@click.option("--out", type=PATH, default=None, help="unpack the released bundle into this folder")
@http_options
def report(**params: Any) -> int:
    """Run a built-in aggregate report (e.g. ressourceforloeb) for a month."""
    return client.report(Namespace(**params))


@click.group(context_settings=CONTEXT)
def sessions() -> None:
    """The console's sessions, for operators: which are live, and ending them."""


@sessions.command("list")
@http_options
def sessions_list(**params: Any) -> int:
    """Every live console session: whose, since when, until when."""
    return client.call(Namespace(**params), "GET", "/v1/sessions")


@sessions.command("revoke")
@click.option("--person", default=None, help="an identity, e.g. hub-legal/legal/person:jurist")
@click.option("--organisation", default=None, help="every session of this organisation")
@click.option("--all", "everyone", is_flag=True, help="every live session")
@http_options
def sessions_revoke(
    person: str | None, organisation: str | None, everyone: bool, **params: Any
) -> int:
    """End console sessions at once (a person leaves, a laptop is lost); audited."""
    if not (person or organisation or everyone):
        raise InvalidRequest("name --person, --organisation, or --all")
    body = {"person": person, "organisation": organisation}
    return client.call(Namespace(**params), "POST", "/v1/sessions/revoke", json_body=body)


COMMANDS: dict[str, click.Command] = {
    "push": push,
    "delivery": delivery,
    "extract": extract,
    "catalogue": catalogue,
    "report": report,
    "sessions": sessions,
}
