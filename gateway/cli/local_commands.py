"""The verbs that act on the local installation (Click): serve, keys, synth, policy, audit, db.

They read the environment (``GATEWAY_DATA_DIR``, ``GATEWAY_DATABASE_URL``, ...) like the
server; the functions they call are in :mod:`gateway.cli.local` and, for the outsiders' audit
verbs, :mod:`gateway.cli.transparency`.
"""

from __future__ import annotations

import datetime as dt
from argparse import Namespace
from pathlib import Path
from typing import Any

import click

from gateway.cli import local, transparency
from gateway.cli.framework import CONTEXT, PATH, json_flag
from gateway.services.audit.filters import CATEGORIES


def _date(_: click.Context, __: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("not a date (YYYY-MM-DD)") from None


ON = click.option(
    "--on", callback=_date, default=None, help="the date to decide on (default today)"
)


def _one_of(first: str, second: str, params: dict[str, Any]) -> None:
    given = [name for name in (first, second) if params.get(name.lstrip("-").replace("-", "_"))]
    if len(given) != 1:
        raise click.UsageError(f"give exactly one of {first} and {second}")


@click.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to listen on")
@click.option("--port", type=int, default=8000, show_default=True, help="the port to listen on")
@click.option("--workers", type=int, default=1, show_default=True, help="processes (PostgreSQL)")
def serve(**params: Any) -> int:
    """Run the HTTP server in the foreground."""
    return local.serve(Namespace(**params))


@click.group(context_settings=CONTEXT)
def keys() -> None:
    """Key management: the master key, pseudonym keys, the blob key-encryption key."""


@keys.command("init")
def keys_init() -> int:
    """Create the master key if it is missing."""
    return local.keys_init(Namespace())


@keys.command("show-public")
@click.option("--audit", is_flag=True, help="(the only public key; kept for scripts)")
def keys_show_public(**params: Any) -> int:
    """Print the audit log's checkpoint verifier key (C2SP vkey)."""
    return local.keys_show_public(Namespace(**params))


@keys.command("rotate")
@click.option("--recipient", default=None, help="rotate this recipient's pseudonym key")
@click.option("--blob-kek", is_flag=True, help="rotate the blob KEK and re-wrap every blob")
@json_flag
def keys_rotate(**params: Any) -> int:
    """A new version of a recipient's pseudonym key, or of the blob KEK."""
    _one_of("--recipient", "--blob-kek", params)
    return local.keys_rotate(Namespace(**params))


@keys.command("rewrap")
@json_flag
def keys_rewrap(**params: Any) -> int:
    """Finish an interrupted blob KEK rotation."""
    return local.keys_rewrap(Namespace(**params))


@click.command(context_settings=CONTEXT)
@click.option(
    "--out", type=PATH, default=Path("synthetic"), show_default=True, help="the folder to write"
)
@click.option("--period", default="2016-11", show_default=True, help="YYYY-MM")
@click.option(
    "--seed", type=int, default=2016, show_default=True, help="the same seed writes the same files"
)
@click.option("--scale", type=float, default=1.0, show_default=True, help="1.0: 18,462 persons")
@json_flag
def synth(**params: Any) -> int:
    """Write deterministic synthetic deliveries (plaintext CPR: keep them away from the hub)."""
    return local.synth_cmd(Namespace(**params))


@click.group(context_settings=CONTEXT)
def policy() -> None:
    """The legal-basis policies in policies/."""


@policy.command("check")
@click.option("--dir", "dir", type=PATH, default=None, help="a policies folder (default: in use)")
def policy_check(**params: Any) -> int:
    """Validate the policy files."""
    return local.policy_check(Namespace(**params))


@policy.command("explain")
@click.option("--recipient", required=True, help="the recipient, e.g. star-analyse")
@click.option("--dataset", required=True, help="the dataset, e.g. lpr")
@click.option("--purpose", required=True, help="e.g. statistics, research, administration")
@click.option("--columns", default=None, help="comma-separated (default: the grant's)")
@click.option("--population", default=None, help="a population of the catalogue")
@ON
@json_flag
def policy_explain(columns: str | None, **params: Any) -> int:
    """Decide one request and explain the decision, rule by rule, with citations."""
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    return local.policy_explain(Namespace(columns=names, **params))


@policy.command("table")
@ON
@click.option(
    "--output",
    type=click.Choice(["microdata", "aggregate"]),
    default="microdata",
    show_default=True,
    help="the form of output to decide for",
)
@json_flag
def policy_table(**params: Any) -> int:
    """The decision for every recipient x dataset x purpose."""
    return local.policy_table(Namespace(**params))


@policy.command("doc")
def policy_doc() -> int:
    """Print docs/catalogue.md as the policies say it today (one line per dataset)."""
    return local.policy_doc(Namespace())


@policy.command("ptable")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="a CSV file"
)
def policy_ptable(**params: Any) -> int:
    """Write the cell-key method's p-table in use, in the layout statistics offices publish
    (pcv, ckey, pvalue), to --out or standard output."""
    return local.policy_ptable(Namespace(**params))


