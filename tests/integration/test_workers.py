"""Several gateway worker processes on one PostgreSQL database, driven by many clients."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from gateway.crypto.keys import init_key_folder
from gateway.dataplane import synth
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import Role
from gateway.services.audit import trail as audit_service
from gateway.services.platform.bootstrap import open_runtime
from tests.conftest import POLICIES, ROOT
from tests.identity import provider, write_trusted_issuers
from tests.integration.test_extracts_api import LINKED
from tests.pg import PgServer

MONTHS = [f"2016-{m:02d}" for m in range(1, 13)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_workers_many_clients_nothing_lost_or_duplicated(
    tmp_path: Path, postgres: PgServer
) -> None:
    data = tmp_path / "var"
    url = postgres.url(postgres.new_database())
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(data),
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_POLICIES_DIR": str(POLICIES),
        "GATEWAY_LOG_FILE": str(data / "server.log"),
    }
    settings = Settings(data_dir=data, database_url=url, policies_dir=POLICIES)
    init_key_folder(settings.resolved_keys_dir)
    write_trusted_issuers(settings.resolved_trusted_issuers_file)
    catalogue = load_catalogue(POLICIES)
    sources = tmp_path / "sources"
    deliveries = []
    for i, month in enumerate(MONTHS):
        for f in synth.generate(catalogue, sources / month, period=month, seed=i, scale=0.01):
            if f.dataset != "laegemiddelstatistik":
                deliveries.append((f, (sources / month / f.path).read_bytes()))

    port = _free_port()
    console = open(tmp_path / "console.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=console,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def headers(subject: str, *roles: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {provider().token(subject, *roles)}"}

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "console.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "server not ready"
            time.sleep(0.2)

        def push(item: tuple[synth.SynthFile, bytes], expect: int = 201) -> dict[str, object]:
            f, body = item
            with httpx.Client(base_url=base, timeout=120) as c:
                r = c.post(
                    f"/v1/sources/{f.source}/datasets/{f.dataset}/deliveries",
                    params={"period": f.period},
                    content=body,
                    headers=headers(f.source, Role.SOURCE),
                )
            assert r.status_code == expect, r.text
            return dict(r.json())

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            receipts = list(pool.map(push, deliveries))
            # The same content again, concurrently: the first receipts come back, nothing new.
            again = list(pool.map(lambda item: push(item, expect=200), deliveries[:12]))
        push_seconds = time.monotonic() - started

        def release(recipient: str) -> dict[str, object]:
            spec = {
                **LINKED,
                "purpose": "analysis" if recipient == "star-analyse" else "statistics",
                "period_from": "2016-01",
                "period_to": "2016-12",
            }
            with httpx.Client(base_url=base, timeout=120) as c:
                ext = c.post("/v1/extracts", json=spec, headers=headers(recipient, Role.RECIPIENT))
                assert ext.status_code == 201, ext.text
                ok = c.post(
                    f"/v1/extracts/{ext.json()['id']}/approve",
                    headers=headers("dpo@star.dk", Role.APPROVER),
                )
                assert ok.status_code == 200, ok.text
                rel = c.post(
                    f"/v1/extracts/{ext.json()['id']}/releases",
                    headers=headers(recipient, Role.RECIPIENT),
                )
                assert rel.status_code == 201, rel.text
                return dict(rel.json())

        with ThreadPoolExecutor(max_workers=6) as pool:
            releases = list(pool.map(release, ["star-analyse", "star-statistik"] * 3))
    finally:
        server.terminate()
        server.wait(timeout=30)
        console.close()

    ids = [r["delivery_id"] for r in receipts]
    assert len(set(ids)) == len(deliveries) == len(MONTHS) * (len(catalogue.datasets) - 1)
    assert [r["delivery_id"] for r in again] == ids[:12]
    assert all(r["duplicate"] for r in again)
    assert len({r["id"] for r in releases}) == 6
    runtime = open_runtime(settings)
    with runtime.store.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM deliveries")).scalar() == len(deliveries)
    indexes = [e.index for e in runtime.store.audit_entries()]
    assert indexes == list(range(len(indexes)))
    result = audit_service.verify(runtime.context)
    assert result.ok, result.problem
    pids = {
        json.loads(line).get("pid")
        for line in (data / "server.log").read_text().splitlines()
        if '"request"' in line
    }
    assert len(pids) >= 2, "both workers should have served requests"
    runtime.store.dispose()
    print(
        f"\n{len(deliveries)} deliveries from 16 clients on 2 workers in {push_seconds:.1f} s; "
        f"6 concurrent releases; {len(indexes)} audit entries, {result.checkpoints} "
        f"checkpoints verified ({dt.datetime.now(dt.UTC):%H:%M} UTC)"
    )
