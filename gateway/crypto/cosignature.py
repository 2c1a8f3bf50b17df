"""C2SP tlog-cosignature: a witness's timestamped statement about a checkpoint, with ML-DSA-44
(the spec's recommendation, secure against quantum computers) or Ed25519.

A cosignature is a signed-note signature line ``— <witness name> base64(key id || timestamp ||
signature)``; the timestamp is a big-endian uint64 of POSIX seconds. The two types differ in
their key id byte and in what they sign:

* **ML-DSA-44** (type 0x06): key id SHA-256(name || "\\n" || 0x06 || 1312-byte key)[:4]; the
  signature (2420 bytes, empty context) covers the ``cosigned_message`` structure: the label
  ``subtree/v1\\n\\0``, the witness name and the log origin each with a one-byte length, the
  timestamp, start 0 and end = the tree size as uint64, and the 32-byte root hash. It commits
  to the witness's name; extension lines are not covered.
* **Ed25519 cosignature/v1** (type 0x04): key id SHA-256(name || "\\n" || 0x04 || key)[:4];
  the signature covers ``cosignature/v1\\ntime <timestamp>\\n`` and the checkpoint's text.

Either says: as of that time, this is the largest tree the witness saw for the log, and every
tree it saw before is a prefix of it. Keys are C2SP vkeys; private keys are written
``PRIVATE+KEY+<name>+<key id>+base64(type || seed)``.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey, MLDSA44PublicKey

from gateway.crypto.notes import DASH, NoteError

ED25519 = b"\x04"
ML_DSA_44 = b"\x06"
ALGORITHMS = {"ml-dsa-44": ML_DSA_44, "ed25519": ED25519}
SIGNATURE_BYTES = {ED25519: 64, ML_DSA_44: 2420}
PUBLIC_BYTES = {ED25519: 32, ML_DSA_44: 1312}
HEADER = b"cosignature/v1\n"
SUBTREE_LABEL = b"subtree/v1\n\x00"

PrivateKey = Ed25519PrivateKey | MLDSA44PrivateKey
PublicKey = Ed25519PublicKey | MLDSA44PublicKey


def cosignature_key_id(name: str, kind: bytes, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + kind + public).digest()[:4]


def _checkpoint_head(text: str) -> tuple[bytes, int, bytes]:
    """Origin, size and root of a checkpoint's text (its first three lines)."""
    lines = text.split("\n")
    if len(lines) < 3 or not lines[1].isdigit():
        raise NoteError("not a checkpoint: origin, size and root lines expected")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return lines[0].encode(), int(lines[1]), root


def _short(value: bytes, what: str) -> bytes:
    if not 0 < len(value) < 256:
        raise NoteError(f"the {what} must be 1 to 255 bytes")
    return bytes([len(value)]) + value


def signed_message(kind: bytes, name: str, checkpoint_text: str, timestamp: int) -> bytes:
    """What a cosignature of type ``kind`` by ``name`` signs."""
    if kind == ED25519:
        return HEADER + f"time {timestamp}\n".encode() + checkpoint_text.encode()
    origin, size, root = _checkpoint_head(checkpoint_text)
    return (
        SUBTREE_LABEL
        + _short(name.encode(), "witness name")
        + timestamp.to_bytes(8, "big")
        + _short(origin, "log origin")
        + (0).to_bytes(8, "big")
        + size.to_bytes(8, "big")
        + root
    )


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


def _raw_public(key: PublicKey) -> bytes:
    if isinstance(key, MLDSA44PublicKey):
        return key.public_bytes_raw()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Cosigner:
    """A witness's signing key."""

    name: str
    kind: bytes
    key: PrivateKey

    @classmethod
    def generate(cls, name: str, algorithm: str = "ml-dsa-44") -> Cosigner:
        kind = ALGORITHMS[algorithm]
        key = MLDSA44PrivateKey.generate() if kind == ML_DSA_44 else Ed25519PrivateKey.generate()
        return cls(name, kind, key)

    @classmethod
    def from_skey(cls, skey: str) -> Cosigner:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed witness private key")
        raw = base64.b64decode(parts[4])
        kind, seed = raw[:1], raw[1:]
        if kind == ML_DSA_44 and len(seed) == 32:
            key: PrivateKey = MLDSA44PrivateKey.from_seed_bytes(seed)
        elif kind == ED25519 and len(seed) == 32:
            key = Ed25519PrivateKey.from_private_bytes(seed)
        else:
            raise NoteError("not an ML-DSA-44 or Ed25519 cosignature key")
        cosigner = cls(parts[2], kind, key)
        if cosigner.key_id.hex() != parts[3]:
            raise NoteError("the private key's id does not match the key")
        return cosigner

    @property
    def public(self) -> bytes:
        return _raw_public(self.key.public_key())

    @property
    def key_id(self) -> bytes:
        return cosignature_key_id(self.name, self.kind, self.public)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(self.kind + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def skey(self) -> str:
        if isinstance(self.key, MLDSA44PrivateKey):
            seed = self.key.private_bytes_raw()
        else:
            seed = self.key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        encoded = base64.b64encode(self.kind + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def cosign(self, checkpoint_text: str, timestamp: int | None = None) -> str:
        """The signature line (with its newline) over ``checkpoint_text``."""
        stamp = int(time.time()) if timestamp is None else timestamp
        if not 0 < stamp < 2**63:
            raise ValueError("a cosignature's timestamp is 1..2**63-1")
        signature = self.key.sign(signed_message(self.kind, self.name, checkpoint_text, stamp))
        blob = self.key_id + stamp.to_bytes(8, "big") + signature
        return f"{DASH} {self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's public key: finds and checks its cosignature on a checkpoint."""

    name: str
    kind: bytes
    key: PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        name, kind, public = parse_vkey(vkey)
        if kind not in PUBLIC_BYTES or len(public) != PUBLIC_BYTES[kind]:
            raise NoteError(f"'{name}' is not an ML-DSA-44 (0x06) or Ed25519 (0x04) cosigner key")
        if cosignature_key_id(name, kind, public).hex() != vkey.strip().split("+", 2)[1]:
            raise NoteError(f"the key id of '{name}' does not match its key")
        key: PublicKey = (
            MLDSA44PublicKey.from_public_bytes(public)
            if kind == ML_DSA_44
            else Ed25519PublicKey.from_public_bytes(public)
        )
        return cls(name, kind, key)

    @property
    def key_id(self) -> bytes:
        return cosignature_key_id(self.name, self.kind, _raw_public(self.key))

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
            if len(blob) != 4 + 8 + SIGNATURE_BYTES[self.kind]:
                raise NoteError(f"the cosignature by '{self.name}' has the wrong length")
            stamp = int.from_bytes(blob[4:12], "big")
            message = signed_message(self.kind, self.name, checkpoint_text, stamp)
            try:
                self.key.verify(blob[12:], message)
            except InvalidSignature:
                raise NoteError(f"the cosignature by '{self.name}' does not verify") from None
            return stamp
        return None
