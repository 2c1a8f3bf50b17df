"""A real gateway server process for the fault drills: start, wait until ready, kill -9,
start again on the same state folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gateway.config import Settings
from gateway.crypto.keys import init_key_folder
from gateway.domain.principals import Role
from tests.conftest import POLICIES
from tests.identity import provider, write_trusted_issuers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    data: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def __post_init__(self) -> None:
        self.settings = Settings(data_dir=self.data, policies_dir=POLICIES)
        init_key_folder(self.settings.resolved_keys_dir)
        write_trusted_issuers(self.settings.resolved_trusted_issuers_file)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "GATEWAY_DATA_DIR": str(self.data),
            "GATEWAY_POLICIES_DIR": str(POLICIES),
            "GATEWAY_LOG_FILE": str(self.data / "server.log"),
            **self.env_extra,
        }
        if "GATEWAY_DATABASE_URL" not in self.env_extra:
            env.pop("GATEWAY_DATABASE_URL", None)
        with open(self.data / "server.stderr", "ab") as stderr:  # the child keeps its copy
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--port", str(self.port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server not ready")

    def kill(self) -> None:
        """kill -9: no clean-up of any kind runs."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self, who: str, *roles: Role) -> str:
        return provider().token(who, *roles)

    def auth(self, subject: str, *roles: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, *roles)}"}
