"""The resource-course report: run over HTTP and from the CLI, released only through the
checker, self-contained output, and the shapes of DOMAIN.md on the full-scale synthetic data."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import client as cli_client
from gateway.dataplane import synth
from gateway.domain.audit_query import AuditQuery
from gateway.domain.catalogue import Catalogue
from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic, edited_policies, running_gateway

RUN = "/v1/reports/ressourceforloeb/runs"
NEEDED = ("dfdg-indsats", "lpr", "ssr", "flis-voksenhandicap", "dfdg-ydelse")
TABLES = (
    "persons-in-course",
    "employment-offers",
    "area-combinations",
    "offer-timing",
    "status-13-weeks",
)


def push(gateway: Gateway, folder: Path, files: dict[str, synth.SynthFile]) -> None:
    for dataset in NEEDED:
        f = files[dataset]
        r = gateway.push(f.source, dataset, (folder / f.path).read_bytes())
        assert r.status_code == 201, r.text


def run_report(gateway: Gateway, recipient: str = "star-statistik") -> Any:
    return gateway.client.post(
        RUN, params={"period": "2016-11"}, headers=gateway.auth(recipient, Role.RECIPIENT)
    )


def unpack(gateway: Gateway, release_id: str) -> dict[str, bytes]:
    r = gateway.client.get(
        f"/v1/releases/{release_id}/content",
        headers=gateway.auth("star-statistik", Role.RECIPIENT),
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def figures(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {f["figure"]: f for f in json.loads(files["headline.json"])["figures"]}


def test_the_report_over_http(gateway: Gateway, synthetic: Synthetic) -> None:
    push(gateway, synthetic.folder, synthetic.files)
    r = run_report(gateway)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["status"], body["sdc_status"]) == ("report", "released", "pass")
    assert body["extract_id"] == "report/ressourceforloeb/2016-11"
    assert body["audit"]["entry"]  # proof material, as for every release
    files = unpack(gateway, body["id"])
    for name in TABLES:
        assert f"tables/{name}.csv" in files and f"tables/{name}.json" in files
        table = json.loads(files[f"tables/{name}.json"])
        assert (
            table["period"] == "2016-11" and table["sources"] and "Coverage:" in table["coverage"]
        )
    for name in TABLES[1:]:
        assert files[f"charts/{name}.png"].startswith(b"\x89PNG\r\n\x1a\n")
        assert b"<svg" in files[f"charts/{name}.svg"]
    assert "results.json" not in files  # the checker's report is for the reviewers
    report = gateway.client.get(
        f"/v1/releases/{body['id']}/disclosure-report",
        headers=gateway.auth("dpo@star.dk", Role.AUDITOR),
    ).json()
    assert [o["properties"]["name"] for o in report["results"].values()] == list(TABLES)
    assert {o["status"] for o in report["results"].values()} == {"pass"}
    page = files["index.html"].decode()
    assert "<script" not in page and "<link" not in page and "src=" not in page  # one file
    assert page.count("<svg") == 4
    for caption in re.findall(r"<p class='caption'>(.*?)</p>", page)[:5]:
        for part in ("Sources:", "Period: 2016-11", "Coverage:", "Suppressed cells:"):
            assert part in caption, (part, caption)
    assert "municipalities" in page and "missing or invalid" in files["coverage.csv"].decode()
    coverage = files["coverage.csv"].decode().splitlines()
    assert len(coverage) == 99  # header and the 98 municipalities
    # At 5 % scale a valid municipality may have no case at all: it shows as a gap too.
    assert sum("missing or invalid" in line for line in coverage) >= 98 - 55
    shares = figures(files)
    # The cell-key method (the default): the published count is the true one within the
    # p-table's largest noise.
    in_course = shares["persons in a resource course"]["persons"]
    assert abs(in_course - round(synth.COURSE_PERSONS * 0.05)) <= 2
    entry = gateway.runtime.store.search_audit(AuditQuery(event_type="release.created"))[-1]
    details = json.loads(entry.body)["details"]
    assert details["kind"] == "report" and details["disclosure"]["status"] == "pass"
    # A municipality and an analysis office have no sanction for this report.
    for other in ("kommune-101", "star-analyse"):
        refused = run_report(gateway, other)
        assert refused.status_code == 403 and "not sanctioned" in refused.json()["detail"]


def test_the_report_needs_the_employment_data(gateway: Gateway) -> None:
    r = run_report(gateway)
    assert r.status_code == 409 and "dfdg-indsats" in r.json()["detail"]
    bad = gateway.client.post(
        RUN, params={"period": "2016-13"}, headers=gateway.auth("star-statistik", Role.RECIPIENT)
    )
    assert bad.status_code == 422


def test_a_report_over_restricted_data_is_refused(tmp_path: Path) -> None:
    name = "reports/ressourceforloeb.yaml"
    policies = edited_policies(
        tmp_path / "policies",
        {
            name: (
                "  - dataset: dfdg-ydelse\n",
                "  - dataset: sfi-hjemloese\n    columns: [situation]\n  - dataset: dfdg-ydelse\n",
            )
        },
    )
    with running_gateway(tmp_path / "var", policies) as gw:
        r = run_report(gw)
        assert r.status_code == 403
        rules = {d["dataset"]: d["deciding_rule"] for d in r.json()["decision"]["datasets"]}
        assert rules["sfi-hjemloese"] == "restricted-dataset"


@contextlib.contextmanager
def _as(gateway: Gateway, token: str) -> Iterator[Any]:
    gateway.client.headers["Authorization"] = f"Bearer {token}"
    try:
        yield gateway.client
    finally:
        del gateway.client.headers["Authorization"]


def test_the_cli_runs_the_report_and_unpacks_it(
    gateway: Gateway, synthetic: Synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gateway report ressourceforloeb --period 2016-11 --out DIR`` against the app (the
    CLI's HTTP client is swapped for the ASGI client; requests and responses are real)."""
    push(gateway, synthetic.folder, synthetic.files)
    token = gateway.token("star-statistik", Role.RECIPIENT)
    monkeypatch.setattr(cli_client, "http_client", lambda args: _as(gateway, args.token))
    out = tmp_path / "report"
    args = argparse.Namespace(
        report_id="ressourceforloeb", period="2016-11", out=out, token=token, url="-"
    )
    assert cli_client.report(args) == 0
    assert (out / "index.html").read_text().startswith("<!doctype html>")
    assert (out / "charts" / "area-combinations.png").stat().st_size > 1000
    assert (out / "headline.csv").is_file() and not (out / "results.json").exists()


