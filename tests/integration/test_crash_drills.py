"""Fault drills against a real server process: kill -9 at several points of a push, a release
and a report run, then start again on the same state and look at what is on disk.

After every restart: the start-up sweep has removed spool files, partly written blobs and blobs
whose record was never committed (and said so in the log); every blob left is referenced by a
committed record; every committed delivery has its blobs; no delivery is partial; the audit log
verifies; and the server serves the same push again.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.csv as pacsv
import pytest

from gateway.dataplane import synth, synth_sized
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import Role
from gateway.services.audit.trail import verify
from gateway.services.platform.bootstrap import open_runtime
from tests.conftest import POLICIES
from tests.integration.test_aggregates_api import BY_KOMMUNE
from tests.server import Server

pytestmark = pytest.mark.slow
SOURCE = "sundhedsdatastyrelsen"
PAUSE = 0.1  # between 1 MiB chunks: the body takes about two seconds to arrive


def _big_lpr(rows: int) -> bytes:
    table = synth_sized.rows_like(
        load_catalogue(POLICIES), "lpr", rows=rows, persons=rows // 4, seed=5, period="2016-11"
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


def _chunks(body: bytes, pause: float) -> Iterator[bytes]:
    for i in range(0, len(body), 1 << 20):
        yield body[i : i + (1 << 20)]
        time.sleep(pause)


def _push_in_background(server: Server, body: bytes, pause: float, period: str) -> threading.Thread:
    def push() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
            httpx.post(
                f"{server.url}/v1/sources/{SOURCE}/datasets/lpr/deliveries",
                params={"period": period},
                content=_chunks(body, pause),
                headers=server.auth(SOURCE, Role.SOURCE),
                timeout=120,
            )

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    return thread


def _state(server: Server) -> dict[str, object]:
    """What is on disk, judged against the database (the server is running)."""
    runtime = open_runtime(server.settings)
    try:
        ctx = runtime.context
        blobs_root = server.settings.resolved_blobs_dir
        blobs = sorted(
            p.relative_to(blobs_root).as_posix()
            for p in blobs_root.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )
        partials = sorted(p.name for p in blobs_root.rglob(".*"))
        unreferenced = [k for k in blobs if not ctx.store.blob_referenced(k)]
        with ctx.store.unit_of_work() as uow:
            deliveries = uow.latest_deliveries("lpr", ["2016-11"])
        missing = [
            d.id
            for d in deliveries
            if not (ctx.blobs.exists(d.blob_key) and ctx.blobs.exists(d.vault_blob_key))
        ]
        run = server.data / "run"
        leases = sorted(p.name for p in run.glob("*.lease"))
        spool = [p for p in run.rglob("spool/*") if p.is_file()]
        result = verify(ctx)
        return {
            "unreferenced": unreferenced,
            "partials": partials,
            "missing": missing,
            "spool": spool,
            "leases": len(leases),
            "verified": result.ok,
            "problem": result.problem,
        }
    finally:
        runtime.context.work.close()
        runtime.store.dispose()


def _clean(state: dict[str, object]) -> bool:
    return (
        state["unreferenced"] == []
        and state["partials"] == []
        and state["missing"] == []
        and state["spool"] == []
        and state["verified"] is True
    )


def test_kill_9_during_pushes_releases_and_reports_leaves_nothing_unexplained(
    tmp_path: Path,
) -> None:
    server = Server(tmp_path / "var", {"GATEWAY_SWEEP_INTERVAL_SECONDS": "3600"})
    body = _big_lpr(300_000)
    server.start()
    drills: list[dict[str, object]] = []
    try:
        # Pushes: killed while the body arrives, while it is processed, around its commit (at
        # fractions of the time one whole push takes here), each a new period.
        started = time.monotonic()
        _push_in_background(server, body, PAUSE, "2015-12").join(timeout=120)
        whole = time.monotonic() - started
        for n, fraction in enumerate((0.1, 0.5, 0.8, 0.9, 0.95, 1.0), start=1):
            thread = _push_in_background(server, body, PAUSE, f"2016-{n:02d}")
            delay = whole * fraction
            time.sleep(delay)
            server.kill()
            thread.join(timeout=30)
            left = _files(server.data)
            server.start()
            state = _state(server)
            drills.append({"kill_after_s": delay, "files_before_restart": left, **state})
        # The same content pushed again: accepted once (or its receipt returned).
        ok = httpx.post(
            f"{server.url}/v1/sources/{SOURCE}/datasets/lpr/deliveries",
            params={"period": "2016-11"},
            content=body,
            headers=server.auth(SOURCE, Role.SOURCE),
            timeout=120,
        )
        assert ok.status_code in (200, 201), ok.text
        # Releases and reports: killed while they are computed and sealed.
        _push_small(server, tmp_path)
        extract = _approved(server)
        for label, path, delays in (
            ("release", f"/v1/extracts/{extract}/releases", (0.05, 0.2, 0.4)),
            ("report", "/v1/reports/ressourceforloeb/runs?period=2016-11", (0.1, 0.3)),
        ):
            for delay in delays:
                thread = threading.Thread(
                    target=_quiet_post, args=(server, path, "star-statistik"), daemon=True
                )
                thread.start()
                time.sleep(delay)
                server.kill()
                thread.join(timeout=30)
                server.start()
                drills.append({f"{label}_kill_after_s": delay, **_state(server)})
    finally:
        server.stop()
    (tmp_path / "drills.json").write_text(json.dumps(drills, indent=2, default=str))
    bad = [d for d in drills if not _clean(d)]
    assert not bad, json.dumps(bad, indent=2, default=str)
    log = (server.data / "server.log").read_text()
    assert "Traceback" not in log and "Traceback" not in (server.data / "server.stderr").read_text()


def _files(data: Path) -> dict[str, int]:
    """Counts of what a crash left, before the next start's sweep."""
    blobs = data / "blobs"
    return {
        "spool": sum(1 for p in (data / "run").rglob("spool/*") if p.is_file()),
        "partial": sum(1 for _ in blobs.rglob(".*.partial")),
        "markers": sum(1 for p in (data / "run").rglob("pending/*")),
    }


def _push_small(server: Server, tmp_path: Path) -> None:
    files = synth.generate(load_catalogue(POLICIES), tmp_path / "src", seed=7, scale=0.05)
    for f in files:
        if f.dataset in ("dfdg-indsats", "dfdg-ydelse", "lpr", "ssr"):
            r = httpx.post(
                f"{server.url}/v1/sources/{f.source}/datasets/{f.dataset}/deliveries",
                params={"period": "2016-11"},
                content=(tmp_path / "src" / f.path).read_bytes(),
                headers=server.auth(f.source, Role.SOURCE),
                timeout=60,
            )
            assert r.status_code in (200, 201), r.text


def _approved(server: Server) -> str:
    r = httpx.post(
        f"{server.url}/v1/extracts",
        json=BY_KOMMUNE,
        headers=server.auth("star-statistik", Role.RECIPIENT),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    extract = str(r.json()["id"])
    ok = httpx.post(
        f"{server.url}/v1/extracts/{extract}/approve",
        headers=server.auth("dpo@star.dk", Role.APPROVER),
        timeout=30,
    )
    assert ok.status_code == 200, ok.text
    return extract


def _quiet_post(server: Server, path: str, subject: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(f"{server.url}{path}", headers=server.auth(subject, Role.RECIPIENT), timeout=60)
