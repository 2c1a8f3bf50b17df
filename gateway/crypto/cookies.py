"""Sealed cookie values: AES-256-GCM with a random nonce, base64url without padding. A value
that does not open (tampered, another key, truncated) is simply ``None``."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX_COOKIE = 8192


def seal(key: bytes, data: bytes, aad: bytes) -> str:
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, data, aad)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(key: bytes, text: str | None, aad: bytes) -> bytes | None:
    if not text or len(text) > MAX_COOKIE:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return AESGCM(key).decrypt(raw[:12], raw[12:], aad)
    except (binascii.Error, ValueError, InvalidTag):
        return None
