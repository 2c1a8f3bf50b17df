"""The demo's scenario, step by step, as the users would go through it over HTTP: the data
owners' scripts push every delivery, the refusals the law requires are shown, an analyst
requests a linked extract that a jurist approves, the extract is pulled, the resource-course
report is run. Each step prints what happened; the summary lines come back to the caller."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq

from gateway.cli.demo_witnesses import witnessed_receipt
from gateway.identity.client_keys import ClientKey
from gateway.identity.dev_setup import AUDIENCE
from gateway.identity.dev_tokens import DevTokens
from gateway.identity.oauth import OAuthClient, TokenSet
from gateway.services.audit import transparency
from gateway.services.deliveries import synthetic

PERIOD = "2016-11"


class Demo:
    """Every token comes from the development provider: organisations' scripts by client
    credentials with their key files, people by the device flow."""

    def __init__(self, folder: Path, tokens: DevTokens, url: str) -> None:
        self.folder = folder
        self.tokens = tokens
        self.url = url
        self._people: dict[str, TokenSet] = {}

    def _client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=300.0, headers={"Authorization": f"Bearer {token}"}
        )

    def machine(self, organisation: str) -> httpx.Client:
        """The organisation's script, with its client key file."""
        key = ClientKey.load(self.folder / "clients" / f"{organisation}.json")
        with OAuthClient(key.issuer) as oauth:
            token = oauth.client_credentials(key, AUDIENCE).access_token
        return self._client(token)

    def person(self, login: str) -> httpx.Client:
        """A person logged in at the provider (device flow, confirmed in its pages)."""
        held = self._people.get(login)
        if held is None or not held.fresh():  # person tokens live minutes; a long demo renews
            held = self._people[login] = self.tokens.person_token(login)
        return self._client(held.access_token)

    def say(self, text: str) -> None:
        print(text, flush=True)


def expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(
            f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:800]}"
        )
    body: dict[str, Any] = response.json()
    return body


def reasons(problem: dict[str, Any]) -> str:
    decision = problem.get("decision") or {}
    parts = []
    for d in decision.get("datasets", []):
        if not d["allowed"]:
            rule = d["rules"][-1]
            parts.append(f"rule {rule['rule']}: {rule['reason']}")
    return "; ".join(parts) or problem.get("detail", "")


