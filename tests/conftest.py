"""Shared fixtures: every test gets its own state folder, a real SQLite file and real keys."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.config import Settings
from gateway.dataplane import synth
from gateway.domain.catalogue import Catalogue
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import Role
from gateway.logging import close_log_file
from gateway.services.platform.bootstrap import Runtime
from tests import pg
from tests.identity import provider, write_trusted_issuers

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
PERIOD = "2016-11"


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.PgServer]:
    """A PostgreSQL server for the session. Missing PostgreSQL is a skip on a developer's
    machine and a failure where GATEWAY_REQUIRE_POSTGRES=1 (CI)."""
    try:
        server = pg.start()
    except RuntimeError as exc:
        if os.environ.get("GATEWAY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but unavailable: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    server: pg.PgServer = request.getfixturevalue("postgres")
    return server.url(server.new_database())


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(POLICIES)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Synthetic:
    """Small synthetic deliveries (5 % scale), generated once per session."""
    folder = tmp_path_factory.mktemp("synthetic")
    files = synth.generate(catalogue, folder, period=PERIOD, scale=0.05)
    return Synthetic(folder, {f.dataset: f for f in files})


@dataclass
class Synthetic:
    folder: Path
    files: dict[str, synth.SynthFile]

    def path(self, dataset: str) -> Path:
        return self.folder / self.files[dataset].path

    def bytes(self, dataset: str) -> bytes:
        return self.path(dataset).read_bytes()


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test gateway; it trusts the session's identity provider unless the test
    names its own trusted issuers file."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "policies_dir": POLICIES,
        "log_file": data_dir / "gateway.log",
    }
    values.update(overrides)
    if "trusted_issuers_file" not in overrides:
        data_dir.mkdir(parents=True, exist_ok=True)
        values["trusted_issuers_file"] = data_dir / "trusted-issuers.yaml"
        write_trusted_issuers(data_dir / "trusted-issuers.yaml")
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Gateway:
    """A running app with helpers for tokens: in-process ASGI (``running_gateway``) or a
    real server on a loopback socket (``serving_gateway``)."""

    client: httpx.Client
    settings: Settings
    app: Any = None

    @property
    def runtime(self) -> Runtime:
        app = self.app if self.app is not None else self.client.app  # type: ignore[attr-defined]
        runtime: Runtime = app.state.runtime
        return runtime

    def token(self, who: str, *roles: Role) -> str:
        """A token from the session's identity provider for a machine client of ``who``'s
        organisation (``name@organisation`` names the organisation after the ``@``)."""
        return provider().token(who, *(roles or (Role.SOURCE,)))

    def auth(self, subject: str, *roles: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, *roles)}"}

    def push(
        self, source: str, dataset: str, body: bytes, period: str = PERIOD, as_: str | None = None
    ) -> object:
        return self.client.post(
            f"/v1/sources/{source}/datasets/{dataset}/deliveries",
            params={"period": period},
            content=body,
            headers=self.auth(as_ or source, Role.SOURCE),
        )


@contextmanager
def running_gateway(
    data_dir: Path,
    policies: Path = POLICIES,
    database_url: str | None = None,
    **settings_overrides: object,
) -> Iterator[Gateway]:
    """An app on its own state folder (and optionally its own copy of the policies and its own
    database; the default is the embedded SQLite file in the state folder)."""
    settings = make_settings(
        data_dir, policies_dir=policies, database_url=database_url, **settings_overrides
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            yield Gateway(client, settings)
    finally:
        app.state.runtime.close()
        close_log_file()


@contextmanager
def serving_gateway(
    data_dir: Path, database_url: str | None = None, **settings_overrides: object
) -> Iterator[Gateway]:
    """The app behind a real uvicorn server on a free loopback port, in a thread of this
    process (real sockets and HTTP parsing; the runtime stays reachable for checks)."""
    settings = make_settings(data_dir, database_url=database_url, **settings_overrides)
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            yield Gateway(client, settings, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.state.runtime.close()
        close_log_file()


def edited_policies(
    folder: Path, edits: dict[str, tuple[str, str] | list[tuple[str, str]]]
) -> Path:
    """A copy of the shipped policies with ``{relative file: (old, new)}`` replacements (or a
    list of such pairs for one file)."""
    shutil.copytree(POLICIES, folder)
    for name, change in edits.items():
        text = (folder / name).read_text()
        for old, new in change if isinstance(change, list) else [change]:
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        (folder / name).write_text(text)
    return folder


def _backend_url(request: pytest.FixtureRequest) -> str | None:
    """A new PostgreSQL database for the ``postgresql`` parameter; None (SQLite) else."""
    if request.param != "postgresql":
        return None
    server: pg.PgServer = request.getfixturevalue("postgres")
    return server.url(server.new_database())


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Gateway]:
    """The whole gateway behind a real HTTP server, on SQLite and on PostgreSQL."""
    with serving_gateway(tmp_path / "var", database_url=_backend_url(request)) as gw:
        yield gw


# The shipped policies with exact counts (the suppression method) instead of the cell-key
# default: for tests of what suppression itself guarantees, cell by cell.
EXACT_COUNTS = {"disclosure.yaml": ("method: cell-key", "method: suppression")}


@pytest.fixture(params=BACKENDS)
def exact_gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Gateway]:
    """The whole gateway over HTTP with exact counts under suppression, on both backends."""
    policies = edited_policies(tmp_path / "policies", EXACT_COUNTS)
    with running_gateway(tmp_path / "var", policies, database_url=_backend_url(request)) as gw:
        yield gw


@pytest.fixture(params=BACKENDS)
def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Gateway]:
    """The whole gateway over HTTP (ASGI), on SQLite and on PostgreSQL."""
    with running_gateway(tmp_path / "var", database_url=_backend_url(request)) as gw:
        yield gw


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto's, from PyPI) on loopback, for the whole session."""
    server_module = pytest.importorskip("moto.server")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def new_bucket(endpoint: str) -> str:
    from gateway.storage.s3_blobs import S3BlobStore

    name = f"gateway-{uuid.uuid4().hex[:12]}"
    S3BlobStore.connect(name, "", endpoint).client.create_bucket(Bucket=name)
    return name
