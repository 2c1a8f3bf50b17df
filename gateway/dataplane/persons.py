"""Internal pseudonyms across the batches of one delivery, and the persons each batch adds.

The delivery's identity vault and its list of persons (for the audit subject index) need each
person once, although a month of hospital contacts holds about four rows per person, spread
over batches. The CPRs already seen are remembered as the integers they spell, in a
:class:`~gateway.dataplane.number_set.NumberSet` (one hash probe per row natively).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.crypto.pseudonyms import combined, internal_pseudonyms
from gateway.dataplane.number_set import NumberSet, first_positions
from gateway.domain import cpr

_EMPTY_DIGESTS = pa.array([], pa.binary(32))


class InternalPseudonymiser:
    """Call it on each batch's normalised CPRs; read ``fresh`` for the persons it added.

    Memory is bounded by ``max_entries`` remembered persons; past it the memory is forgotten
    in full, after which a person may be listed again (consumers deduplicate).
    """

    def __init__(self, key: bytes, max_entries: int = 4_000_000) -> None:
        self._key = key
        self._seen = NumberSet(max_entries)
        # The values first seen by the last call and their pseudonyms: the delivery's identity
        # vault and its distinct persons are built from these, without another pass.
        self.fresh: tuple[pa.Array, pa.Array] = (pa.array([], pa.string()), _EMPTY_DIGESTS)

    def __call__(
        self, normalised_cpr: pa.Array | pa.ChunkedArray, numbers: np.ndarray | None = None
    ) -> pa.Array:
        """The internal pseudonym of every value. ``numbers``: the integers the values spell,
        if the caller has them already (the CPR check computes them)."""
        values = combined(normalised_cpr)
        digests = internal_pseudonyms(values, self._key)
        if numbers is None:
            numbers = cpr.numbers_of(values)
        if numbers is None:  # not all normalised CPRs: no memory, the batch's distinct values
            encoded = pc.dictionary_encode(values)
            first = np.sort(first_positions(encoded.indices.to_numpy(), len(encoded.dictionary)))
        else:
            first = self._seen.add_new(numbers)
        rows = pa.array(first)
        self.fresh = (values.take(rows), digests.take(rows))
        return digests