@pytest.mark.slow
def test_full_scale_synthetic_data_reproduce_the_audit_report_shapes(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """DOMAIN.md: 18,462 persons in November 2016; about 56 % in an employment offer; about
    61 % of courses combine areas and 39 % use one; 13 weeks after a course 2.7 % ordinary
    job, 11.7 % flexjob, 43.3 % disability pension. Within three percentage points."""
    folder = tmp_path / "synthetic"
    files = {f.dataset: f for f in synth.generate(catalogue, folder, scale=1.0)}
    with running_gateway(tmp_path / "var") as gw:
        push(gw, folder, files)
        r = run_report(gw)
        assert r.status_code == 201 and r.json()["status"] == "released", r.text
        files = unpack(gw, r.json()["id"])
    shares = figures(files)
    assert files["coverage.csv"].decode().count("missing or invalid") == 98 - 55
    assert abs(shares["persons in a resource course"]["persons"] - 18_462) <= 2  # cell-key noise
    for figure, target in (
        ("in at least one employment offer", 56.1),
        ("offers from more than one area", 61.0),
        ("offers from one area only", 39.0),
        ("areas: employment + health", 25.0),
        ("areas: all three", 16.0),
        ("areas: social + health", 14.0),
        ("13 weeks after: ordinary job", 2.7),
        ("13 weeks after: flexjob", 11.7),
        ("13 weeks after: disability pension", 43.3),
    ):
        assert abs(shares[figure]["share_percent"] - target) <= 3.0, (figure, shares[figure])


def test_the_page_speaks_danish_with_english_beside_and_no_raw_codes(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push(gateway, synthetic.folder, synthetic.files)
    r = run_report(gateway)
    assert r.status_code == 201, r.text
    page = unpack(gateway, r.json()["id"])["index.html"].decode()
    assert '<html lang="da">' in page and "Personer i ressourceforløb" in page
    assert 'lang="en"' in page and "persons in a resource course" in page
    assert "vejledning_opkvalificering" not in page and "loentilskud" not in page
    assert "vejledning og opkvalificering" in page and "guidance and upskilling" in page
    assert "\u00a0%" in page  # 55,6 %: Danish decimals, the sign kept with its number
    # Each source's quality findings: in the sources table and in the captions that use it.
    assert "Kvalitet" in page
    assert re.search(r"flis-voksenhandicap 2016-11: rows from \d+ of 98 municipalities", page)
    assert re.search(r"Quality: [^<]*flis-voksenhandicap 2016-11: rows from \d+ of 98", page)
