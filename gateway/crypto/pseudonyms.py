"""Keyed pseudonyms (HMAC-SHA256), computed once per distinct value of an Arrow array.

* internal pseudonym = HMAC(k_internal, normalised CPR): 32 bytes, the only person key at rest.
* recipient pseudonym = HMAC(k_recipient_v, internal pseudonym): 128 bits as 32 hex characters,
  different for every recipient and key version, so two recipients cannot join their extracts.

A CPR has little entropy; an unkeyed hash would be reversed by enumeration in minutes. The keys
come from the key ring and never leave the process.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

_BLOCK = 64
RECIPIENT_PSEUDONYM_BYTES = 16


class Hmac:
    """HMAC-SHA256 with the key's inner and outer pads hashed once (RFC 2104), reused per call."""

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _map_distinct(values: pa.Array, fn: Hmac, out_type: pa.DataType, encode: bool) -> pa.Array:
    """Apply ``fn`` to each distinct value once and spread the results back by index."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    distinct = pc.unique(values)
    py = distinct.to_pylist()
    messages = [v.encode("ascii") for v in py] if encode else py
    digests = [fn.digest(m) for m in messages]
    mapped = pa.array(digests, type=pa.binary(32))
    if out_type != pa.binary(32):
        mapped = _to_recipient_form(mapped)
    return pc.take(mapped, pc.index_in(values, value_set=distinct))


def _to_recipient_form(digests: pa.Array) -> pa.Array:
    hexed = [d[:RECIPIENT_PSEUDONYM_BYTES].hex() for d in digests.to_pylist()]
    return pa.array(hexed, type=pa.string())


def internal_pseudonyms(normalised_cpr: pa.Array, key: bytes) -> pa.Array:
    """32-byte internal pseudonyms for an array of normalised (10-digit, no dash) CPR strings."""
    return _map_distinct(normalised_cpr, Hmac(key), pa.binary(32), encode=True)


def recipient_pseudonyms(internal: pa.Array, key: bytes) -> pa.Array:
    """Recipient pseudonyms (32 hex characters) for an array of internal pseudonyms."""
    return _map_distinct(internal, Hmac(key), pa.string(), encode=False)


SUBJECT_KEY_BYTES = 16


def subject_keys(internal: pa.Array, key: bytes) -> list[bytes]:
    """Keyed index entries for the audit trail: 128 bits of HMAC(k_subject, internal pseudonym).

    One per distinct person; lets the DPO find every entry about a person without the log
    holding a CPR or a pseudonym any recipient ever saw."""
    fn = Hmac(key)
    return [fn.digest(p)[:SUBJECT_KEY_BYTES] for p in pc.unique(internal).to_pylist()]
