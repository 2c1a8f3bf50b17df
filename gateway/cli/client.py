"""Verbs that talk to a running gateway over HTTP: push and extract request/approve/release/pull.

The server is ``--url`` (or GATEWAY_URL); the bearer token comes from ``gateway login``'s
session, a client key file (GATEWAY_CLIENT_KEY), or ``--token`` / GATEWAY_TOKEN
(:mod:`gateway.cli.login`).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from gateway.cli.progress import Advance, progress
from gateway.errors import IntegrityError, InvalidRequest
from gateway.identity.credentials import bearer_token


def http_client(args: argparse.Namespace) -> httpx.Client:
    return httpx.Client(
        base_url=args.url,
        timeout=httpx.Timeout(600.0, connect=10.0),
        headers={"Authorization": f"Bearer {bearer_token(getattr(args, 'token', None))}"},
    )


def show(response: httpx.Response, as_json: bool = False) -> int:
    """The answer: JSON with ``--json``; otherwise a few readable lines (an error as one line
    and the fields it names)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {"status": response.status_code, "text": response.text[:500]}
    if as_json:
        print(
            json.dumps(body, indent=2, ensure_ascii=False),
            file=sys.stdout if response.is_success else sys.stderr,
        )
    elif response.is_success:
        print(readable(body))
    else:
        title, detail = body.get("title", response.status_code), body.get("detail", "")
        print(f"error: {title}: {detail}", file=sys.stderr)
        for error in body.get("errors", [])[:20]:
            near = error.get("suggestions")
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            where = error.get("field") or error.get("column") or error.get("loc") or ""
            what = error.get("problem") or error.get("code") or ""
            print(f"  {where}: {what}{hint}", file=sys.stderr)
        _problem_lines(body)
    return 0 if response.is_success else 1


def _problem_lines(body: dict[str, Any]) -> None:
    """A rejected delivery's first problems, one per line: where (row, the file's line,
    column) and what (code and message); never a value."""
    problems = body.get("problems") or []
    for p in problems[:20]:
        where = ", ".join(
            f"{label} {p[key]}"
            for key, label in (("row", "row"), ("line", "line"), ("column", "column"))
            if p.get(key) is not None
        )
        print(f"  {where or 'file'}: {p.get('code', '')}: {p.get('message', '')}", file=sys.stderr)
    count = body.get("problem_count", len(problems))
    if count > min(len(problems), 20):
        print(
            f"  ... {count - min(len(problems), 20)} more (--json lists the first 100)",
            file=sys.stderr,
        )
    for column, n in (body.get("invalid_by_column") or {}).items():
        print(f"  column {column}: {n} invalid value(s) in all", file=sys.stderr)


def readable(body: Any, indent: str = "") -> str:
    """Scalars as 'key: value'; lists of scalars joined; lists of records one per line (by
    their id and status, or their name and its other short fields); nested proofs and
    decisions summarised (``--json`` has them whole)."""
    if isinstance(body, list):
        return "\n".join(readable(item, indent) for item in body) or f"{indent}(none)"
    if not isinstance(body, dict):
        return f"{indent}{body}"
    lines = []
    for key, value in body.items():
        if key == "quality" and isinstance(value, dict) and "status" in value:
            lines += _quality_lines(value, indent)
        elif isinstance(value, dict):
            lines.append(f"{indent}{key}: ({len(value)} fields; --json shows them)")
        elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            lines.append(f"{indent}{key}: {', '.join(str(v) for v in value) or '(none)'}")
        elif isinstance(value, list):
            lines.append(f"{indent}{key}:")
            lines += [f"{indent}  {_one_line(v)}" for v in value]
        else:
            lines.append(f"{indent}{key}: {value}")
    return "\n".join(lines)


def _quality_lines(report: dict[str, Any], indent: str) -> list[str]:
    """A quality report (or its summary): its status, then each flag on its own line."""
    lines = [f"{indent}quality: {report['status']}"]
    for flag in report.get("flags", []):
        if isinstance(flag, dict):
            lines.append(f"{indent}  {flag.get('code')}: {flag.get('detail')}")
        else:
            lines.append(f"{indent}  {flag}")
    if "rows" in report and "persons" in report:
        lines.append(
            f"{indent}  {report['rows']} rows, {report['persons']} persons"
            + (
                f", {report['coverage']['delivered']} of {report['coverage']['of']} municipalities"
                if report.get("coverage")
                else ""
            )
        )
    return lines


