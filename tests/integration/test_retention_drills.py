"""kill -9 drills for the retention sweep: ``gateway retention sweep`` runs as its own process
over many withdrawn deliveries (due at once: withdrawn content is kept 0 days) and is killed at
random moments, again and again, until a sweep runs to its end.

After every kill, on the state left behind: a delivery without an erasure row still has every
blob and each one opens; a finished erasure has no blob left, its delivery is marked erased
and exactly one ``retention.erased`` audit entry records it; an erasure begun but not finished
has no audit entry yet (the next sweep finishes it); the audit log verifies. At the end every
delivery is erased exactly once and the log still verifies.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.events import EventType
from gateway.domain.audit_query import AuditQuery
from gateway.domain.principals import Role
from gateway.services.audit.trail import verify
from gateway.services.platform.bootstrap import open_runtime
from gateway.services.platform.sealed import open_sealed
from tests.conftest import POLICIES, Synthetic, make_settings, running_gateway

pytestmark = pytest.mark.slow
LPR = "sundhedsdatastyrelsen"
ROOT = Path(__file__).resolve().parents[2]
MONTHS = [f"{year}-{month:02d}" for year in range(2009, 2015) for month in range(1, 13)]


def _withdrawn_deliveries(data: Path, body: bytes) -> tuple[list[str], dict[str, Any], str]:
    """One withdrawn lpr delivery per month of ``MONTHS`` (each due for erasure today); the
    first receipt, and the log's verifier key."""
    ids, receipts = [], []
    with running_gateway(data) as gw:
        for period in MONTHS:
            r = gw.client.post(
                f"/v1/sources/{LPR}/datasets/lpr/deliveries",
                params={"period": period},
                content=body,
                headers=gw.auth(LPR, Role.SOURCE),
            )
            assert r.status_code == 201, r.text
            receipts.append(r.json())
            delivery = r.json()["delivery_id"]
            w = gw.client.post(
                f"/v1/deliveries/{delivery}/withdraw",
                json={"note": "sent to the wrong hub"},
                headers=gw.auth(LPR, Role.SOURCE),
            )
            assert w.status_code == 200, w.text
            ids.append(delivery)
        vkey = gw.client.get("/v1/audit/checkpoint", headers=gw.auth(LPR, Role.SOURCE))
        assert vkey.status_code == 200, vkey.text
    return ids, receipts[0], str(vkey.json()["vkey"])


def _env(data: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
        "GATEWAY_DATA_DIR": str(data),
        "GATEWAY_POLICIES_DIR": str(POLICIES),
        "GATEWAY_TRUSTED_ISSUERS_FILE": str(data / "trusted-issuers.yaml"),
    }


def _sweep_process(data: Path, command: str = "sweep") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "retention", command, "--json"],
        env=_env(data),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _check(data: Path, deliveries: list[str]) -> tuple[int, int]:
    """The invariants on what a kill left; (finished, begun but unfinished) erasures."""
    runtime = open_runtime(make_settings(data))
    try:
        ctx = runtime.context
        with ctx.store.unit_of_work() as uow:
            unfinished = {e.object_id: e for e in uow.unfinished_erasures()}
            finished = {e.object_id: e for e in uow.erasures(10_000)}
            records = {d: uow.get_delivery(d) for d in deliveries}
        entries = ctx.store.search_audit(
            AuditQuery(event_type=EventType.RETENTION_ERASED.value, limit=10_000)
        )
        recorded = Counter(json.loads(e.body)["refs"].get("delivery") for e in entries)
        for delivery, record in records.items():
            assert record is not None
            keys = [record.blob_key, record.vault_blob_key]
            if delivery in finished:
                assert recorded[delivery] == 1, (delivery, recorded[delivery])
                assert record.erased_at is not None
                assert not any(ctx.blobs.exists(k) for k in keys if k), delivery
            elif delivery in unfinished:
                assert recorded[delivery] == 0 and record.erased_at is None
            else:
                assert recorded[delivery] == 0 and record.erased_at is None
                for key in keys:
                    if key:
                        with open_sealed(ctx, key) as reader:
                            assert reader.read(16), (delivery, key)
        assert verify(ctx).ok
        return len(finished), len(unfinished)
    finally:
        runtime.close()


def test_kill_9_during_the_sweep_leaves_every_erasure_whole_or_resumable(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    data = tmp_path / "var"
    deliveries, receipt, vkey = _withdrawn_deliveries(data, synthetic.bytes("lpr"))
    chance = random.Random(int(os.environ.get("DRILL_SEED", "27")))
    began = time.perf_counter()
    probe = _sweep_process(data, "plan")  # a process's start-up, without the sweep
    probe.communicate(timeout=120)
    start_up = time.perf_counter() - began
    # Kill around the moment the sweep begins, later each time a kill came too early (nothing
    # new begun), with some jitter, so that most kills land inside the sweep.
    delay, kills, mid_sweep, torn, before = start_up * 0.8, 0, 0, 0, (0, 0)
    for _ in range(20):
        process = _sweep_process(data)
        time.sleep(delay + chance.uniform(0.0, 0.15))
        if process.poll() is not None:
            process.communicate()
            break
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        kills += 1
        finished, unfinished = _check(data, deliveries)
        if (finished, unfinished) == before:
            delay += 0.1
        elif finished < len(deliveries):
            mid_sweep += 1
        torn += unfinished > 0
        before = (finished, unfinished)
        if finished == len(deliveries):
            break
    final = _sweep_process(data)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    json.loads(out)  # the sweep's answer, and nothing else, on standard output
    finished, unfinished = _check(data, deliveries)
    assert (finished, unfinished) == (len(deliveries), 0)
    assert kills >= 1
    # A receipt for erased content still verifies, and says when its content was erased.
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    command = ["audit", "verify-receipt", "receipt.json", "--key", vkey]
    checked = subprocess.run(
        [sys.executable, "-m", "gateway", *command],
        env=_env(data),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    assert "receipt OK" in checked.stdout and "erased on " in checked.stdout, checked.stdout
    print(
        f"retention drill: {kills} kills, {mid_sweep} in the middle of a sweep, "
        f"{torn} inside an erasure (begun, not recorded)"
    )
