"""The key hierarchy: one master key outside the database, every working key derived from it.

Derivation is HKDF-SHA256 (RFC 5869) with a fixed salt and a label per purpose as ``info``;
the labels are part of the stored data's meaning and must never change (see keys/README.md).
The key check value, stored in the database at first start, lets the gateway refuse to run
with a different master key instead of producing unreadable data or unlinkable pseudonyms.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.errors import KeyUnavailable
from gateway.files import fsync_dir

HKDF_SALT = b"gateway key hierarchy v1"
MASTER_KEY_FILE = "master.key"


class Labels:
    """HKDF ``info`` labels. Changing one makes every key derived under it a different key."""

    INTERNAL_PSEUDONYM = "gateway/v1/pseudonym/internal"
    KEY_CHECK = "gateway/v1/key-check"
    SUBJECT_INDEX = "gateway/v1/audit/subject-index"
    CHECKPOINT_SIGNING = "gateway/v1/audit/checkpoint-signing"
    CONSOLE_SESSION = "gateway/v1/console/session"
    CONSOLE_ANSWER = "gateway/v1/console/lookup-answer"

    @staticmethod
    def recipient_pseudonym(recipient: str, version: int) -> str:
        return f"gateway/v1/pseudonym/recipient/{recipient}/v{version}"

    @staticmethod
    def blob_kek(version: int) -> str:
        return f"gateway/v1/blob-kek/v{version}"


def hkdf(master: bytes, info: bytes, *, salt: bytes = HKDF_SALT, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869); the hierarchy always uses ``HKDF_SALT`` and a label as ``info``."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(master)


@dataclass
class KeyRing:
    """Derived keys, computed on demand from the master key and cached in memory only."""

    master: bytes = field(repr=False)
    _cache: dict[str, bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.master) != 32:
            raise KeyUnavailable("the master key must be exactly 32 bytes")

    def derive(self, label: str) -> bytes:
        if label not in self._cache:
            self._cache[label] = hkdf(self.master, label.encode())
        return self._cache[label]

    @property
    def key_check_value(self) -> str:
        """A public fingerprint of the master key (an HKDF output), stored at first start."""
        return self.derive(Labels.KEY_CHECK)[:8].hex()

    def internal_pseudonym_key(self) -> bytes:
        return self.derive(Labels.INTERNAL_PSEUDONYM)

    def recipient_pseudonym_key(self, recipient: str, version: int) -> bytes:
        return self.derive(Labels.recipient_pseudonym(recipient, version))

    def blob_kek(self, version: int) -> bytes:
        return self.derive(Labels.blob_kek(version))

    def subject_index_key(self) -> bytes:
        return self.derive(Labels.SUBJECT_INDEX)

    def checkpoint_seed(self) -> bytes:
        """Ed25519 seed of the audit log's checkpoint signing key."""
        return self.derive(Labels.CHECKPOINT_SIGNING)

    def matches(self, key_check_value: str) -> bool:
        return hmac.compare_digest(self.key_check_value, key_check_value)


def init_key_folder(folder: Path) -> list[Path]:
    """Create the master key where it is missing.

    Returns the files created. Existing files are never overwritten: overwriting a master key
    would make every stored delivery unreadable.
    """
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    created: list[Path] = []
    master = folder / MASTER_KEY_FILE
    if not master.exists():
        _write_secret(master, base64.b64encode(os.urandom(32)) + b"\n")
        created.append(master)
    return created


def _write_secret(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Whole or not at all: written and synced under a temporary name, then linked into place
    (which fails if the file exists: nothing is ever overwritten) and the folder synced. A
    crash leaves at most a ``.tmp-`` file, which the next ``keys init`` removes."""
    for stale in path.parent.glob(f".tmp-{path.name}-*"):
        stale.unlink(missing_ok=True)
    temp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(temp, path)
        fsync_dir(path.parent)
    finally:
        temp.unlink(missing_ok=True)


class MasterKeySource(Protocol):
    """Where the master key comes from. The embedded default reads a file or the environment;
    a production deployment implements this over its KMS or HSM (unwrap a wrapped master key at
    start-up), and nothing else in the gateway changes."""

    def load(self) -> bytes:
        """The 32-byte master key. Raises :class:`KeyUnavailable` with what to do."""


@dataclass(frozen=True)
class FileMasterKey:
    folder: Path

    def load(self) -> bytes:
        return load_master_key(self.folder, None)


@dataclass(frozen=True)
class EnvironmentMasterKey:
    value: str = field(repr=False)

    def load(self) -> bytes:
        return load_master_key(Path("."), self.value)


def master_key_source(folder: Path, env_value: str | None) -> MasterKeySource:
    return EnvironmentMasterKey(env_value) if env_value else FileMasterKey(folder)


def load_master_key(folder: Path, env_value: str | None) -> bytes:
    """The master key from the environment (base64) or ``folder/master.key``.

    Raises :class:`KeyUnavailable` with what to do, never with key material.
    """
    if env_value:
        source, text = "GATEWAY_MASTER_KEY", env_value.encode()
    else:
        path = folder / MASTER_KEY_FILE
        if not path.exists():
            raise KeyUnavailable(
                f"no master key at {path}. Run 'gateway keys init' for a new installation; "
                "if this installation already holds data, restore the master key from backup "
                "(without it stored deliveries cannot be decrypted)."
            )
        source, text = str(path), path.read_bytes()
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyUnavailable(f"the master key in {source} is not valid base64") from None
    if len(key) != 32:
        raise KeyUnavailable(f"the master key in {source} must decode to 32 bytes")
    return key
