"""Keyed pseudonyms (HMAC-SHA256) over whole Arrow arrays, natively or per distinct value.

* internal pseudonym = HMAC(k_internal, normalised CPR): 32 bytes, the only person key at rest.
* recipient pseudonym = HMAC(k_recipient_v, internal pseudonym): 128 bits as 32 hex characters,
  different for every recipient and key version, so two recipients cannot join their extracts.

A CPR has little entropy; an unkeyed hash would be reversed by enumeration in minutes. The keys
come from the key ring and never leave the process.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway.domain import cpr
from gateway.domain.subjects import SubjectKeys

_BLOCK = 64
RECIPIENT_PSEUDONYM_BYTES = 16

_native: ModuleType | None
try:  # built by pip install from _hmac_kernel.c when a C compiler and OpenSSL are present
    _native = importlib.import_module("gateway.crypto._hmac_kernel")
except ImportError:  # pragma: no cover - depends on the build machine
    _native = None

KERNEL_THREADS = min(os.cpu_count() or 1, 8)
HMAC_KERNEL = (
    f"native (OpenSSL SHA-256, {KERNEL_THREADS} threads)" if _native else "python (hashlib)"
)
"""Which implementation computes pseudonyms (served by ``/readyz``, printed by the benchmarks)."""


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


def python_digests(key: bytes, values: pa.Array) -> pa.Array:
    """HMAC-SHA256 of every value with Python's hashlib: the reference, and the fallback where
    the native kernel was not built."""
    digest = Hmac(key).digest
    joined = b"".join([digest(m) for m in _binary_values(values)])
    return pa.Array.from_buffers(pa.binary(32), len(values), [None, pa.py_buffer(joined)])


def _binary_values(values: pa.Array) -> list[bytes]:
    if pa.types.is_fixed_size_binary(values.type):
        return list(values.to_pylist())
    return list(pc.cast(values, pa.binary()).to_pylist())


def native_digests(key: bytes, values: pa.Array, hex_bytes: int = 0) -> pa.Array:
    """HMAC-SHA256 of every value in one call to the C kernel, straight from the Arrow buffers
    (no Python object per value), on up to ``KERNEL_THREADS`` threads without the GIL.

    Returns binary(32) digests, or with ``hex_bytes`` the lower-case hex of each digest's first
    ``hex_bytes`` bytes as strings (the recipient pseudonym's form, without a second pass).
    """
    if _native is None:
        raise RuntimeError("the native HMAC kernel is not built (see setup.py)")
    if values.null_count:
        raise ValueError("cannot pseudonymise a null value")
    count = len(values)
    if pa.types.is_fixed_size_binary(values.type):
        width = values.type.byte_width
        data = values.buffers()[1]
        data = data.slice(values.offset * width, count * width) if data is not None else b""
        offsets = None
    else:
        if not (pa.types.is_binary(values.type) or pa.types.is_string(values.type)):
            values = pc.cast(values, pa.binary())
        width = 0
        _, offsets, data = values.buffers()
        offsets = offsets.slice(values.offset * 4, (count + 1) * 4)
    joined = _native.hmac_sha256(
        key, data or b"", offsets, count, max(width, 1), KERNEL_THREADS, hex_bytes
    )
    if not hex_bytes:
        return pa.Array.from_buffers(pa.binary(32), count, [None, pa.py_buffer(joined)])
    positions = np.arange(count + 1, dtype=np.int32) * (2 * hex_bytes)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(positions.tobytes()), pa.py_buffer(joined)]
    )


def hmac_digests(key: bytes, values: pa.Array) -> pa.Array:
    """HMAC-SHA256(key, value) of every value of a binary or string array, as binary(32)."""
    if _native is not None and len(values):
        return native_digests(key, values)
    return python_digests(key, values)


def _encode(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """Distinct values and, per position, the index of its value (one hash pass)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count == 0 and len(values):
        if values.type == pa.binary(32):
            fast = _encode_digests(values)
        elif values.type == pa.string():
            fast = _encode_ten_digits(values)
        else:
            fast = None
        if fast is not None:
            return fast
    encoded = pc.dictionary_encode(values)
    return encoded.dictionary, encoded.indices


def _first_positions(indices: pa.Array, groups: int) -> np.ndarray:
    """For each of ``groups`` codes, the first position at which ``indices`` holds it."""
    first = np.empty(groups, dtype=np.int64)
    position = np.arange(len(indices), dtype=np.int64)
    first[indices.to_numpy()[::-1]] = position[::-1]  # the last write is the first occurrence
    return first


def _first_occurrences(values: pa.Array, indices: pa.Array, groups: int) -> pa.Array:
    return values.take(pa.array(_first_positions(indices, groups)))


def _encode_ten_digits(values: pa.Array) -> tuple[pa.Array, pa.Array] | None:
    """Encode normalised CPRs through the integer they spell; None for anything else."""
    number = cpr.numbers_of(values)
    if number is None:
        return None
    encoded = pc.dictionary_encode(pa.array(number))
    indices = encoded.indices
    return _first_occurrences(values, indices, len(encoded.dictionary)), indices


def _encode_digests(values: pa.Array) -> tuple[pa.Array, pa.Array] | None:
    """Encode 32-byte digests by their first 8 bytes (an integer hash, much cheaper than hashing
    32-byte strings), then prove the encoding exact by comparing every full value with its
    representative; None (use the general path) in the improbable case of a prefix collision."""
    raw = np.frombuffer(values.buffers()[1], dtype=np.uint8)
    rows = raw[values.offset * 32 : (values.offset + len(values)) * 32].reshape(-1, 32)
    prefix = np.ascontiguousarray(rows[:, :8]).view(np.uint64).ravel()
    encoded = pc.dictionary_encode(pa.array(prefix))
    indices = encoded.indices
    distinct = _first_occurrences(values, indices, len(encoded.dictionary))
    if not pc.all(pc.equal(distinct.take(indices), values)).as_py():
        return None
    return distinct, indices


def _hex_prefix(digests: pa.Array, size: int) -> pa.Array:
    """The first ``size`` bytes of each 32-byte digest as lower-case hex strings, vectorised."""
    raw = np.frombuffer(digests.buffers()[1], dtype=np.uint8)
    raw = raw[digests.offset * 32 : (digests.offset + len(digests)) * 32]
    prefix = raw.reshape(-1, 32)[:, :size]
    text = _HEX[prefix].tobytes()  # two ASCII characters per byte
    offsets = np.arange(len(digests) + 1, dtype=np.int32) * (2 * size)
    return pa.Array.from_buffers(
        pa.string(), len(digests), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text)]
    )


