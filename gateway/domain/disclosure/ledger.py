"""The disclosure ledger: every aggregate cell the hub ever published, to any recipient.

Aggregates are treated as public: recipients publish their tables (the ministry's follow-up
reports) and what two recipients were shown may meet on one desk. So a new table is checked
against everything released to anyone, under every population, period and version; only a
grant whose legal basis says its tables stay with the recipient (``aggregates.scope:
confidential``) is kept out of what other recipients' tables are checked against (the
recipient itself still holds both, so its own tables are checked against both).

Every cell of every published table is recorded (hidden ones too, for the LP audit's line
constraints): what it counts (the *source*: a dataset's table, or one table of a built-in
report), the data it was computed from (the *basis*: source, population, period and the
delivery versions read), its *key* (the labels of its dimensions other than time, a dimension
at its total left out, so a municipality's cell in a municipality-only table has the same key
as the municipality's total in a municipality x month table), the months it covers, its true
count of distinct persons, and what its publication tells a reader about that count
(``lower``..``upper``: equal for an exact count, the p-table's or the rounding's range, 0 to
infinity for a hidden cell).

Two uses:

* :func:`differencing`, the fast screen over the whole ledger: a new cell and a recorded cell
  of the same source with a month in common, that are the same cell, or one containing the
  other (labels dropped, or a label replaced by one it implies), whose true counts differ by 1
  to ``min_persons`` - 1 while what is published pins the difference to a narrower interval
  than ``protection_interval``. The new cell is hidden. This catches differences across
  periods, versions, populations and recipients, where no linear relation holds.
* :func:`variable_ids`, for the LP audit: tables of the same source and basis share cells
  exactly, and their cells become the same variables of one program.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from gateway.domain.disclosure.tables import Tabulation

TIME_DIMENSION = "month"  # the derived dimension whose categories are the period's months
SLOTS = 4  # a table has at most four dimensions: one label hash per slot, 0 where none
MAX_IMPLIED = 2  # labels a label can imply, for the containers it generates
Implications = dict[int, tuple[int, ...]]  # label hash -> hashes of labels it implies


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
    lower: np.ndarray  # float64: what the publication tells: least possible count
    upper: np.ndarray  # float64: greatest (inf where hidden)

    def __len__(self) -> int:
        return int(self.keys.size)

    def take(self, mask: np.ndarray) -> LedgerCells:
        return LedgerCells(
            self.keys[mask],
            self.labels[mask],
            self.first[mask],
            self.last[mask],
            self.persons[mask],
            self.lower[mask],
            self.upper[mask],
        )

    def published(self, lower: np.ndarray, upper: np.ndarray) -> LedgerCells:
        """The same cells with what their publication tells."""
        return LedgerCells(
            self.keys, self.labels, self.first, self.last, self.persons, lower, upper
        )

    @classmethod
    def concat(cls, parts: list[LedgerCells]) -> LedgerCells:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    @classmethod
    def empty(cls) -> LedgerCells:
        none = np.zeros(0, np.int64)
        return cls(none, np.zeros((0, SLOTS), np.int64), none, none, none, np.zeros(0), np.zeros(0))


_FIELDS = ("keys", "labels", "first", "last", "persons", "lower", "upper")


@dataclass(frozen=True)
class LedgerTable:
    """A whole published table: its place and its cells in the cube's C order."""

    release_id: str
    name: str
    source: str
    basis: str
    scope: str  # "published", or the recipient a confidential table stays with
    shape: tuple[int, ...]
    cells: LedgerCells

    @property
    def persons(self) -> np.ndarray:
        return self.cells.persons.reshape(self.shape)


def month_number(month: str) -> int:
    year, mon = (int(p) for p in month.split("-"))
    return year * 12 + mon - 1


def hash64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def implications(tab: Tabulation) -> Implications:
    """The table's implications as label hashes."""
    out: dict[int, list[int]] = {}
    for (dim, value), (dim2, value2) in tab.implications:
        out.setdefault(hash64(f"{dim}={value}"), []).append(hash64(f"{dim2}={value2}"))
    return {k: tuple(v[:MAX_IMPLIED]) for k, v in out.items()}


