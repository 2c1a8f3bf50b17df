"""Keyed pseudonyms (HMAC-SHA256), computed once per distinct value of an Arrow array.

* internal pseudonym = HMAC(k_internal, normalised CPR): 32 bytes, the only person key at rest.
* recipient pseudonym = HMAC(k_recipient_v, internal pseudonym): 128 bits as 32 hex characters,
  different for every recipient and key version, so two recipients cannot join their extracts.

A CPR has little entropy; an unkeyed hash would be reversed by enumeration in minutes. The keys
come from the key ring and never leave the process.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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


def _digests(fn: Hmac, messages: list[bytes]) -> pa.Array:
    """HMAC of each message, as one binary(32) array built from a single buffer."""
    digest = fn.digest
    joined = b"".join([digest(m) for m in messages])
    return pa.Array.from_buffers(pa.binary(32), len(messages), [None, pa.py_buffer(joined)])


def _binary_values(distinct: pa.Array) -> list[bytes]:
    if pa.types.is_fixed_size_binary(distinct.type):
        return list(distinct.to_pylist())
    return list(pc.cast(distinct, pa.binary()).to_pylist())


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


def _first_occurrences(values: pa.Array, indices: pa.Array, groups: int) -> pa.Array:
    first = np.empty(groups, dtype=np.int64)
    position = np.arange(len(values), dtype=np.int64)
    first[indices.to_numpy()[::-1]] = position[::-1]  # the last write is the first occurrence
    return values.take(pa.array(first))


def _ten_digit_numbers(values: pa.Array) -> np.ndarray | None:
    """The integer each value spells if every value is exactly ten ASCII digits (a normalised
    CPR), else None. For strings of that shape the mapping is a bijection."""
    try:
        fixed = pc.cast(values, pa.binary(10))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not len(fixed):
        return np.empty(0, dtype=np.int64)
    raw = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    digits = raw[fixed.offset * 10 : (fixed.offset + len(fixed)) * 10].reshape(-1, 10)
    if digits.min() < ord("0") or digits.max() > ord("9"):
        return None
    number = (digits[:, 0] - np.uint8(ord("0"))).astype(np.int64)
    for k in range(1, 10):  # Horner's rule over the columns: ten vectorised steps
        number = number * 10 + (digits[:, k] - np.uint8(ord("0")))
    return number


def _encode_ten_digits(values: pa.Array) -> tuple[pa.Array, pa.Array] | None:
    """Encode normalised CPRs through the integer they spell; None for anything else."""
    number = _ten_digit_numbers(values)
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
    distinct, indices = _encode(normalised_cpr)
    return pc.take(_digests(Hmac(key), _binary_values(distinct)), indices)


def recipient_pseudonyms(internal: pa.Array, key: bytes) -> pa.Array:
    """Recipient pseudonyms (32 hex characters) for an array of internal pseudonyms."""
    distinct, indices = _encode(internal)
    digests = _digests(Hmac(key), _binary_values(distinct))
    return pc.take(_hex_prefix(digests, RECIPIENT_PSEUDONYM_BYTES), indices)


_EMPTY_DIGESTS = pa.array([], pa.binary(32))


class InternalPseudonymiser:
    """Internal pseudonyms across the batches of one delivery, each distinct CPR hashed once.

    A delivery's batches repeat the same persons (a month of hospital contacts is about four
    rows per person), so values already seen are looked up instead of hashed again: the cache
    is a sorted array of the CPRs as integers with their pseudonyms, searched in one vectorised
    call per batch. Memory is bounded: 40 bytes per remembered person, forgotten in full past
    ``max_entries``.
    """

    def __init__(self, key: bytes, max_entries: int = 4_000_000) -> None:
        self._hmac = Hmac(key)
        self._max = max_entries
        self._keys = np.empty(0, dtype=np.int64)
        self._values = np.empty((0, 32), dtype=np.uint8)
        # The values first seen by the last call and their pseudonyms: the delivery's identity
        # vault and its distinct persons are built from these, without another pass.
        self.fresh: tuple[pa.Array, pa.Array] = (pa.array([], pa.string()), _EMPTY_DIGESTS)

    def __call__(self, normalised_cpr: pa.Array) -> pa.Array:
        distinct, indices = _encode(normalised_cpr)
        numbers = _ten_digit_numbers(distinct)
        hit = np.zeros(len(distinct), dtype=bool)
        where = np.zeros(len(distinct), dtype=np.intp)
        if numbers is not None and len(self._keys):
            where = np.minimum(np.searchsorted(self._keys, numbers), len(self._keys) - 1)
            hit = self._keys[where] == numbers
        fresh_at = np.flatnonzero(~hit)
        fresh = distinct.take(pa.array(fresh_at))
        computed = _digests(self._hmac, _binary_values(fresh))
        digests = np.empty((len(distinct), 32), dtype=np.uint8)
        digests[hit] = self._values[where[hit]]
        digests[fresh_at] = _digest_matrix(computed)
        if numbers is not None:
            self._remember(numbers[fresh_at], digests[fresh_at])
        self.fresh = (fresh, computed)
        mapped = pa.Array.from_buffers(
            pa.binary(32), len(distinct), [None, pa.py_buffer(digests.tobytes())]
        )
        return pc.take(mapped, indices)

    def _remember(self, keys: np.ndarray, values: np.ndarray) -> None:
        if len(self._keys) + len(keys) > self._max:
            self._keys = np.empty(0, dtype=np.int64)
            self._values = np.empty((0, 32), dtype=np.uint8)
        if len(keys):
            all_keys = np.concatenate([self._keys, keys])
            order = np.argsort(all_keys, kind="stable")
            self._keys = all_keys[order]
            self._values = np.concatenate([self._values, values])[order]


def _digest_matrix(digests: pa.Array) -> np.ndarray:
    raw = np.frombuffer(digests.buffers()[1], dtype=np.uint8) if len(digests) else np.empty(0)
    return raw[digests.offset * 32 : (digests.offset + len(digests)) * 32].reshape(-1, 32)


SUBJECT_KEY_BYTES = 16


def subject_keys(internal: pa.Array, key: bytes) -> list[bytes]:
    """Keyed index entries for the audit trail, one per distinct person, sorted.

    Each is AES-256 under the subject-index key of the first 128 bits of the internal
    pseudonym: a keyed permutation of an already pseudorandom value, so distinct persons get
    distinct entries and nobody without the key can link an entry to a pseudonym or a CPR. One
    vectorised call encrypts a whole delivery's persons (an HMAC per person cost a second per
    250,000). The log never holds a CPR or a pseudonym any recipient ever saw.
    """
    distinct, _ = _encode(internal)
    if not len(distinct):
        return []
    raw = np.frombuffer(distinct.buffers()[1], dtype=np.uint8)
    rows = raw[distinct.offset * 32 : (distinct.offset + len(distinct)) * 32].reshape(-1, 32)
    blocks = np.ascontiguousarray(rows[:, :SUBJECT_KEY_BYTES]).tobytes()
    # ECB over single, distinct blocks is AES used as a pseudorandom permutation, not as a mode
    # of encryption for a message: no block is ever related to another.
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    keyed = np.frombuffer(encryptor.update(blocks) + encryptor.finalize(), dtype="S16")
    ordered = np.sort(keyed).tobytes()
    return [ordered[i : i + SUBJECT_KEY_BYTES] for i in range(0, len(ordered), SUBJECT_KEY_BYTES)]
