"""C2SP signed notes with Ed25519 (signature type 0x01), as used by transparency logs.

A signed note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <name> <base64(key id || signature)>``. The key id is the first four bytes of
SHA-256(name || "\\n" || 0x01 || public key). Verifier keys are written
``<name>+<hex key id>+<base64(0x01 || public key)>``. Signatures by unknown keys are ignored;
a note verifies if it carries a valid signature by the expected key.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.errors import IntegrityError

ALG_ED25519 = b"\x01"
DASH = "\u2014"


class NoteError(IntegrityError):
    code = "note-invalid"
    title = "The signed note does not verify"


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class NoteSigner:
    name: str
    key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed private key")
        raw = base64.b64decode(parts[4])
        if raw[:1] != ALG_ED25519 or len(raw) != 33:
            raise NoteError("unsupported private key type")
        signer = cls.from_seed(parts[2], raw[1:])
        if signer.key_id.hex() != parts[3]:
            raise NoteError("private key id does not match the key")
        return signer

    @property
    def public(self) -> bytes:
        return _raw_public(self.key.public_key())

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(ALG_ED25519 + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def sign(self, text: str) -> str:
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("note text must end with a newline and contain no blank line")
        signature = self.key.sign(text.encode())
        encoded = base64.b64encode(self.key_id + signature).decode()
        return f"{text}\n{DASH} {self.name} {encoded}\n"


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("malformed verifier key")
        raw = base64.b64decode(parts[2])
        if raw[:1] != ALG_ED25519 or len(raw) != 33:
            raise NoteError("unsupported verifier key type")
        verifier = cls(parts[0], Ed25519PublicKey.from_public_bytes(raw[1:]))
        if key_id(verifier.name, raw[1:]).hex() != parts[1]:
            raise NoteError("verifier key id does not match the key")
        return verifier

    def open(self, note: str) -> str:
        """The note's text if it carries a valid signature by this key; raises otherwise."""
        text, sep, signatures = note.rpartition("\n\n")
        if not sep or not note.endswith("\n"):
            raise NoteError("not a signed note")
        text += "\n"
        wanted = key_id(self.name, _raw_public(self.key))
        for line in signatures.splitlines():
            prefix = f"{DASH} {self.name} "
            if not line.startswith(prefix):
                continue  # another signer: ignored
            try:
                blob = base64.b64decode(line[len(prefix) :], validate=True)
            except ValueError:
                continue
            if blob[:4] != wanted:
                continue
            try:
                self.key.verify(blob[4:], text.encode())
            except InvalidSignature:
                raise NoteError(f"the signature by '{self.name}' does not verify") from None
            return text
        raise NoteError(f"the note carries no signature by '{self.name}'")
