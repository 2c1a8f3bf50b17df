"""The cell-key method: consistent perturbation of published person counts.

Statistics offices use it so that differencing tables gains little: every person carries a
fixed *record key*, uniform on [0, 1); a cell's *cell key* is the sum of its persons' record
keys modulo 1; the noise added to the cell is read from a fixed distribution at the cell key.
So the same persons always get the same noise, in any table, in any release (repeated and
overlapping tables are consistent), while two cells that differ by a few persons get unrelated
noise, which hides the difference.

Here the record key is taken from the person's internal pseudonym (an HMAC under the hub's
key, never seen outside it), so it is fixed per person and unknowable to recipients. The noise
distribution is a discretised normal on ``-max_noise .. max_noise`` with the configured
variance (``policies/disclosure.yaml``: ``perturbation: cell-key``, ``cell_key_max_noise``,
``cell_key_variance``). Only cells the checker publishes are perturbed; zeros stay zero (an
empty cell has no persons and so no key), and a perturbed count never falls below the
threshold (a count the threshold let through stays at least ``min_persons``).
"""

from __future__ import annotations

import numpy as np


def noise_table(max_noise: int, variance: float) -> tuple[np.ndarray, np.ndarray]:
    """The noise values and their cumulative probabilities (the "p-table")."""
    values = np.arange(-max_noise, max_noise + 1)
    weights = np.exp(-(values.astype(np.float64) ** 2) / (2.0 * max(variance, 1e-9)))
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    return values, cumulative


def perturb(
    persons: np.ndarray,
    cell_keys: np.ndarray,
    published: np.ndarray,
    *,
    max_noise: int,
    variance: float,
    floor: int,
) -> np.ndarray:
    """``published`` (NaN where suppressed) with the cell-key noise added to every published
    non-zero cell. ``cell_keys`` are in [0, 1), same shape."""
    values, cumulative = noise_table(max_noise, variance)
    noise = values[np.searchsorted(cumulative, cell_keys, side="right").clip(0, len(values) - 1)]
    shown = ~np.isnan(published) & (persons > 0)
    noisy = np.maximum(persons + noise, floor).astype(np.float64)
    out: np.ndarray = np.where(shown, noisy, published)
    return out


def record_keys(person_bytes: np.ndarray) -> np.ndarray:
    """Record keys (uint32) from 32-byte internal pseudonyms given as an (n, 32) uint8 array:
    their last four bytes, uniform because the pseudonym is an HMAC output."""
    return np.ascontiguousarray(person_bytes[:, 28:32]).view(np.uint32).ravel()


def cell_key_fraction(key_sums: np.ndarray) -> np.ndarray:
    """Cell keys in [0, 1) from sums of record keys (uint64, taken modulo 2**32)."""
    return (key_sums.astype(np.uint64) % np.uint64(1 << 32)).astype(np.float64) / float(1 << 32)