def flow(demo: Demo, files: list[synthetic.SynthFile], sources: Path) -> list[str]:
    summary: list[str] = []
    demo.say(f"== Pushing {len(files)} synthetic deliveries for {PERIOD} over HTTP")
    accepted = rows = flagged = 0
    for f in files:
        with demo.machine(f.source) as c:
            r = c.post(
                f"/v1/sources/{f.source}/datasets/{f.dataset}/deliveries",
                params={"period": f.period},
                content=(sources / f.path).read_bytes(),
            )
        if r.status_code == 201:
            body = r.json()
            if not accepted:  # keep the first receipt, as a source would, and check it offline
                receipt_path = demo.folder / "receipt.json"
                receipt_path.write_text(json.dumps(body, indent=2))
                with demo.machine(f.source) as c:
                    vkey = c.get("/v1/audit/checkpoint").json()["vkey"]
                checked = transparency.verify_receipt(body, vkey)
                summary.append(
                    f"receipt {receipt_path}: entry {checked.index} proven in the log at "
                    f"size {checked.tree_size} with the log's public key only"
                )
                summary.append(witnessed_receipt(demo.folder, body))
            accepted += 1
            rows += body["rows"]
            report = body.get("quality") or {}
            findings = ", ".join(flag["code"] for flag in report.get("flags", []))
            demo.say(
                f"  accepted {f.dataset:22} {body['rows']:>7} rows  receipt "
                f"{body['delivery_id']} audit #{body['audit_index']}  quality: "
                f"{report.get('status', '-')}" + (f" ({findings})" if findings else "")
            )
            flagged += report.get("status") == "flagged"
        else:
            demo.say(f"  REFUSED  {f.dataset:22} HTTP {r.status_code}: {r.json()['detail']}")
    summary.append(
        f"deliveries: {accepted} of {len(files)} accepted, {rows:,} rows ingested "
        "(prescription data refused: no legal basis); "
        f"{flagged} flagged by their quality report (`gateway delivery quality ID`)"
    )

    with demo.machine(files[1].source) as c:  # again, same content: same receipt
        again = c.post(
            f"/v1/sources/{files[1].source}/datasets/{files[1].dataset}/deliveries",
            params={"period": PERIOD},
            content=(sources / files[1].path).read_bytes(),
        )
    demo.say(
        f"  re-push of {files[1].dataset}: HTTP {again.status_code}, same receipt "
        f"{again.json()['delivery_id']}"
    )

    demo.say("\n== Refusals")
    period = {"period_from": PERIOD, "period_to": PERIOD}
    with demo.machine("star-statistik") as c:
        r = c.post(
            "/v1/extracts",
            json={
                "purpose": "statistics",
                "population": "everyone",
                **period,
                "datasets": [{"dataset": "sfi-hjemloese", "columns": ["kommune", "situation"]}],
            },
        )
    problem = expect(r, 403, "homelessness data must be refused")
    demo.say(f"  star-statistik asks for sfi-hjemloese: 403, {reasons(problem)}")
    with demo.machine("star-analyse") as c:
        r = c.post(
            "/v1/extracts",
            json={
                "purpose": "administration",
                "population": "persons-in-resource-course",
                **period,
                "datasets": [{"dataset": "flis-voksenhandicap", "columns": ["paragraph"]}],
            },
        )
    problem = expect(r, 403, "administrative use of statistics-only data must be refused")
    demo.say(
        f"  star-analyse asks for flis-voksenhandicap for administration: 403, {reasons(problem)}"
    )
    with demo.machine("star-analyse") as c:
        r = c.post(
            "/v1/extracts",
            json={
                "purpose": "analysis",
                "population": "persons-in-resource-course",
                **period,
                "datasets": [{"dataset": "laegemiddelstatistik", "columns": ["atc_code"]}],
            },
        )
    problem = expect(r, 403, "prescription data must be refused")
    demo.say(f"  star-analyse asks for prescriptions: 403, {reasons(problem)}")
    summary.append(
        "refusals: restricted sfi-hjemloese, administrative flis-voksenhandicap, "
        "prescriptions without legal basis, self-approval - each 403 with reasons"
    )

    demo.say("\n== A linked extract: resource courses x hospital contacts, four eyes")
    spec = {
        "purpose": "analysis",
        "population": "persons-in-resource-course",
        **period,
        "description": "Hospital contacts of citizens in resource courses, November 2016",
        "datasets": [
            {
                "dataset": "dfdg-indsats",
                "columns": ["kommune", "record_type", "offer_type", "start_date", "end_date"],
            },
            {"dataset": "lpr", "columns": ["contact_type", "diagnosis_chapter"]},
        ],
    }
    with demo.person("analytiker") as c:
        ext = expect(c.post("/v1/extracts", json=spec), 201, "request")
        demo.say(f"  requested {ext['id']}: {ext['status']}")
        r = c.post(f"/v1/extracts/{ext['id']}/approve", json={"note": "self"})
        problem = expect(r, 403, "self-approval must be refused")
        demo.say(
            "  self-approval by the analyst who asked (she holds the approver role too): "
            f"403, {problem['detail']}"
        )
    with demo.person("jurist") as c:
        approved = expect(
            c.post(
                f"/v1/extracts/{ext['id']}/approve",
                json={"note": "Basis: 2012 reform, persons in resource courses"},
            ),
            200,
            "approval",
        )
        demo.say(f"  approved by {approved['decided_by']}")
    with demo.machine("star-analyse") as c:
        rel = expect(c.post(f"/v1/extracts/{ext['id']}/releases"), 201, "release")
        content = c.get(f"/v1/releases/{rel['id']}/content")
        expect_ok(content)
    table = pq.read_table(io.BytesIO(content.content))
    out = demo.folder / f"{rel['id']}.parquet"
    out.write_bytes(content.content)
    by_ds = table.group_by("dataset").aggregate([("person", "count_distinct")]).to_pylist()
    demo.say(
        f"  released {rel['id']}: {rel['rows']:,} rows, {rel['persons']:,} persons, "
        f"sha256 {rel['sha256'][:16]}..., pulled to {out}"
    )
    for item in by_ds:
        demo.say(f"    {item['dataset']:14} persons {item['person_count_distinct']:,}")
    summary.append(
        f"linked release: {rel['rows']:,} rows on {rel['persons']:,} persons in "
        "resource courses, under star-analyse's pseudonyms"
    )

    with demo.machine("star-statistik") as c:
        ext2 = expect(c.post("/v1/extracts", json={**spec, "purpose": "statistics"}), 201, "req")
    with demo.person("jurist") as c:
        expect(c.post(f"/v1/extracts/{ext2['id']}/approve"), 200, "approval")
    with demo.machine("star-statistik") as c:
        rel2 = expect(c.post(f"/v1/extracts/{ext2['id']}/releases"), 201, "release")
        other = pq.read_table(io.BytesIO(c.get(f"/v1/releases/{rel2['id']}/content").content))
    shared = set(table["person"].to_pylist()) & set(other["person"].to_pylist())
    demo.say(
        f"  same spec for star-statistik: {rel2['persons']:,} persons, "
        f"{len(shared)} pseudonyms in common with star-analyse's release"
    )
    summary.append(
        f"pseudonyms: star-analyse and star-statistik share {len(shared)} of "
        f"{rel['persons']:,} person keys (unlinkable across recipients)"
    )
    summary.extend(report_step(demo))
    summary.append(f"finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    return summary


def report_step(demo: Demo) -> list[str]:
    """The resource-course monitoring: computed in the hub, released through the checker."""
    demo.say(f"\n== The resource-course report for {PERIOD} (aggregates, disclosure control)")
    with demo.machine("star-statistik") as c:
        run = expect(
            c.post("/v1/reports/ressourceforloeb/runs", params={"period": PERIOD}), 201, "report"
        )
        demo.say(
            f"  release {run['id']}: {run['status']}, disclosure check {run['sdc_status']}, "
            f"{run['rows']} published cells"
        )
        if run["status"] != "released":
            return [f"report: held for review as {run['id']}"]
        bundle = c.get(f"/v1/releases/{run['id']}/content", params={"format": "zip"})
        expect_ok(bundle)
    folder = demo.folder / f"report-ressourceforloeb-{PERIOD}"
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        archive.extractall(folder)
    headline = json.loads((folder / "headline.json").read_text())["figures"]
    shown = (
        "persons in a resource course",
        "in at least one employment offer",
        "offers from more than one area",
        "offers from one area only",
        "13 weeks after: disability pension",
    )
    for row in headline:
        if row["figure"] in shown:
            share = "" if row["share_percent"] is None else f"{row['share_percent']:5.1f} %"
            persons = "suppressed" if row["persons"] is None else f"{row['persons']:,}"
            demo.say(f"    {row['figure']:38} {persons:>10}  {share}")
    demo.say(f"  report page: {folder / 'index.html'}")
    return [
        f"report: {folder / 'index.html'} (tables, PNG/SVG charts); "
        f"disclosure check {run['sdc_status']}"
    ]


def expect_ok(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"pull failed: HTTP {response.status_code}: {response.text[:500]}")
