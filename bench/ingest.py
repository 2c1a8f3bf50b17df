"""Data-plane figures: ingest over HTTP, server memory, pseudonymisation rate.

Baselines in the same run: ``pyarrow.csv.read_csv`` + ``pyarrow.parquet.write_table`` of the
same file (ingest), and ``hmac.new`` per CPR in a Python loop (pseudonyms).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench.identity import dev_identity
from gateway.config import Settings
from gateway.crypto.keys import init_key_folder
from gateway.crypto.pseudonyms import HMAC_KERNEL, internal_pseudonyms, recipient_pseudonyms
from gateway.dataplane import synth_sized
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import Role
from gateway.storage import subject_index
from gateway.storage.sql_store import SqlStore

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _subject_index_catch_up(store: SqlStore, timeout: float = 600) -> float:
    """Seconds until the server's subject indexer has moved every pending key."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        with store.engine.connect() as conn:
            if not subject_index.pending_sets(conn):
                break
        time.sleep(0.05)
    return time.perf_counter() - began


def _chunks(path: Path, size: int = 1 << 20) -> Any:
    with open(path, "rb") as fh:
        while block := fh.read(size):
            yield block


def run(
    rows: int = 1_000_000, persons: int = 250_000, repeats: int = 3, memory_only: bool = False
) -> list[dict[str, Any]]:
    """Push the delivery ``repeats`` times (as different months, so each is new), each right
    after a run of the bare baseline; report the medians and the median of the per-pair
    ratios. ``memory_only``: one push, the server's peak memory (the 10,000,000-row figure)."""
    out: list[dict[str, Any]] = []
    catalogue = load_catalogue(ROOT / "policies")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp)
        csv_path = folder / "lpr-2016-11.csv"
        synth_sized.lpr_like(catalogue, csv_path, rows=rows, persons=persons)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"  {rows:,} rows, {persons:,} persons, {size_mb:.0f} MB CSV", flush=True)

        repeats = 1 if memory_only else repeats

        def bare_baseline() -> float:
            began = time.perf_counter()
            pq.write_table(pacsv.read_csv(csv_path), folder / "baseline.parquet")
            return time.perf_counter() - began

        baselines: list[float] = []

        data = folder / "var"
        settings = Settings(data_dir=data, policies_dir=ROOT / "policies")
        init_key_folder(settings.resolved_keys_dir)
        identity = ExitStack()  # the development provider, for the tokens (closed below)
        idp = identity.enter_context(dev_identity(data))
        port = _port()
        env = {
            **os.environ,
            "GATEWAY_DATA_DIR": str(data),
            "GATEWAY_POLICIES_DIR": str(ROOT / "policies"),
            "GATEWAY_LOG_FILE": str(data / "server.log"),
        }
        env.pop("GATEWAY_DATABASE_URL", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            idle_rss = _peak_rss_mib(server.pid)
            operator = idp.token("hub-operations", Role.OPERATOR)
            kernel = (  # readiness details are for operators
                httpx.get(
                    f"{base}/readyz", headers={"Authorization": f"Bearer {operator}"}, timeout=5
                )
                .json()
                .get("pseudonym_kernel", "?")
            )
            print(f"  server's pseudonym kernel: {kernel}", flush=True)
            token = idp.token("sundhedsdatastyrelsen", Role.SOURCE)
            times, catch_up = [], []
            store = SqlStore.open(settings.resolved_database_url, migrate_schema=False)
            for month in range(1, repeats + 1):
                # Baseline and push alternate, so both see the shared machine in the same
                # state: quiet, the server's background work for the previous push done.
                baselines.append(bare_baseline())
                began = time.perf_counter()
                r = httpx.post(
                    f"{base}/v1/sources/sundhedsdatastyrelsen/datasets/lpr/deliveries",
                    params={"period": f"2016-{month:02d}"},
                    content=_chunks(csv_path),
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=3600,
                )
                times.append(time.perf_counter() - began)
                assert r.status_code == 201, r.text[:500]
                catch_up.append(_subject_index_catch_up(store))
            store.dispose()
            print(
                f"  subject index caught up {statistics.median(catch_up):.2f} s after the "
                "receipt (median; background work, not in the ingest time)",
                flush=True,
            )
            elapsed = statistics.median(times)
            baseline = statistics.median(baselines)
            ratio = statistics.median(t / b for t, b in zip(times, baselines, strict=True))
            peak = _peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
            identity.close()
        limit = 1536 if rows >= 10_000_000 else 1024
        memory: dict[str, Any] = {
            "figure": f"server peak RSS for {rows:,} rows (idle {idle_rss:.0f} MiB)",
            "value": round(peak),
            "unit": "MiB",
            "baseline": round(idle_rss),
            "ratio": round(peak / idle_rss, 2),
            "target": f"<= {limit} MiB",
            "holds": peak <= limit,
        }
        if memory_only:
            memory["figure"] += f", {rows / elapsed:,.0f} rows/s"
            return [memory]
        out.append(
            {
                "figure": f"ingest {rows:,} rows over HTTP (validate, pseudonymise, seal, audit), "
                f"median of {repeats}",
                "value": round(rows / elapsed),
                "unit": "rows/s",
                "baseline": round(rows / baseline),
                "ratio": round(ratio, 2),
                "target": "time <= 3x baseline, >= 400,000 rows/s",
                "holds": ratio <= 3 and rows / elapsed >= 400_000,
            }
        )
        out.append(memory)

        table = pacsv.read_csv(
            csv_path, convert_options=pacsv.ConvertOptions(column_types={"cpr": pa.string()})
        )
        cprs = table["cpr"].combine_chunks()
        k1, k2 = os.urandom(32), os.urandom(32)
        runs = []
        for _ in range(repeats):
            began = time.perf_counter()
            internal = internal_pseudonyms(cprs, k1)
            external = recipient_pseudonyms(internal, k2)
            runs.append(time.perf_counter() - began)
        ours = statistics.median(runs)
        sample = cprs.to_pylist()[:100_000]
        began = time.perf_counter()
        for value in sample:
            inner = hmac.new(k1, value.encode(), hashlib.sha256).digest()
            hmac.new(k2, inner, hashlib.sha256).digest()
        naive = (time.perf_counter() - began) * rows / len(sample)
        check = [
            hmac.new(k2, hmac.new(k1, v.encode(), hashlib.sha256).digest(), hashlib.sha256)
            .digest()[:16]
            .hex()
            for v in sample[:1000]
        ]
        assert external.to_pylist()[:1000] == check, "pseudonyms differ from the reference"
        # Counted strictly: a CPR counts once when it has both its internal and its recipient
        # pseudonym (earlier runs counted the two pseudonyms as two).
        out.append(
            {
                "figure": f"pseudonymise {rows:,} CPR, internal + recipient each "
                f"({persons:,} distinct), median of {repeats}; kernel: {HMAC_KERNEL}",
                "value": round(rows / ours),
                "unit": "CPR/s",
                "baseline": round(rows / naive),
                "ratio": round(naive / ours, 1),
                "target": ">= 2,000,000 CPR/s",
                "holds": rows / ours >= 2_000_000,
            }
        )
    return out