@click.group(context_settings=CONTEXT)
def audit() -> None:
    """The audit trail: verify, search, look up, export, prove."""


@audit.command("verify")
@click.option(
    "--since",
    type=PATH,
    multiple=True,
    help="a checkpoint saved earlier (signed note): prove the log only grew (repeatable)",
)
@json_flag
def audit_verify(since: tuple[Path, ...], **params: Any) -> int:
    """Verify the whole log against its signed checkpoints (a progress bar on a terminal)."""
    return local.audit_verify(Namespace(since=list(since), **params))


@audit.command("index-subjects")
def audit_index_subjects() -> int:
    """Move pending subject keys of large entries into the lookup index now (the server does
    this in the background)."""
    return local.audit_index_subjects(Namespace())


@audit.command("verify-receipt")
@click.argument("file", type=PATH)
@click.option("--key", default=None, help="the log's verifier key (vkey), or a file holding it")
@click.option("--key-file", type=PATH, default=None, help="a file holding it")
def audit_verify_receipt(**params: Any) -> int:
    """Check a receipt or release (JSON) offline with the log's public key."""
    _one_of("--key", "--key-file", params)
    return local.audit_verify_receipt(Namespace(**params))


@audit.command("verify-export")
@click.argument("dir", type=PATH)
@click.option(
    "--key", required=True, help="the log's verifier key (vkey), or a file holding it (vkey.txt)"
)
@json_flag
def audit_verify_export(**params: Any) -> int:
    """Verify an exported log offline."""
    return local.audit_verify_export(Namespace(**params))


@audit.command("export")
@click.option("--out", type=PATH, required=True, help="the folder to write")
def audit_export(**params: Any) -> int:
    """Entries as JSON Lines, the checkpoints and the verifier key (a progress bar on a
    terminal)."""
    return local.audit_export(Namespace(**params))


@audit.command("subject")
@json_flag
def audit_subject(json: bool) -> int:
    """Every entry about one person, one line each (JSON Lines with --json); the CPR is read
    from standard input, never an argument."""
    return local.audit_subject(Namespace(json=json))


@audit.command("search")
@click.option("--event-type", default=None, help="one event type, e.g. delivery.refused")
@click.option("--actor", default=None, help="a label, identity, person:x or organisation")
@click.option("--dataset", default=None, help="entries about this dataset")
@click.option("--recipient", default=None, help="entries about this recipient")
@click.option("--since", default=None, help="a date, the last N days (30d), last-month, this-year")
@click.option("--until", default=None, help="a date or time (exclusive)")
@click.option(
    "--category", type=click.Choice(sorted(CATEGORIES)), default=None, help="a group of event types"
)
@click.option("--refusals", is_flag=True, help="refusals of any kind (= --category refusals)")
@click.option("--limit", type=int, default=50, show_default=True, help="at most this many entries")
@click.option(
    "--offset", type=int, default=0, show_default=True, help="skip this many entries first"
)
@json_flag
def audit_search(refusals: bool, **params: Any) -> int:
    """List audit entries, one readable line each (JSON Lines with --json; the total, and any
    truncation, on stderr)."""
    if refusals:
        params["category"] = "refusals"
    return local.audit_search(Namespace(**params))


transparency.add_audit_verbs(audit)


@click.group(context_settings=CONTEXT)
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> int:
    """Create or upgrade the schema."""
    return local.db_upgrade(Namespace())


COMMANDS: dict[str, click.Command] = {
    "serve": serve,
    "keys": keys,
    "synth": synth,
    "policy": policy,
    "audit": audit,
    "db": db,
}
