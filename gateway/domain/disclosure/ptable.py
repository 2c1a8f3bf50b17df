"""The cell-key method's perturbation table (p-table), in the layout statistics offices publish.

Every person carries a fixed *record key*, an integer in ``0 .. n_keys - 1`` (here one byte of
its internal pseudonym: uniform, fixed, unknown outside the hub). A cell's *cell key* is the sum
of its distinct persons' record keys modulo ``n_keys``. The noise added to a cell of ``v``
persons is read from the p-table at the row (``pcv``, ``ckey``): so the same persons always get
the same noise, in any table and any release, while two cells that differ by one person get
unrelated noise.

The layout is the one the UK Office for National Statistics publishes with its
``cell-key-perturbation`` package: a CSV with columns ``pcv`` (the cell value, 1 to 750),
``ckey`` (0 to 255) and ``pvalue`` (the noise). Counts above 750 reuse the rows 501 to 750
(``pcv = (v - 1) mod 250 + 501``). After the noise, a count below the threshold is not shown
(ONS sets it to NA; zeros included). An office's own p-table can be loaded as it is
(``ptable_file`` in ``policies/disclosure.yaml``); otherwise one is generated from the maximum
noise D and the variance V: for each cell value the maximum-entropy distribution on
``max(-D, -v) .. D`` with mean 0 and variance V (lowered where the support cannot carry it),
quantised to the 256 cell keys.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_PCV = 750  # ONS: rows 1..750, counts above reuse 501..750
CYCLE = 250
N_KEYS = 256


@dataclass(frozen=True)
class PTable:
    """``pvalue[pcv, ckey]``; row 0 is the zero cell (no persons, no noise)."""

    pvalue: np.ndarray  # int64, shape (MAX_PCV + 1, n_keys)
    name: str

    @property
    def n_keys(self) -> int:
        return int(self.pvalue.shape[1])

    @property
    def max_noise(self) -> int:
        return int(np.abs(self.pvalue).max())

    @staticmethod
    def pcv(counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, np.int64)
        cycled = (counts - 1) % CYCLE + (MAX_PCV - CYCLE + 1)
        return np.where(counts <= MAX_PCV, counts, cycled)

    def noise(self, counts: np.ndarray, key_sums: np.ndarray) -> np.ndarray:
        """The noise for cells of ``counts`` persons whose record keys sum to ``key_sums``."""
        ckeys = (np.asarray(key_sums).astype(np.uint64) % np.uint64(self.n_keys)).astype(np.intp)
        out: np.ndarray = self.pvalue[self.pcv(counts), ckeys]
        return out

    def perturb(self, counts: np.ndarray, key_sums: np.ndarray, threshold: int) -> np.ndarray:
        """Published values: the noisy count, NaN where it falls below ``threshold``."""
        noisy = np.asarray(counts, np.int64) + self.noise(counts, key_sums)
        return np.where(noisy < threshold, np.nan, noisy.astype(np.float64))

    @functools.cached_property
    def _reachable(self) -> np.ndarray:
        """``reach[v, v + e + D]``: some cell key turns ``v`` persons into ``v + e``, for the
        values 0..MAX_PCV (larger counts behave as their pcv row)."""
        d = self.max_noise
        reach = np.zeros((MAX_PCV + 1, 2 * d + 1), bool)
        for e in range(-d, d + 1):
            reach[:, e + d] = (self.pvalue == e).any(axis=1)
        reach[0, :] = False
        reach[0, d] = True  # an empty cell stays empty
        return reach

    def bounds(
        self, published: np.ndarray, threshold: int, *, zeros_shown: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """What a reader who knows this p-table learns from each published value: the least
        and greatest true counts that could have produced it (NaN: below the threshold; an
        empty cell too, unless empty cells are shown as 0)."""
        d = self.max_noise
        published = np.asarray(published, np.float64)
        hidden = np.isnan(published)
        p = np.where(hidden, 0, published).astype(np.int64)
        lower = np.full(p.shape, np.inf)
        upper = np.full(p.shape, -np.inf)
        for e in range(-d, d + 1):  # a true count v = p - e, if the table can add e to it
            v = p - e
            row = np.clip(self.pcv(np.maximum(v, 0)), 0, MAX_PCV)
            ok = (v >= 0) & self._reachable[row, e + d] & ~hidden
            lower = np.where(ok, np.minimum(lower, v), lower)
            upper = np.where(ok, np.maximum(upper, v), upper)
        # Below the threshold: every v whose noisy value can fall under it (and zero).
        small = np.arange(0, threshold + d)
        below = np.array(
            [
                (v == 0 and not zeros_shown)
                or (
                    v > 0
                    and any(
                        self._reachable[v, e + d] and v + e < threshold for e in range(-d, d + 1)
                    )
                )
                for v in small
            ]
        )
        lower = np.where(hidden, float(small[below].min()), lower)
        upper = np.where(hidden, float(small[below].max()), upper)
        # A value shown under the threshold is an empty cell shown as it is (only 0 can be).
        exact = ~hidden & (p < threshold)
        return np.where(exact, p, lower), np.where(exact, p, upper)

    def csv_text(self) -> str:
        """The table in the published layout (``"pcv","ckey","pvalue"``)."""
        sink = io.StringIO()
        sink.write('"pcv","ckey","pvalue"\n')
        rows, keys = np.meshgrid(np.arange(1, MAX_PCV + 1), np.arange(self.n_keys), indexing="ij")
        for r, k, e in zip(rows.ravel(), keys.ravel(), self.pvalue[1:].ravel(), strict=True):
            sink.write(f"{r},{k},{e}\n")
        return sink.getvalue()


def _max_entropy(support: np.ndarray, variance: float) -> np.ndarray:
    """The distribution on ``support`` with mean 0 and the given variance of largest entropy:
    p(e) proportional to exp(a*e + b*e^2), found by Newton's method on the convex dual."""
    lam = np.zeros(2)
    feats = np.stack([support.astype(np.float64), support.astype(np.float64) ** 2])
    target = np.array([0.0, variance])
    for _ in range(200):
        logits = lam @ feats
        w = np.exp(logits - logits.max())
        p = w / w.sum()
        mean = feats @ p
        grad = mean - target
        if np.abs(grad).max() < 1e-12:
            break
        cov = (feats * p) @ feats.T - np.outer(mean, mean)
        step = np.linalg.solve(cov + 1e-12 * np.eye(2), grad)
        lam -= step
    out: np.ndarray = p
    return out