_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


def internal_pseudonyms(normalised_cpr: pa.Array, key: bytes) -> pa.Array:
    """32-byte internal pseudonyms for an array of normalised (10-digit, no dash) CPR strings."""
    values = combined(normalised_cpr)
    if _native is not None and len(values):
        return native_digests(key, values)  # hashing every row beats finding the distinct ones
    distinct, indices = _encode(values)
    return pc.take(python_digests(key, distinct), indices)


def recipient_pseudonyms(internal: pa.Array, key: bytes) -> pa.Array:
    """Recipient pseudonyms (32 hex characters) for an array of internal pseudonyms."""
    values = combined(internal)
    if _native is not None and len(values):
        return native_digests(key, values, hex_bytes=RECIPIENT_PSEUDONYM_BYTES)
    distinct, indices = _encode(values)
    digests = python_digests(key, distinct)
    return pc.take(_hex_prefix(digests, RECIPIENT_PSEUDONYM_BYTES), indices)


def combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


SUBJECT_KEY_BYTES = 16


def subject_keys(internal: pa.Array, key: bytes) -> SubjectKeys:
    """Keyed index entries for the audit trail, one per distinct person, sorted and packed.

    Each is AES-256 under the subject-index key of the first 128 bits of the internal
    pseudonym: a keyed permutation of an already pseudorandom value, so distinct persons get
    distinct entries and nobody without the key can link an entry to a pseudonym or a CPR. One
    vectorised call encrypts a whole delivery's persons (an HMAC per person cost a second per
    250,000). The log never holds a CPR or a pseudonym any recipient ever saw.
    """
    persons = combined(internal)
    if not len(persons):
        return SubjectKeys(b"")
    raw = np.frombuffer(persons.buffers()[1], dtype=np.uint8)
    rows = raw[persons.offset * 32 : (persons.offset + len(persons)) * 32].reshape(-1, 32)
    blocks = np.ascontiguousarray(rows[:, :SUBJECT_KEY_BYTES]).tobytes()
    # ECB over single blocks is AES used as a pseudorandom permutation, not as a mode of
    # encryption for a message: no block is ever related to another.
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    keyed = np.frombuffer(encryptor.update(blocks) + encryptor.finalize(), dtype="S16")
    # numpy orders fixed-width byte strings as memcmp does: ascending byte order. A person
    # listed twice gives the same block twice (a permutation), adjacent once sorted: dropped.
    ordered = np.sort(keyed).view(np.uint8).reshape(-1, SUBJECT_KEY_BYTES)
    repeat = np.zeros(len(ordered), dtype=bool)
    repeat[1:] = (ordered[1:] == ordered[:-1]).all(axis=1)
    return SubjectKeys(ordered[~repeat].tobytes())