def table_cells(tab: Tabulation, source: str, first_month: str, last_month: str) -> LedgerCells:
    """Every cell of ``tab``'s cube (C order) with its key, label hashes and months, built for
    the whole cube by broadcasting; published bounds not yet known (0 to infinity)."""
    shape = tab.persons.shape
    d = len(shape)
    if d > SLOTS:
        raise ValueError(f"table {tab.name}: at most {SLOTS} dimensions")
    time_axis = tab.dimensions.index(TIME_DIMENSION) if TIME_DIMENSION in tab.dimensions else -1
    labels = np.zeros((*shape, SLOTS), np.uint64)
    for axis, (dim, levels) in enumerate(zip(tab.dimensions, tab.levels, strict=True)):
        if axis == time_axis:
            continue
        values = np.array([hash64(f"{dim}={v}") for v in levels] + [0], np.uint64)
        labels[..., axis] = np.broadcast_to(
            values.reshape([-1 if i == axis else 1 for i in range(d)]), shape
        )
    flat = labels.reshape(-1, SLOTS)
    keys = np.uint64(hash64(source)) + flat.sum(axis=1, dtype=np.uint64)
    first = np.full(shape, month_number(first_month), np.int64)
    last = np.full(shape, month_number(last_month), np.int64)
    if time_axis >= 0:
        months = np.array([month_number(m) for m in tab.levels[time_axis]], np.int64)
        view = [-1 if i == time_axis else 1 for i in range(d)]
        inner = tuple(slice(0, -1) if i == time_axis else slice(None) for i in range(d))
        first[inner] = np.broadcast_to(months.reshape(view), first[inner].shape)
        last[inner] = first[inner]
    n = keys.size
    return LedgerCells(
        keys.view(np.int64),
        flat.view(np.int64),
        first.ravel(),
        last.ravel(),
        tab.persons.astype(np.int64).ravel(),
        np.zeros(n),
        np.full(n, np.inf),
    )


def variable_ids(cells: LedgerCells, basis: str) -> np.ndarray:
    """One id per cell that is equal exactly for cells counting the same persons: the same
    basis (source, population, period, delivery versions), labels and months."""
    salt = np.uint64(hash64(f"basis:{basis}"))
    months = cells.first.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + cells.last.astype(
        np.uint64
    ) * np.uint64(0xC2B2AE3D27D4EB4F)
    with np.errstate(over="ignore"):
        ids = cells.keys.view(np.uint64) + salt + months
    out: np.ndarray = ids.view(np.int64)
    return out


def _implied_targets(labels: np.ndarray, implied: Implications) -> np.ndarray:
    """Per cell and slot, the labels its label implies: shape (n, SLOTS, MAX_IMPLIED), 0 where
    none."""
    out = np.zeros((*labels.shape, MAX_IMPLIED), np.uint64)
    if not implied:
        return out
    sources = np.array(sorted(implied), np.uint64)
    targets = np.zeros((sources.size, MAX_IMPLIED), np.uint64)
    for row, key in enumerate(sorted(implied)):
        found = implied[key]
        targets[row, : len(found)] = found
    at = np.searchsorted(sources, labels).clip(0, sources.size - 1)
    hit = (sources[at] == labels) & (labels != 0)
    out[hit] = targets[at[hit]]
    return out


def containers(cells: LedgerCells, implied: Implications) -> tuple[np.ndarray, np.ndarray]:
    """The keys of the cells containing each cell: some of its labels dropped (down to its
    source's grand total), and, with implications, one label replaced by a label it implies
    (``contact_type = psykiatrisk`` by ``diagnosis_chapter = F``) or that label added beside
    it (the same persons: a psychiatric contact with a chapter F diagnosis is a psychiatric
    contact). Returns (keys, owner position), one row per container."""
    labels = cells.labels.view(np.uint64)
    present = labels != 0
    base = cells.keys.view(np.uint64) - labels.sum(axis=1, dtype=np.uint64)
    targets = _implied_targets(labels, implied)
    keys, owners = [], []
    for mask in range(1 << SLOTS):
        dropped = np.array([(mask >> j) & 1 for j in range(SLOTS)], bool)
        kept_ok = ~np.any(dropped & ~present, axis=1)  # only present labels can be dropped
        kept = np.where(dropped, np.uint64(0), labels)
        with np.errstate(over="ignore"):
            kept_sum = base + kept.sum(axis=1, dtype=np.uint64)
        if mask:  # a proper container: at least one label dropped
            keys.append(kept_sum[kept_ok].view(np.int64))
            owners.append(np.flatnonzero(kept_ok))
        if not implied:
            continue
        for slot in range(SLOTS):
            for j in range(MAX_IMPLIED):
                target = targets[:, slot, j]
                has = kept_ok & (target != 0)
                if not has.any():
                    continue
                with np.errstate(over="ignore"):
                    if not dropped[slot]:  # replace the label by the one it implies
                        replaced = kept_sum - labels[:, slot] + target
                        keys.append(replaced[has].view(np.int64))
                        owners.append(np.flatnonzero(has))
                    added = kept_sum + target  # or keep it and add the implied one
                keys.append(added[has].view(np.int64))
                owners.append(np.flatnonzero(has))
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(keys), np.concatenate(owners)