def _one_line(record: Any) -> str:
    """A record in a list: its id and status, or its name and its other short fields."""
    if not isinstance(record, dict):
        return str(record)
    if "id" in record:
        return f"{record['id']}  {record.get('status', '')}".rstrip()
    short = [
        str(v) for k, v in record.items() if not isinstance(v, dict | list) and v not in ("", None)
    ]
    return "  ".join(short)[:160]


def call(args: argparse.Namespace, method: str, path: str, json_body: Any | None = None) -> int:
    with http_client(args) as client:
        return show(client.request(method, path, json=json_body), args.json)


def decide(args: argparse.Namespace, extract_id: str, verb: str, note: str | None) -> int:
    """Approve or reject after seeing what: the specification and the policy's decision go to
    standard error first; at a terminal without ``--note``, the note is asked for (it goes in
    the audit entry)."""
    with http_client(args) as client:
        shown = client.get(f"/v1/extracts/{extract_id}")
        if not shown.is_success:
            return show(shown, args.json)
        print(_spec_summary(shown.json()), file=sys.stderr)
        if note is None and not args.json and sys.stdin.isatty():
            note = input(f"note for the audit trail, why {verb} (Enter: none): ").strip() or None
        if verb == "return" and not note:
            raise InvalidRequest("'return' needs --note: what the requester should change")
        response = client.post(f"/v1/extracts/{extract_id}/{verb}", json={"note": note})
        return show(response, args.json)


def _spec_summary(body: dict[str, Any]) -> str:
    spec, decision = body.get("spec", {}), body.get("decision") or {}
    datasets = "; ".join(
        f"{d['dataset']}: {', '.join(d.get('columns', []))}" for d in spec.get("datasets", [])
    )
    until = spec.get("valid_until") or "no end date"
    lines = [
        f"{body.get('id')} asked by {body.get('requested_by')} for {body.get('recipient')}",
        f"  purpose {spec.get('purpose')}, population {spec.get('population')}, "
        f"{spec.get('period_from')} to {spec.get('period_to')}, output {spec.get('output')}",
        f"  datasets: {datasets}",
        f"  the approval covers {spec.get('runs', 1)} run(s), until {until}",
    ]
    if decision.get("summary"):
        lines.append(f"  policy: {decision['summary']}")
    return "\n".join(lines)


