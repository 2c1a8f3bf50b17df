"""Which numbers of a batch were never seen before: the memory behind "each person once".

A delivery's persons are listed once (identity vault, audit subject index) although a monthly
file holds about four rows per person, spread over batches. The CPR of each row is turned into
the integer its ten digits spell, and this set answers, per batch, at which positions a number
appears for the first time in the delivery.

The native kernel (``_number_set.c``) does one hash probe per row in a table this class owns;
where it was not built, the same answer comes from Arrow and numpy (a dictionary encode per
batch and a binary search into a sorted array), several times slower. Memory is bounded: 16
bytes per member natively (8 in the fallback), and past ``max_entries`` the set forgets all it
holds, after which a person may be listed twice (consumers deduplicate).
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_native: ModuleType | None
try:  # built by pip install from _number_set.c when a C compiler is present
    _native = importlib.import_module("gateway.dataplane._number_set")
except ImportError:  # pragma: no cover - depends on the build machine
    _native = None

_MIN_SLOTS = 1 << 16


class NumberSet:
    """A set of non-negative integers that reports, per batch, where the new members are."""

    def __init__(self, max_entries: int = 4_000_000) -> None:
        self._max = max_entries
        self._size = 0
        self._table = np.zeros(_MIN_SLOTS, dtype=np.uint64)  # native: 0 empty, x stored as x+1
        self._sorted = np.empty(0, dtype=np.int64)  # fallback: the members, ascending

    def __len__(self) -> int:
        return self._size

    def add_new(self, numbers: np.ndarray) -> np.ndarray:
        """Add ``numbers`` (int64, non-negative); return, ascending, the positions of the first
        occurrence of each number that was not a member before this call."""
        numbers = np.ascontiguousarray(numbers, dtype=np.int64)
        if self._size + len(numbers) > self._max:
            self._forget()
        if _native is None:
            return self._add_new_sorted(numbers)
        self._reserve(self._size + len(numbers))
        positions = np.empty(len(numbers), dtype=np.int64)
        added = _native.add_new(self._table, numbers, positions)
        self._size += added
        return positions[:added]

    def reserve(self, members: int) -> None:
        """Size the table for ``members`` now, so that growing to them costs no rehashing
        (a table of zeros is cheap until it is written: the pages come as they are touched)."""
        if _native is not None:
            self._reserve(min(members, self._max))

    def _forget(self) -> None:
        self._size = 0
        self._table = np.zeros(_MIN_SLOTS, dtype=np.uint64)
        self._sorted = np.empty(0, dtype=np.int64)

    def _reserve(self, members: int) -> None:
        """Grow the table so that ``members`` fill at most half of it (short probes)."""
        slots = len(self._table)
        if 2 * members <= slots:
            return
        while 2 * members > slots:
            slots *= 2
        old = self._table
        self._table = np.zeros(slots, dtype=np.uint64)
        kept = (old[old != 0] - 1).astype(np.int64)
        assert _native is not None
        _native.add_new(self._table, kept, np.empty(len(kept), dtype=np.int64))

    def _add_new_sorted(self, numbers: np.ndarray) -> np.ndarray:
        encoded = pc.dictionary_encode(pa.array(numbers))  # hashing beats np.unique's sort
        unique = encoded.dictionary.to_numpy()
        first = first_positions(encoded.indices.to_numpy(), len(unique))
        order = np.argsort(unique)
        unique, first = unique[order], first[order]
        if len(self._sorted):
            where = np.minimum(np.searchsorted(self._sorted, unique), len(self._sorted) - 1)
            new = self._sorted[where] != unique
            unique, first = unique[new], first[new]
        if len(unique):
            self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, unique), unique)
        self._size = len(self._sorted)
        return np.sort(first)


def first_positions(indices: np.ndarray, groups: int) -> np.ndarray:
    """For each of ``groups`` codes, the first position at which ``indices`` holds it."""
    first = np.empty(groups, dtype=np.int64)
    position = np.arange(len(indices), dtype=np.int64)
    first[indices[::-1]] = position[::-1]  # the last write is the first occurrence
    return first
