"""A real server process: a delivery is processed while its body arrives, on a bounded set of
ingestion threads that slow uploads cannot take from other requests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from gateway.crypto.keys import init_key_folder
from gateway.dataplane import synth
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import Role
from tests.conftest import POLICIES
from tests.identity import provider, write_trusted_issuers


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_stalled_upload_holds_one_ingest_slot_and_nothing_else(tmp_path: Path) -> None:
    data = tmp_path / "var"
    settings = Settings(data_dir=data, policies_dir=POLICIES)
    init_key_folder(settings.resolved_keys_dir)
    write_trusted_issuers(settings.resolved_trusted_issuers_file)
    files = synth.generate(load_catalogue(POLICIES), tmp_path / "src", seed=3, scale=0.02)
    lpr = (tmp_path / "src" / next(f for f in files if f.dataset == "lpr").path).read_bytes()
    port = _port()
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(data),
        "GATEWAY_POLICIES_DIR": str(POLICIES),
        "GATEWAY_LOG_FILE": str(data / "server.log"),
        "GATEWAY_MAX_CONCURRENT_INGESTS": "1",
    }
    env.pop("GATEWAY_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    token = provider().token("sundhedsdatastyrelsen", Role.SOURCE)
    url = f"{base}/v1/sources/sundhedsdatastyrelsen/datasets/lpr/deliveries"
    headers = {"Authorization": f"Bearer {token}"}
    release = threading.Event()
    results: dict[str, httpx.Response] = {}

    def stalled_body() -> Iterator[bytes]:
        yield lpr[: len(lpr) // 2]
        release.wait(60)  # the client stops sending half-way
        yield lpr[len(lpr) // 2 :]

    def push(name: str, period: str, body: object) -> None:
        results[name] = httpx.post(
            url, params={"period": period}, content=body, headers=headers, timeout=120
        )

    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        slow = threading.Thread(target=push, args=("slow", "2016-01", stalled_body()))
        slow.start()
        time.sleep(1.0)  # the slow push holds the only ingest slot, waiting for its body
        quick = threading.Thread(target=push, args=("quick", "2016-02", lpr))
        quick.start()
        began = time.monotonic()
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200  # not starved
        assert time.monotonic() - began < 5
        quick.join(3)
        assert quick.is_alive(), "a second delivery was processed past the bound of one"
        release.set()
        slow.join(120)
        quick.join(120)
    finally:
        release.set()
        server.terminate()
        server.wait(timeout=30)
    assert results["slow"].status_code == 201, results["slow"].text
    assert results["quick"].status_code == 201, results["quick"].text
    assert results["slow"].json()["rows"] == results["quick"].json()["rows"] > 0