def _chunks(path: Path, advance: Advance, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(size):
            advance(len(block))
            yield block


RETRIES = 3  # a retry is harmless: the same content for the same month gets the same receipt
TRANSIENT = {502, 503, 504}


def push(args: argparse.Namespace) -> int:
    """Push a file; a dropped connection or a 502/503/504 is retried (up to 3 times, waiting as
    Retry-After says), the whole file again: the gateway answers a repeat with its receipt."""
    args.file.open("rb").close()  # a missing or unreadable file is said before any connection
    path = f"/v1/sources/{args.source}/datasets/{args.dataset}/deliveries"
    with http_client(args) as client:
        for attempt in range(RETRIES + 1):
            try:
                with progress(f"pushing {args.file.name}", args.file.stat().st_size) as advance:
                    response = client.post(
                        path,
                        params={"period": args.period, "confirm": getattr(args, "confirm", False)},
                        content=_chunks(args.file, advance),
                        headers={"Content-Type": "application/octet-stream"},
                    )
            except httpx.TransportError:
                if attempt == RETRIES:
                    raise
                _wait(attempt, None)
                continue
            if response.status_code not in TRANSIENT or attempt == RETRIES:
                return show(response, args.json)
            _wait(attempt, response.headers.get("retry-after"))
    return 1


def _wait(attempt: int, retry_after: str | None) -> None:
    delay = float(retry_after) if retry_after and retry_after.isdigit() else 2.0**attempt
    print(f"the gateway is busy or away; retrying in {delay:.0f} s", file=sys.stderr)
    time.sleep(min(delay, 60.0))


def pull(args: argparse.Namespace) -> int:
    """Download a release's content to ``--out``: never over an existing file without
    ``--force``; hashed while written and checked against the digest the audit entry records
    (for the release's own format); what was written is said (file, bytes, rows, sha256)."""
    out: Path = args.out
    if out.exists() and not getattr(args, "force", False):
        raise InvalidRequest(f"{out} exists; pull elsewhere, or add --force to replace it")
    with http_client(args) as client:
        meta = client.get(f"/v1/releases/{args.release_id}")
        if not meta.is_success:
            return show(meta, args.json)
        release = meta.json()
        params = {"format": args.format} if args.format else None
        with client.stream(
            "GET", f"/v1/releases/{args.release_id}/content", params=params
        ) as response:
            if not response.is_success:
                response.read()
                return show(response, args.json)
            recorded = next(
                (
                    v
                    for k, v in response.headers.items()
                    if k.lower().startswith("x-content-sha256")
                ),
                None,
            )
            digest, size = _write_atomically(response, out)
    native = args.format in (None, "zip" if release["kind"] != "microdata" else "parquet")
    if native and recorded and digest != recorded:
        out.unlink(missing_ok=True)
        raise IntegrityError(
            f"the pulled file's sha256 {digest} is not the one recorded for release "
            f"{args.release_id} ({recorded}); nothing was kept"
        )
    result = {
        "release_id": args.release_id,
        "file": str(out),
        "bytes": size,
        "rows": release["rows"],
        "persons": release.get("persons"),
        "sha256": digest,
        "matches_audit_entry": native and recorded == digest,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        checked = "; matches the audit entry" if result["matches_audit_entry"] else ""
        print(f"wrote {out}: {size:,} bytes, {release['rows']:,} rows, sha256 {digest}{checked}")
    return 0


def _write_atomically(response: httpx.Response, out: Path) -> tuple[str, int]:
    """Stream ``response`` into ``out`` by way of a hidden partial file (a cut-off pull never
    looks complete, and nothing half-pulled is left); its sha256 and size."""
    partial = out.with_name(f".{out.name}.part")
    length = response.headers.get("content-length")
    total = int(length) if length and length.isdigit() else None
    digest, size = hashlib.sha256(), 0
    try:
        with progress(f"pulling {out.name}", total) as advance, open(partial, "wb") as fh:
            for block in response.iter_bytes():
                fh.write(block)
                digest.update(block)
                size += len(block)
                advance(len(block))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    return digest.hexdigest(), size


def report(args: argparse.Namespace) -> int:
    """Run the report; if it was released (not held for review), unpack it into ``--out``."""
    with http_client(args) as client:
        response = client.post(f"/v1/reports/{args.report_id}/runs", params={"period": args.period})
        if not response.is_success or args.out is None:
            return show(response, args.json)
        body = response.json()
        if body["status"] != "released":
            _say(
                args,
                body,
                f"release {body['id']}: {body['status']} (disclosure check: "
                f"{body['sdc_status']}); held for an approver's review; pull it once released",
            )
            return 0
        content = client.get(f"/v1/releases/{body['id']}/content", params={"format": "zip"})
        if not content.is_success:
            return show(content, args.json)
    with zipfile.ZipFile(io.BytesIO(content.content)) as archive:
        names = archive.namelist()
        for name in names:  # the gateway's own names; refuse anything else
            if name.startswith("/") or ".." in Path(name).parts:
                raise IntegrityError(f"unexpected file name in the bundle: {name!r}")
        args.out.mkdir(parents=True, exist_ok=True)
        archive.extractall(args.out)
    _say(
        args,
        {**body, "out": str(args.out), "files": names},
        f"release {body['id']}: released; wrote {args.out}/index.html, tables/, charts/, "
        "headline.csv",
    )
    return 0


def _say(args: argparse.Namespace, body: dict[str, Any], text: str) -> None:
    """``body`` as JSON with ``--json``, else ``text``: standard output holds one or the other."""
    as_json = getattr(args, "json", False)
    print(json.dumps(body, indent=2, ensure_ascii=False) if as_json else text)


def dataset_sheet(dataset: dict[str, Any]) -> str:
    """`catalogue show`: the dataset's facts as labelled lines, then its columns as a table
    with a header (name, type, required, allowed values or minimum, description)."""
    purposes = ", ".join(sorted(dataset.get("purposes", []))) or "(none)"
    lines = [
        f"{dataset['id']}: {dataset['title']}",
        f"  owner:       {dataset['owner']} ({dataset['cadence']})",
        f"  purposes:    {purposes} - {dataset['purpose_citation']}",
        "  restricted:  "
        + (f"yes - {dataset.get('restriction_citation') or ''}" if dataset["restricted"] else "no"),
        f"  in time by:  {dataset['event_start']}"
        + (f" to {dataset['event_end']}" if dataset.get("event_end") else ""),
        "",
    ]
    rows = [("COLUMN", "TYPE", "REQUIRED", "VALUES", "DESCRIPTION")]
    for column in dataset["columns"]:
        values = ", ".join(column.get("values") or ())
        if column.get("minimum") is not None:
            values = f">= {column['minimum']}"
        rows.append(
            (
                column["name"],
                column["type"],
                "yes" if column.get("required", True) else "no",
                values if len(values) <= 40 else values[:37] + "...",
                column.get("description", ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        lines.append(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        )
    notes = dataset.get("quality_notes") or []
    if notes:
        lines += ["", "quality notes:"] + [f"  - {note}" for note in notes]
    return "\n".join(line.rstrip() for line in lines)
