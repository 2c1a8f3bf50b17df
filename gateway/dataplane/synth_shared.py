"""What the synthetic generators share: persons with synthetic CPRs, and vectorised draws.

Every function takes the caller's numpy generator, so one seed gives the same files byte for
byte; nothing loops over rows in Python.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class People:
    """Persons as parallel numpy arrays: CPR strings (with/without dash) and municipality."""

    def __init__(
        self,
        rng: np.random.Generator,
        n: int,
        municipalities: np.ndarray,
        born: tuple[int, int] = (1952, 1996),
    ) -> None:
        first, last = dt.date(born[0], 1, 1).toordinal(), dt.date(born[1], 12, 31).toordinal()
        keys: np.ndarray = np.empty(0, dtype=np.int64)
        while keys.size < n:  # draw (birthday, serial) pairs until n distinct ones exist
            day = rng.integers(first, last + 1, n - keys.size + 64)
            # The serial's first digit with the year gives the century: 0-3 for 1900-1999,
            # 4-7 for 2000-2036.
            serial = rng.integers(0, 4000, day.size) + np.where(
                day >= dt.date(2000, 1, 1).toordinal(), 4000, 0
            )
            keys = np.unique(np.concatenate([keys, day * 10_000 + serial]))
        keys = rng.permutation(keys)[:n]
        epoch = dt.date(1970, 1, 1).toordinal()
        births = pa.array((keys // 10_000 - epoch).astype(np.int32), pa.date32())
        serials = pc.utf8_lpad(pa.array(keys % 10_000).cast(pa.string()), 4, "0")
        ddmmyy = pc.strftime(pc.cast(births, pa.timestamp("s")), format="%d%m%y")
        self.plain = pc.binary_join_element_wise(ddmmyy, serials, "")
        self.dashed = pc.binary_join_element_wise(ddmmyy, serials, "-")
        weights = np.ones(municipalities.size)
        weights[municipalities == "101"] = 8.0  # København is large
        self.kommune = rng.choice(municipalities, n, p=weights / weights.sum())
        self.birth_year = (keys // 10_000 - epoch).astype("datetime64[D]").astype(
            "datetime64[Y]"
        ).astype(np.int64) + 1970
        self.n = n

    def take(self, idx: np.ndarray, dashed: bool) -> tuple[pa.Array, pa.Array]:
        cprs = (self.dashed if dashed else self.plain).take(pa.array(idx))
        return cprs, pa.array(self.kommune[idx])


def dates(rng: np.random.Generator, lo: dt.date, hi: dt.date, n: int) -> np.ndarray:
    return rng.integers(lo.toordinal(), hi.toordinal() + 1, n)


def date_array(ordinals: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    days = (ordinals - dt.date(1970, 1, 1).toordinal()).astype(np.int32)
    mask = None if valid is None else ~valid
    return pa.array(days, pa.date32(), mask=mask)


def repeat(rng: np.random.Generator, idx: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Each index repeated a random number of times in [lo, hi]: one row per event."""
    return np.repeat(idx, rng.integers(lo, hi + 1, idx.size))


def pick(rng: np.random.Generator, options: dict[str, float], n: int) -> pa.Array:
    names = list(options)
    probs = np.array([options[k] for k in names])
    return pa.array(np.array(names)[rng.choice(len(names), n, p=probs / probs.sum())])
