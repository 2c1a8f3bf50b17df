"""The release ledger: what a recipient has already been shown, so a new table cannot be
differenced against it.

Every published cell of every aggregate a recipient receives is recorded: what it counts (the
*source*: a dataset's table, or a built-in report's table), its *key* (the labels of its
dimensions other than time, a dimension at its total left out, so a municipality's cell in a
municipality-only table has the same key as the municipality's total in a municipality x month
table), the *months* it covers, and its true count of distinct persons.

Before a new table is released each of its cells is compared with every recorded cell of the
same recipient, source and key whose months have any month in common with the new cell's (the
same period, a sub-period, a longer one, an overlapping one). Such pairs are the differencing
attacks: a November table and an October-November table, October-November and
November-December, two nested or overlapping populations over the same period, the same
specification re-run after a correction or after a month's delivery was replaced. If the two
counts differ by 1 to ``min_persons - 1`` the new cell is hidden (check ``differencing``) and
suppression goes on from there. The rule looks at counts, not at which
persons: two cells that differ by three persons in and one out are treated as a difference of
two. That is conservative (it can hide a cell that discloses nothing) and it needs no person
data in the ledger.

What it does not cover: cells of different sources (a table of hospital contacts is not
compared with one of resource courses), periods with no month in common, other recipients'
releases (recipients are assumed not to pool what they receive), and
derivations that combine three or more releases at once beyond pairwise differences.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from gateway.domain.disclosure import Tabulation

TIME_DIMENSION = "month"  # the derived dimension whose categories are the period's months


@dataclass(frozen=True)
class LedgerCells:
    """Cells as the ledger sees them, one position per cell."""

    keys: np.ndarray  # int64: hash of source and non-time labels
    first: np.ndarray  # int64: first month covered, as year * 12 + month - 1
    last: np.ndarray  # int64: last month covered
    persons: np.ndarray  # int64: distinct persons (the true count)

    def __len__(self) -> int:
        return int(self.keys.size)

    def take(self, mask: np.ndarray) -> LedgerCells:
        return LedgerCells(self.keys[mask], self.first[mask], self.last[mask], self.persons[mask])


def month_number(month: str) -> int:
    year, mon = (int(p) for p in month.split("-"))
    return year * 12 + mon - 1


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def table_cells(tab: Tabulation, source: str, first_month: str, last_month: str) -> LedgerCells:
    """Every cell of ``tab``'s cube (C order) with its key and months. A key is the source's
    hash plus one 64-bit hash per (dimension, label) of its non-time, non-total coordinates
    (added modulo 2**64), so it is built for the whole cube by broadcasting."""
    shape = tab.persons.shape
    d = len(shape)
    time_axis = tab.dimensions.index(TIME_DIMENSION) if TIME_DIMENSION in tab.dimensions else -1
    keys = np.full(shape, _hash64(source), np.uint64)
    for axis, (dim, levels) in enumerate(zip(tab.dimensions, tab.levels, strict=True)):
        if axis == time_axis:
            continue
        values = np.array([_hash64(f"{dim}={v}") for v in levels] + [0], np.uint64)
        keys = keys + values.reshape([-1 if i == axis else 1 for i in range(d)])
    first = np.full(shape, month_number(first_month), np.int64)
    last = np.full(shape, month_number(last_month), np.int64)
    if time_axis >= 0:
        months = np.array([month_number(m) for m in tab.levels[time_axis]], np.int64)
        view = [-1 if i == time_axis else 1 for i in range(d)]
        inner = tuple(slice(0, -1) if i == time_axis else slice(None) for i in range(d))
        first[inner] = np.broadcast_to(months.reshape(view), first[inner].shape)
        last[inner] = first[inner]
    return LedgerCells(
        keys.view(np.int64).ravel(),
        first.ravel(),
        last.ravel(),
        tab.persons.astype(np.int64).ravel(),
    )


def differencing(new: LedgerCells, old: LedgerCells, floor: int) -> np.ndarray:
    """Per new cell: does a recorded cell of the same key, with a month in common, differ from it
    by 1 to ``floor`` - 1 persons? Vectorised: the recorded cells sorted by key, each new cell
    paired with its key's run."""
    hit = np.zeros(len(new), bool)
    if not len(new) or not len(old):
        return hit
    order = np.argsort(old.keys, kind="stable")
    keys = old.keys[order]
    start = np.searchsorted(keys, new.keys, side="left")
    stop = np.searchsorted(keys, new.keys, side="right")
    runs = stop - start
    if not runs.any():
        return hit
    new_at = np.repeat(np.arange(len(new)), runs)
    offsets = np.arange(int(runs.sum())) - np.repeat(np.cumsum(runs) - runs, runs)
    old_at = order[np.repeat(start, runs) + offsets]
    nested = ((old.first[old_at] <= new.first[new_at]) & (new.last[new_at] <= old.last[old_at])) | (
        (new.first[new_at] <= old.first[old_at]) & (old.last[old_at] <= new.last[new_at])
    )
    gap = np.abs(new.persons[new_at] - old.persons[old_at])
    close = nested & (gap > 0) & (gap < floor)
    hit[new_at[close]] = True
    return hit
