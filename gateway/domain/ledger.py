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

Cells of one table's shape are also compared with cells that contain them or that they contain
in another table's shape: a municipality x gender cell with the municipality's cell of an
earlier municipality-only table (the earlier total minus the new cell would be the persons of
the other genders), and the other way round.

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
SLOTS = 4  # a table has at most four dimensions: one label hash per slot, 0 where none


@dataclass(frozen=True)
class LedgerCells:
    """Cells as the ledger sees them, one position per cell. A cell's key is its source's
    hash plus the hashes of its (dimension, label) pairs, modulo 2**64; the label hashes are
    kept too, so the keys of the cells containing it can be formed (drop some labels)."""

    keys: np.ndarray  # int64 (uint64 bits): source hash + label hashes
    labels: np.ndarray  # int64 (uint64 bits), shape (n, SLOTS): label hashes, 0 = at its total
    first: np.ndarray  # int64: first month covered, as year * 12 + month - 1
    last: np.ndarray  # int64: last month covered
    persons: np.ndarray  # int64: distinct persons (the true count)

    def __len__(self) -> int:
        return int(self.keys.size)

    def take(self, mask: np.ndarray) -> LedgerCells:
        return LedgerCells(
            self.keys[mask],
            self.labels[mask],
            self.first[mask],
            self.last[mask],
            self.persons[mask],
        )

    @classmethod
    def empty(cls) -> LedgerCells:
        none = np.zeros(0, np.int64)
        return cls(none, np.zeros((0, SLOTS), np.int64), none, none, none)


def month_number(month: str) -> int:
    year, mon = (int(p) for p in month.split("-"))
    return year * 12 + mon - 1


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def table_cells(tab: Tabulation, source: str, first_month: str, last_month: str) -> LedgerCells:
    """Every cell of ``tab``'s cube (C order) with its key, label hashes and months, built for
    the whole cube by broadcasting."""
    shape = tab.persons.shape
    d = len(shape)
    if d > SLOTS:
        raise ValueError(f"table {tab.name}: at most {SLOTS} dimensions")
    time_axis = tab.dimensions.index(TIME_DIMENSION) if TIME_DIMENSION in tab.dimensions else -1
    labels = np.zeros((*shape, SLOTS), np.uint64)
    for axis, (dim, levels) in enumerate(zip(tab.dimensions, tab.levels, strict=True)):
        if axis == time_axis:
            continue
        values = np.array([_hash64(f"{dim}={v}") for v in levels] + [0], np.uint64)
        labels[..., axis] = np.broadcast_to(
            values.reshape([-1 if i == axis else 1 for i in range(d)]), shape
        )
    flat = labels.reshape(-1, SLOTS)
    keys = np.uint64(_hash64(source)) + flat.sum(axis=1, dtype=np.uint64)
    first = np.full(shape, month_number(first_month), np.int64)
    last = np.full(shape, month_number(last_month), np.int64)
    if time_axis >= 0:
        months = np.array([month_number(m) for m in tab.levels[time_axis]], np.int64)
        view = [-1 if i == time_axis else 1 for i in range(d)]
        inner = tuple(slice(0, -1) if i == time_axis else slice(None) for i in range(d))
        first[inner] = np.broadcast_to(months.reshape(view), first[inner].shape)
        last[inner] = first[inner]
    return LedgerCells(
        keys.view(np.int64),
        flat.view(np.int64),
        first.ravel(),
        last.ravel(),
        tab.persons.astype(np.int64).ravel(),
    )


def _containers(cells: LedgerCells) -> tuple[np.ndarray, np.ndarray]:
    """The keys of the cells containing each cell (some of its labels dropped, down to its
    source's grand total): (keys, owner position), one row per container."""
    labels = cells.labels.view(np.uint64)
    present = labels != 0
    base = cells.keys.view(np.uint64) - labels.sum(axis=1, dtype=np.uint64)
    keys, owners = [], []
    for mask in range(1 << SLOTS):
        bits = np.array([(mask >> j) & 1 for j in range(SLOTS)], bool)
        chosen = present & bits
        # A proper container: keeps only present labels, and drops at least one of them.
        valid = ~np.any(bits & ~present, axis=1) & (chosen.sum(axis=1) < present.sum(axis=1))
        if not valid.any():
            continue
        kept = np.where(chosen, labels, np.uint64(0)).sum(axis=1, dtype=np.uint64)
        keys.append((base + kept)[valid].view(np.int64))
        owners.append(np.flatnonzero(valid))
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(keys), np.concatenate(owners)


def _pairs(probe: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with ``probe[i] == table[j]``, vectorised (sort, then each probe's run)."""
    order = np.argsort(table, kind="stable")
    sorted_keys = table[order]
    start = np.searchsorted(sorted_keys, probe, side="left")
    runs = np.searchsorted(sorted_keys, probe, side="right") - start
    at = np.repeat(np.arange(probe.size), runs)
    offsets = np.arange(int(runs.sum())) - np.repeat(np.cumsum(runs) - runs, runs)
    return at, order[np.repeat(start, runs) + offsets]


def _distinct(cells: LedgerCells) -> LedgerCells:
    """One row per distinct (key, months, count); the labels follow from the key."""
    columns = (cells.persons, cells.last, cells.first, cells.keys)
    order = np.lexsort(columns)
    first_of_run = np.zeros(order.size, bool)
    first_of_run[:1] = True
    for column in columns:
        ordered = column[order]
        first_of_run[1:] |= ordered[1:] != ordered[:-1]
    return cells.take(order[first_of_run])


def differencing(new: LedgerCells, old: LedgerCells, floor: int) -> np.ndarray:
    """Per new cell: does a recorded cell with a month in common differ from it by 1 to
    ``floor`` - 1 persons, where the two are the same cell or one contains the other?"""
    hit = np.zeros(len(new), bool)
    if not len(new) or not len(old):
        return hit
    old = _distinct(old)  # a recipient sees the same cells again and again: compare each once
    same_new, same_old = _pairs(new.keys, old.keys)
    up_keys, up_owner = _containers(new)  # recorded cells containing a new cell
    up_at, up_old = _pairs(up_keys, old.keys)
    down_keys, down_owner = _containers(old)  # new cells containing a recorded cell
    down_at, down_new = _pairs(down_keys, new.keys)
    new_at = np.concatenate([same_new, up_owner[up_at], down_new])
    old_at = np.concatenate([same_old, up_old, down_owner[down_at]])
    # Months in common: nested periods (a month and a longer period, the same period) and
    # overlapping ones (October-November and November-December) alike.
    overlap = (old.first[old_at] <= new.last[new_at]) & (new.first[new_at] <= old.last[old_at])
    gap = np.abs(new.persons[new_at] - old.persons[old_at])
    close = overlap & (gap > 0) & (gap < floor)
    hit[new_at[close]] = True
    return hit