def pairs(probe: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with ``probe[i] == table[j]``, vectorised (sort, then each probe's run)."""
    order = np.argsort(table, kind="stable")
    sorted_keys = table[order]
    start = np.searchsorted(sorted_keys, probe, side="left")
    runs = np.searchsorted(sorted_keys, probe, side="right") - start
    at = np.repeat(np.arange(probe.size), runs)
    offsets = np.arange(int(runs.sum())) - np.repeat(np.cumsum(runs) - runs, runs)
    return at, order[np.repeat(start, runs) + offsets]


def _distinct(cells: LedgerCells) -> LedgerCells:
    """One row per distinct (key, months, count, bounds); the labels follow from the key."""
    columns = (cells.upper, cells.lower, cells.persons, cells.last, cells.first, cells.keys)
    order = np.lexsort(columns)
    first_of_run = np.zeros(order.size, bool)
    first_of_run[:1] = True
    for column in columns:
        ordered = column[order]
        first_of_run[1:] |= ordered[1:] != ordered[:-1]
    return cells.take(order[first_of_run])


def related(
    new: LedgerCells, old: LedgerCells, implied: Implications
) -> tuple[np.ndarray, np.ndarray]:
    """(new position, old position) of every pair that is the same cell or where one
    contains the other, with a month in common."""
    same_new, same_old = pairs(new.keys, old.keys)
    up_keys, up_owner = containers(new, implied)  # recorded cells containing a new cell
    up_at, up_old = pairs(up_keys, old.keys)
    down_keys, down_owner = containers(old, implied)  # new cells containing a recorded cell
    down_at, down_new = pairs(down_keys, new.keys)
    new_at = np.concatenate([same_new, up_owner[up_at], down_new])
    old_at = np.concatenate([same_old, up_old, down_owner[down_at]])
    # Months in common: nested periods (a month and a longer period, the same period) and
    # overlapping ones (October-November and November-December) alike.
    overlap = (old.first[old_at] <= new.last[new_at]) & (new.first[new_at] <= old.last[old_at])
    return new_at[overlap], old_at[overlap]


def differencing(
    new: LedgerCells,
    old: LedgerCells,
    floor: int,
    width: float,
    implied: Implications | None = None,
) -> np.ndarray:
    """Per new cell: is a related recorded cell (see :func:`related`) within 1 to
    ``floor`` - 1 true persons of it, while what both publish leaves the difference less
    than ``width`` wide? (The new cells' bounds are what they would publish.)"""
    hit = np.zeros(len(new), bool)
    if not len(new) or not len(old):
        return hit
    old = _distinct(old)  # the same cells are published again and again: compare each once
    new_at, old_at = related(new, old, implied or {})
    gap = np.abs(new.persons[new_at] - old.persons[old_at])
    spread = (new.upper[new_at] - new.lower[new_at]) + (old.upper[old_at] - old.lower[old_at])
    close = (gap > 0) & (gap < floor) & (spread < width)
    hit[new_at[close]] = True
    return hit


def edges(
    cells: list[LedgerCells], ids: list[np.ndarray], implied: Implications
) -> list[tuple[int, int]]:
    """(smaller id, containing id) between cells of tables of one basis (the same table
    included) where a label was replaced by one it implies or such a label added (labels
    dropped are margins, which the lines already hold, and come along)."""
    if not implied:
        return []
    everything = LedgerCells.concat(cells)
    all_ids = np.concatenate(ids)
    up_keys, owner = containers(everything, implied)
    at, into = pairs(up_keys, everything.keys)
    months = (everything.first[owner[at]] >= everything.first[into]) & (
        everything.last[owner[at]] <= everything.last[into]
    )
    small, big = all_ids[owner[at][months]], all_ids[into[months]]
    keep = small != big
    return sorted(set(zip(small[keep].tolist(), big[keep].tolist(), strict=True)))
