"""Many small deliveries: 50 concurrent clients pushing 1,000-row deliveries for 60 s.

Baseline in the same run: the same clients calling GET /healthz (the server's bare request
rate, without any delivery work).
"""

from __future__ import annotations

import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pyarrow.csv as pacsv

from bench.identity import dev_identity
from gateway.config import Settings
from gateway.crypto.keys import init_key_folder
from gateway.dataplane import synth_sized
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import Role

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load(base: str, clients: int, seconds: float, request: Any) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as c:
            i = 0
            while time.monotonic() < stop:
                began = time.perf_counter()
                ok = request(c, n, i)
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    errors[0] += 0 if ok else 1
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def run(clients: int = 50, seconds: float = 60.0, rows: int = 1000) -> list[dict[str, Any]]:
    catalogue = load_catalogue(ROOT / "policies")
    bodies = []
    for seed in range(400):  # distinct content, so every push is a new delivery
        buf = io.BytesIO()
        pacsv.write_csv(
            synth_sized.rows_like(
                catalogue, "lpr", rows=rows, persons=50_000, seed=seed, period="2016-11"
            ),
            buf,
        )
        bodies.append(buf.getvalue())
    with tempfile.TemporaryDirectory(prefix="bench-small-") as tmp:
        data = Path(tmp) / "var"
        settings = Settings(data_dir=data, policies_dir=ROOT / "policies")
        init_key_folder(settings.resolved_keys_dir)
        identity = ExitStack()  # the development provider, for the tokens (closed below)
        idp = identity.enter_context(dev_identity(data))
        env = {
            **os.environ,
            "GATEWAY_DATA_DIR": str(data),
            "GATEWAY_POLICIES_DIR": str(ROOT / "policies"),
            "GATEWAY_LOG_FILE": str(data / "server.log"),
        }
        env.pop("GATEWAY_DATABASE_URL", None)
        port = _port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            auth = {"Authorization": "Bearer " + idp.token("sundhedsdatastyrelsen", Role.SOURCE)}
            counter = iter(range(10**9))
            counter_lock = threading.Lock()

            def push(c: httpx.Client, _n: int, _i: int) -> bool:
                with counter_lock:
                    k = next(counter)
                period = f"{2000 + k // (12 * len(bodies))}-{k // len(bodies) % 12 + 1:02d}"
                r = c.post(
                    "/v1/sources/sundhedsdatastyrelsen/datasets/lpr/deliveries",
                    params={"period": period},
                    content=bodies[k % len(bodies)],
                    headers=auth,
                )
                return r.status_code == 201

            def health(c: httpx.Client, _n: int, _i: int) -> bool:
                return c.get("/healthz").status_code == 200

            base_lat, _ = _load(base, clients, min(10.0, seconds), health)
            latencies, errors = _load(base, clients, seconds, push)
        finally:
            server.terminate()
            server.wait(timeout=30)
            identity.close()
    rate = len(latencies) / seconds
    base_rate = len(base_lat) / min(10.0, seconds)
    q = statistics.quantiles(latencies, n=100)
    return [
        {
            "figure": f"{clients} clients pushing {rows:,}-row deliveries for {seconds:.0f} s "
            f"({len(latencies):,} pushes, {errors} errors)",
            "value": round(rate, 1),
            "unit": "pushes/s",
            "baseline": round(base_rate),
            "ratio": round(rate / base_rate, 3),
            "target": "no errors",
            "holds": errors == 0,
        },
        {
            "figure": "  push latency p50 / p99",
            "value": f"{q[49] * 1000:.0f}/{q[98] * 1000:.0f}",
            "unit": "ms",
            "baseline": None,
            "ratio": "-",
        },
    ]
