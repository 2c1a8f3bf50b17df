"""Two witnesses for the demo, as two other organisations would run them: each its own
``gateway witness serve`` process with its own key, trusting the demo log's key; and the
gateway's witness policy (C2SP tlog-policy) naming both, with a quorum of both.

They live under ``<demo folder>/witnesses/`` and stop with the demo. A server started later
on the demo's folder finds the policy and no witness answering: its receipts then carry the
log's signature alone (it does not wait once every witness was asked).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from gateway.services.audit import transparency

NAMES = {  # one of each cosignature type the gateway understands
    "stm": ("witness.star.example/audit", "ml-dsa-44"),  # the employment ministry's agency
    "dpo": ("witness.dpo.example/audit", "ed25519"),  # the data protection officer's office
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoWitnesses:
    def __init__(self, folder: Path, log_vkey: str) -> None:
        self.folder = folder / "witnesses"
        self.log_vkey = log_vkey
        self.policy = folder / "witness-policy.txt"
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> DemoWitnesses:
        lines = [f"log {self.log_vkey}"]
        try:
            for short, (name, algorithm) in NAMES.items():
                vkey = transparency.witness_init(self.folder / short, name, algorithm)
                transparency.witness_add_log(self.folder / short, self.log_vkey, None)
                url = self._serve(self.folder / short)
                lines.append(f"witness {short} {vkey} {url}")
        except BaseException:
            self.stop()
            raise
        lines += [f"group both all {' '.join(NAMES)}", "quorum both"]
        self.policy.write_text("\n".join(lines) + "\n")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, folder: Path) -> str:
        process, url = start_witness_process(folder)
        self.processes.append(process)
        return url

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []


def start_witness_process(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``gateway witness serve`` for ``folder`` on a free loopback port, once it answers;
    its output goes to ``witness.log`` in the folder."""
    port = _free_port()
    serve = ["witness", "serve", "--dir", str(folder), "--port", str(port)]
    with open(folder / "witness.log", "ab") as log:  # the child keeps its copy
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "gateway", *serve], stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the witness in {folder} exited; see {folder}/witness.log")
        try:
            if httpx.get(f"{url}/", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the witness in {folder} did not start within 30 s")


def witnessed_receipt(folder: Path, receipt: dict[str, Any]) -> str:
    """Write the receipt's proof bundle beside it and check it offline with the policy (the
    log's and both witnesses' keys); the summary line."""
    proof = folder / "receipt.tlog-proof"
    proof.write_text(receipt["audit"]["tlog_proof"])
    checked = transparency.verify_proof(proof, folder / "witness-policy.txt")
    return (
        f"receipt.tlog-proof: cosigned by {len(checked.cosigned_by)} witnesses "
        f"({', '.join(sorted(checked.cosigned_by))}); check it offline: gateway audit "
        f"verify-proof {folder / 'receipt.tlog-proof'} --policy {folder / 'witness-policy.txt'}"
    )
