"""A fixed set of persons (32-byte internal pseudonyms) asked about many times.

A distributed job asks the same question, "is this row's person in the population?", once
per slice of every input, on every executor. A hash lookup (``pyarrow.compute.is_in``) builds
its table of the whole population at each call: 0.3 s per slice for a million persons, most of
a slice's work. This set is sorted once, on the driver, by each pseudonym's first eight bytes
(pseudonyms are HMAC outputs: those bytes are evenly spread and almost never shared), travels
as one string of bytes, and answers each question with a binary search and a confirmation on
all 32 bytes, so no person outside the set can ever be let in. Should two members share their
first eight bytes, it answers with the hash lookup instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WIDTH = 32  # bytes in an internal pseudonym
_WORDS = WIDTH // 8


def _rows(persons: pa.Array) -> np.ndarray:
    """The pseudonyms as rows of four 64-bit words (a view, no copy)."""
    fixed = persons.cast(pa.binary(WIDTH)) if persons.type != pa.binary(WIDTH) else persons
    data = fixed.buffers()[1]
    if data is None or not len(fixed):
        return np.zeros((0, _WORDS), np.uint64)
    raw = np.frombuffer(data, np.uint8)[fixed.offset * WIDTH : (fixed.offset + len(fixed)) * WIDTH]
    return raw.view(np.uint64).reshape(-1, _WORDS)


class PersonSet:
    """Membership in a fixed set of internal pseudonyms (see the module's docstring)."""

    def __init__(self, rows: np.ndarray) -> None:
        """``rows``: the members as rows of four words, sorted by their first word, distinct."""
        self._rows = rows
        self._first = np.ascontiguousarray(rows[:, 0])
        self._shared = bool(len(rows) > 1 and np.any(self._first[1:] == self._first[:-1]))

    @classmethod
    def of(cls, persons: pa.Array | pa.ChunkedArray) -> PersonSet:
        if isinstance(persons, pa.ChunkedArray):
            persons = persons.combine_chunks()
        distinct = _rows(pc.unique(persons.cast(pa.binary(WIDTH))))
        order = np.lexsort(distinct.T[::-1])  # by the first word, then the others
        return cls(np.ascontiguousarray(distinct[order]))

    def __len__(self) -> int:
        return len(self._rows)

    def packed(self) -> bytes:
        """The set as one string of bytes (what a Spark broadcast carries)."""
        return self._rows.tobytes()

    def array(self) -> pa.Array:
        """The members as an Arrow array of 32-byte pseudonyms."""
        data = pa.py_buffer(self._rows.tobytes())
        return pa.Array.from_buffers(pa.binary(WIDTH), len(self._rows), [None, data])

    @classmethod
    def unpacked(cls, data: bytes) -> PersonSet:
        return cls(np.frombuffer(data, np.uint64).reshape(-1, _WORDS))

    def contains(self, persons: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Whether each of ``persons`` (32-byte pseudonyms, no nulls) is in the set."""
        if isinstance(persons, pa.ChunkedArray):
            persons = persons.combine_chunks()
        if not len(persons) or not len(self._rows):
            return pa.array(np.zeros(len(persons), bool))
        if self._shared:
            return pc.is_in(persons.cast(pa.binary(WIDTH)), value_set=self.array())
        asked = _rows(persons)
        at = np.searchsorted(self._first, asked[:, 0])
        found = np.minimum(at, len(self._rows) - 1)
        return pa.array(np.all(self._rows[found] == asked, axis=1) & (at < len(self._rows)))
