"""The one protection step every person count passes before it leaves the hub.

Count tables, the persons column of sum tables, margins, a release's metadata and the figures
of a report all take their numbers from :func:`publish`, so no count can escape the method
its grant chose (a test walks every output type to hold this). Given the true counts, the cells
already hidden and the rules, it returns the published values and what each tells a reader
about the true count (``lower``..``upper``), which the ledger keeps and the LP audit starts
from:

* ``suppression``: hidden cells are empty, others exact (``lower == upper``);
* ``rounding``: inner cells rounded to the base (a reader knows the count lies within half a
  base), every total recomputed from the published inner cells, so a total carries nothing of
  hidden cells and tells nothing beyond them;
* ``cell-key``: the p-table's noise at each cell's key; a noisy count below the threshold is
  not shown; an empty cell is shown as 0 unless zeros are disclosive (then hidden, as
  statistics offices publish them); a reader who knows the p-table learns the range of counts
  that could give each published value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from gateway.domain.disclosure.ptable import PTable
from gateway.domain.disclosure.rules import DisclosureRules, Method


@dataclass(frozen=True)
class Published:
    values: np.ndarray  # float64, NaN where not shown
    lower: np.ndarray  # float64
    upper: np.ndarray  # float64 (inf: nothing known above)
    below: np.ndarray  # bool: not shown because the noisy count fell under the threshold


def _round_and_recompute(
    published: np.ndarray, levels: tuple[tuple[str, ...], ...], base: int
) -> np.ndarray:
    """Round published inner cells to ``base`` and recompute every total from them."""
    inner = tuple(slice(0, len(lv)) for lv in levels)
    cells = published[inner]
    rounded = np.where(np.isnan(cells), np.nan, np.floor(cells / base + 0.5) * base)
    out = np.full(published.shape, np.nan)
    out[inner] = rounded
    filled = np.nan_to_num(rounded, nan=0.0)
    d = len(levels)
    for kept in itertools.product((True, False), repeat=d):
        if all(kept):
            continue
        summed = filled.sum(axis=tuple(i for i in range(d) if not kept[i]), keepdims=True)
        target = tuple(slice(0, len(levels[i])) if kept[i] else slice(-1, None) for i in range(d))
        out[target] = np.where(np.isnan(published[target]), np.nan, summed)
    return out


def publish(
    persons: np.ndarray,
    hidden: np.ndarray,
    rules: DisclosureRules,
    levels: tuple[tuple[str, ...], ...],
    *,
    key_sums: np.ndarray | None = None,
    ptable: PTable | None = None,
) -> Published:
    """Published person counts for the cube ``persons`` with ``hidden`` cells not shown."""
    persons = np.asarray(persons, np.int64)
    none = np.zeros(persons.shape, bool)
    lower = np.where(hidden, 0.0, persons.astype(np.float64))
    upper = np.where(hidden, np.inf, persons.astype(np.float64))
    if rules.method is Method.SUPPRESSION:
        values = np.where(hidden, np.nan, persons.astype(np.float64))
        return Published(values, lower, upper, none)
    if rules.method is Method.ROUNDING:
        base = rules.rounding_base
        assert base is not None  # the rules' validator requires it
        values = _round_and_recompute(np.where(hidden, np.nan, persons.astype(float)), levels, base)
        inner = tuple(slice(0, len(lv)) for lv in levels)
        is_inner = np.zeros(persons.shape, bool)
        is_inner[inner] = True
        shown = ~np.isnan(values)
        half = base / 2.0
        lower = np.where(shown & is_inner, np.maximum(values - half, 0.0), 0.0)
        upper = np.where(shown & is_inner, values + half - 1e-9, np.inf)
        # Totals are sums of published cells: they tell nothing the cells do not.
        return Published(values, np.ceil(lower - 1e-9), np.floor(upper), none)
    if key_sums is None or ptable is None:
        raise ValueError("the cell-key method needs the cells' keys and a p-table")
    noisy = ptable.perturb(persons, key_sums, rules.min_persons)
    # An empty cell has no persons and so no key: it stays 0 and is shown as 0 unless the
    # rules make zeros disclosive (then the checker has hidden it already).
    zero = persons == 0
    if not rules.zeros_disclosive:
        noisy = np.where(zero, 0.0, noisy)
    below = np.isnan(noisy) & ~hidden
    values = np.where(hidden, np.nan, noisy)
    low, high = ptable.bounds(noisy, rules.min_persons, zeros_shown=not rules.zeros_disclosive)
    lower = np.where(hidden, 0.0, low)
    upper = np.where(hidden, np.inf, high)
    return Published(values, lower, upper, below)


def published_count(value: float) -> int | None:
    """A published value as a count (None where not shown)."""
    return None if np.isnan(value) else int(value)
