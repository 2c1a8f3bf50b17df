"""Verbs that talk to a running gateway over HTTP: push and extract request/approve/release/pull.

The server is ``--url`` (or GATEWAY_URL); the bearer token comes from ``gateway login``'s
session, a client key file (GATEWAY_CLIENT_KEY), or ``--token`` / GATEWAY_TOKEN
(:mod:`gateway.cli.login`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from gateway.cli.login import bearer_token


def register(sub: Any) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"))
        p.add_argument(
            "--token",
            default=None,
            help="a bearer token (default: the login session, $GATEWAY_CLIENT_KEY or "
            "$GATEWAY_TOKEN)",
        )

    p = sub.add_parser("push", help="push a delivery file (CSV or Parquet)")
    p.add_argument("file", type=Path)
    p.add_argument("--source", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--period", required=True, help="YYYY-MM")
    common(p)
    p.set_defaults(handler=push)

    ext = sub.add_parser("extract", help="extract specifications").add_subparsers(
        dest="verb", required=True
    )
    p = ext.add_parser("request", help="request a specification (JSON file)")
    p.add_argument("spec", type=Path)
    common(p)
    p.set_defaults(
        handler=lambda a: _call(a, "POST", "/v1/extracts", json_body=json.loads(a.spec.read_text()))
    )
    for verb in ("approve", "reject"):
        p = ext.add_parser(verb, help=f"{verb} a pending specification (approver)")
        p.add_argument("extract_id")
        p.add_argument("--note", default=None)
        common(p)
        p.set_defaults(
            handler=lambda a, v=verb: _call(
                a, "POST", f"/v1/extracts/{a.extract_id}/{v}", json_body={"note": a.note}
            )
        )
    p = ext.add_parser("list", help="specifications you may see (your own, or all for approvers)")
    common(p)
    p.set_defaults(handler=lambda a: _call(a, "GET", "/v1/extracts"))
    p = ext.add_parser("show", help="one specification with its status and decision")
    p.add_argument("extract_id")
    common(p)
    p.set_defaults(handler=lambda a: _call(a, "GET", f"/v1/extracts/{a.extract_id}"))
    p = ext.add_parser("release", help="run an approved specification")
    p.add_argument("extract_id")
    common(p)
    p.set_defaults(handler=lambda a: _call(a, "POST", f"/v1/extracts/{a.extract_id}/releases"))
    p = ext.add_parser("pull", help="download a release")
    p.add_argument("release_id")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--format",
        choices=["parquet", "csv", "zip"],
        default=None,
        help="parquet (microdata) or zip (aggregates) by default",
    )
    common(p)
    p.set_defaults(handler=pull)
    p = ext.add_parser("queue", help="aggregates held for review (approver, auditor)")
    common(p)
    p.set_defaults(handler=lambda a: _call(a, "GET", "/v1/releases"))
    for verb, path in (("release-held", "release"), ("withhold", "withhold")):
        p = ext.add_parser(verb, help=f"{path} an aggregate held for review (approver)")
        p.add_argument("release_id")
        p.add_argument("--note", default=None)
        common(p)
        p.set_defaults(
            handler=lambda a, path=path: _call(
                a, "POST", f"/v1/releases/{a.release_id}/{path}", json_body={"note": a.note}
            )
        )

    cat = sub.add_parser("catalogue", help="the datasets and legal bases in force").add_subparsers(
        dest="verb", required=True
    )
    p = cat.add_parser("list", help="every dataset: owner, purposes, restriction, columns")
    common(p)
    p.set_defaults(handler=lambda a: _call(a, "GET", "/v1/catalogue/datasets"))
    p = cat.add_parser("grants", help="every grant in force, with its citation")
    common(p)
    p.set_defaults(handler=lambda a: _call(a, "GET", "/v1/catalogue/grants"))

    p = sub.add_parser(
        "report", help="run a built-in aggregate report (e.g. ressourceforloeb) for a month"
    )
    p.add_argument("report_id", help="e.g. ressourceforloeb")
    p.add_argument("--period", required=True, help="YYYY-MM")
    p.add_argument(
        "--out", type=Path, default=None, help="unpack the released bundle into this folder"
    )
    common(p)
    p.set_defaults(handler=report)


def _client(args: argparse.Namespace) -> httpx.Client:
    return httpx.Client(
        base_url=args.url,
        timeout=httpx.Timeout(600.0, connect=10.0),
        headers={"Authorization": f"Bearer {bearer_token(args)}"},
    )


def _report(response: httpx.Response) -> int:
    try:
        body: Any = response.json()
    except ValueError:
        body = {"status": response.status_code, "text": response.text[:500]}
    print(
        json.dumps(body, indent=2, ensure_ascii=False),
        file=sys.stdout if response.is_success else sys.stderr,
    )
    return 0 if response.is_success else 1


def _call(args: argparse.Namespace, method: str, path: str, json_body: Any | None = None) -> int:
    with _client(args) as client:
        return _report(client.request(method, path, json=json_body))


def _chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(size):
            yield block


def push(args: argparse.Namespace) -> int:
    args.file.open("rb").close()  # a missing or unreadable file is said before any connection
    with _client(args) as client:
        response = client.post(
            f"/v1/sources/{args.source}/datasets/{args.dataset}/deliveries",
            params={"period": args.period},
            content=_chunks(args.file),
            headers={"Content-Type": "application/octet-stream"},
        )
        return _report(response)


def pull(args: argparse.Namespace) -> int:
    with (
        _client(args) as client,
        client.stream(
            "GET",
            f"/v1/releases/{args.release_id}/content",
            params={"format": args.format} if args.format else None,
        ) as response,
    ):
        if not response.is_success:
            response.read()
            return _report(response)
        with open(args.out, "wb") as fh:
            for block in response.iter_bytes():
                fh.write(block)
    print(f"wrote {args.out}")
    return 0


def report(args: argparse.Namespace) -> int:
    """Run the report; if it was released (not held for review), unpack it into ``--out``."""
    with _client(args) as client:
        response = client.post(f"/v1/reports/{args.report_id}/runs", params={"period": args.period})
        if not response.is_success or args.out is None:
            return _report(response)
        body = response.json()
        print(f"release {body['id']}: {body['status']} (disclosure check: {body['sdc_status']})")
        if body["status"] != "released":
            print("held for an approver's review; pull it once released")
            return 0
        content = client.get(f"/v1/releases/{body['id']}/content", params={"format": "zip"})
        if not content.is_success:
            return _report(content)
    args.out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(content.content)) as archive:
        for name in archive.namelist():  # the gateway's own names; refuse anything else
            if name.startswith("/") or ".." in Path(name).parts:
                print(f"error: unexpected file name in the bundle: {name!r}", file=sys.stderr)
                return 1
        archive.extractall(args.out)
    print(f"wrote {args.out}/index.html, tables/, charts/, headline.csv")
    return 0
