"""C2SP tlog-cosignature v1 with Ed25519: a witness's timestamped statement about a checkpoint.

A cosignature is a signed-note signature line ``— <witness name> base64(key id || timestamp ||
signature)``. The key id is SHA-256(name || "\\n" || 0x04 || public key)[:4]; the timestamp is
a big-endian uint64 of POSIX seconds; the Ed25519 signature covers::

    cosignature/v1
    time <timestamp>
    <the checkpoint's note text, with its final newline>

It says: as of that time, this is the largest tree the witness saw for the log, and every
earlier tree it saw is a prefix of it. Keys are written as C2SP vkeys (signature type 0x04);
private keys as ``PRIVATE+KEY+<name>+<key id>+base64(0x04 || seed)``.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.crypto.notes import DASH, NoteError

ALG_COSIGNATURE_V1 = b"\x04"
HEADER = b"cosignature/v1\n"


def cosignature_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_COSIGNATURE_V1 + public).digest()[:4]


def signed_message(checkpoint_text: str, timestamp: int) -> bytes:
    return HEADER + f"time {timestamp}\n".encode() + checkpoint_text.encode()


def split_note(note: str) -> tuple[str, list[str]]:
    """A signed note's text (with its final newline) and its signature lines."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        raise NoteError("not a signed note")
    return text + "\n", [line for line in signatures.split("\n") if line]


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """``<name>+<hex key id>+base64(type || key)`` -> (name, type byte, key); the id is not
    checked here (it depends on the type)."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
        raise NoteError("malformed verifier key")
    try:
        raw = base64.b64decode(parts[2], validate=True)
    except ValueError:
        raise NoteError("malformed verifier key") from None
    if not raw:
        raise NoteError("malformed verifier key")
    return parts[0], raw[:1], raw[1:]


@dataclass(frozen=True)
class Cosigner:
    """A witness's signing key."""

    name: str
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Cosigner:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed witness private key")
        raw = base64.b64decode(parts[4])
        if raw[:1] != ALG_COSIGNATURE_V1 or len(raw) != 33:
            raise NoteError("not an Ed25519 cosignature/v1 private key")
        cosigner = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if cosigner.key_id.hex() != parts[3]:
            raise NoteError("the private key's id does not match the key")
        return cosigner

    @property
    def public(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> bytes:
        return cosignature_key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(ALG_COSIGNATURE_V1 + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def skey(self) -> str:
        seed = self.key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        encoded = base64.b64encode(ALG_COSIGNATURE_V1 + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def cosign(self, checkpoint_text: str, timestamp: int | None = None) -> str:
        """The signature line (with its newline) over ``checkpoint_text``."""
        stamp = int(time.time()) if timestamp is None else timestamp
        if not 0 < stamp < 2**63:
            raise ValueError("a cosignature's timestamp is 1..2**63-1")
        signature = self.key.sign(signed_message(checkpoint_text, stamp))
        blob = self.key_id + stamp.to_bytes(8, "big") + signature
        return f"{DASH} {self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's public key: finds and checks its cosignature on a checkpoint."""

    name: str
    key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        name, kind, public = parse_vkey(vkey)
        if kind != ALG_COSIGNATURE_V1 or len(public) != 32:
            raise NoteError(f"'{name}' is not an Ed25519 cosignature/v1 key (type 0x04)")
        if cosignature_key_id(name, public).hex() != vkey.strip().split("+", 2)[1]:
            raise NoteError(f"the key id of '{name}' does not match its key")
        return cls(name, Ed25519PublicKey.from_public_bytes(public))

    @property
    def key_id(self) -> bytes:
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cosignature_key_id(self.name, raw)

    def timestamp(self, checkpoint_text: str, lines: list[str]) -> int | None:
        """The timestamp of this witness's valid cosignature among ``lines``; None if there is
        none. A line with this witness's name and key id whose signature fails raises
        :class:`NoteError` (the note is malformed)."""
        prefix = f"{DASH} {self.name} "
        wanted = self.key_id
        for line in lines:
            if not line.startswith(prefix):
                continue
            try:
                blob = base64.b64decode(line[len(prefix) :].strip(), validate=True)
            except ValueError:
                continue
            if blob[:4] != wanted:
                continue
            if len(blob) != 4 + 8 + 64:
                raise NoteError(f"the cosignature by '{self.name}' has the wrong length")
            stamp = int.from_bytes(blob[4:12], "big")
            try:
                self.key.verify(blob[12:], signed_message(checkpoint_text, stamp))
            except InvalidSignature:
                raise NoteError(f"the cosignature by '{self.name}' does not verify") from None
            return stamp
        return None
