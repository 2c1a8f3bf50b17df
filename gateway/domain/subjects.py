"""The keyed subject keys of an audit entry: which persons its data involved.

A national delivery involves hundreds of thousands of persons. Held as a list of 16-byte
``bytes`` objects they cost a Python object, a sort and a hash update each, several times over
(digest, storage); held as one sorted, packed buffer they cost one hash call and one database
value. :class:`SubjectKeys` is that buffer, readable as a sequence of keys where needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

KEY_BYTES = 16


class SubjectKeys(Sequence[bytes]):
    """Distinct 16-byte keys in ascending byte order, packed in one buffer."""

    __slots__ = ("packed",)

    def __init__(self, packed: bytes) -> None:
        """``packed``: keys already sorted and distinct (checked on length only; use
        :meth:`of` for keys in any order)."""
        if len(packed) % KEY_BYTES:
            raise ValueError("subject keys are 16 bytes each")
        self.packed = packed

    @classmethod
    def of(cls, keys: Iterable[bytes]) -> SubjectKeys:
        distinct = sorted(set(keys))
        if any(len(k) != KEY_BYTES for k in distinct):
            raise ValueError("subject keys are 16 bytes each")
        return cls(b"".join(distinct))

    def __len__(self) -> int:
        return len(self.packed) // KEY_BYTES

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> SubjectKeys: ...

    def __getitem__(self, index: int | slice) -> bytes | SubjectKeys:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return SubjectKeys(b"".join(self[i] for i in range(start, stop, step)))
            return SubjectKeys(self.packed[start * KEY_BYTES : stop * KEY_BYTES])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("subject key index out of range")
        return self.packed[index * KEY_BYTES : (index + 1) * KEY_BYTES]

    def __iter__(self) -> Iterator[bytes]:
        packed = self.packed
        return (packed[i : i + KEY_BYTES] for i in range(0, len(packed), KEY_BYTES))

    def digest(self) -> str:
        """SHA-256 over the keys in order: what an audit entry's body commits to."""
        return hashlib.sha256(self.packed).hexdigest()


def packed_sorted(keys: Sequence[bytes]) -> bytes:
    """The keys sorted and concatenated (one buffer, no copy when already packed)."""
    if isinstance(keys, SubjectKeys):
        return keys.packed
    return b"".join(sorted(keys))