def _quantise(p: np.ndarray, n_keys: int) -> np.ndarray:
    """Key counts per noise value summing to ``n_keys`` (largest remainders)."""
    raw = p * n_keys
    counts = np.floor(raw).astype(np.int64)
    short = n_keys - int(counts.sum())
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    out: np.ndarray = counts
    return out


@functools.lru_cache(maxsize=16)
def generated(max_noise: int, variance: float, n_keys: int = N_KEYS) -> PTable:
    """The gateway's p-table for noise in ``-max_noise .. max_noise`` with the given
    variance, in the published layout."""
    table = np.zeros((MAX_PCV + 1, n_keys), np.int64)
    by_support: dict[int, np.ndarray] = {}
    for v in range(1, MAX_PCV + 1):
        low = min(v, max_noise)
        row = by_support.get(low)
        if row is None:
            support = np.arange(-low, max_noise + 1)
            # The support's widest mean-zero spread is low * max_noise: keep the variance
            # inside it so a mean of zero stays possible (small counts only).
            var = min(variance, 0.8 * low * max_noise)
            counts = _quantise(_max_entropy(support, var), n_keys)
            row = np.repeat(support, counts)
            by_support[low] = row
        table[v] = row
    return PTable(table, f"generated: D={max_noise}, V={variance:g}, {n_keys} cell keys")


def load(path: Path) -> PTable:
    """An office's p-table in the published layout. Every (pcv, ckey) of 1..750 x 0..n-1
    must be present once, and no noise may make a count negative."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"pcv", "ckey", "pvalue"} <= set(reader.fieldnames):
            raise ValueError(f"{path.name}: a p-table needs the columns pcv, ckey and pvalue")
        rows = np.array([(int(r["pcv"]), int(r["ckey"]), int(r["pvalue"])) for r in reader])
    if rows.size == 0:
        raise ValueError(f"{path.name}: the p-table is empty")
    n_keys = int(rows[:, 1].max()) + 1
    if rows[:, 0].min() < 1 or rows[:, 0].max() != MAX_PCV or rows[:, 1].min() < 0:
        raise ValueError(f"{path.name}: pcv must run from 1 to {MAX_PCV} and ckey from 0")
    if len(rows) != MAX_PCV * n_keys or len({(a, b) for a, b, _ in rows}) != len(rows):
        raise ValueError(f"{path.name}: every (pcv, ckey) must appear exactly once")
    if (rows[:, 0] + rows[:, 2] < 0).any():
        raise ValueError(f"{path.name}: a noise value makes a count negative")
    table = np.zeros((MAX_PCV + 1, n_keys), np.int64)
    table[rows[:, 0], rows[:, 1]] = rows[:, 2]
    return PTable(table, f"{path.name} ({n_keys} cell keys)")


@functools.lru_cache(maxsize=8)
def load_cached(path: str) -> PTable:
    """:func:`load`, once per path (a policy change restarts the gateway)."""
    return load(Path(path))


def record_keys(person_bytes: np.ndarray) -> np.ndarray:
    """Record keys (uint64 holding 0..255) from 32-byte internal pseudonyms given as an
    (n, 32) uint8 array: their last byte, uniform because the pseudonym is an HMAC output."""
    return np.ascontiguousarray(person_bytes[:, 31]).astype(np.uint64)
