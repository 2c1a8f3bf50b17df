"""Secondary suppression: the cheap, table-local rules that find a candidate pattern.

Primary suppression hides every cell a rule flags. These rules then hide more cells until,
within the table:

* no line has exactly one hidden entry (a line with one hidden entry gives it away by
  subtraction, total minus the other cells);
* the hidden inner cells of every line with a published total hold together 0 or at least
  ``min_persons`` persons (the *group* rule: the total minus the visible cells is the persons
  of the hidden cells together, so a group of 1 to k-1 is as disclosive as a single cell);
* no published cell is within 1 to ``min_persons``-1 persons of a published cell that contains
  it (every margin contains the cells it totals, at any depth): for distinct persons that
  difference is itself an exact count of persons, even where the table is not additive.

The pattern they find is a candidate: :mod:`gateway.domain.disclosure.lp_audit` then proves it
against everything ever published, and asks for more cells where the proof fails.
"""

from __future__ import annotations

import itertools

import numpy as np

from gateway.domain.disclosure.tables import from_lines, lines


def recoverable(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Cells in ``hidden`` a reader can recompute from the published cells, assuming every
    total is the exact sum of its line (a defence in depth beside the LP audit)."""
    known = ~hidden
    vals = np.where(known, values, 0.0).astype(np.float64)
    changed = True
    while changed:
        changed = False
        for axis in range(values.ndim):
            k, v = lines(known, axis), lines(vals, axis)
            solvable = (~k).sum(axis=1) == 1
            if not solvable.any():
                continue
            inner_sum = np.where(k[:, :-1], v[:, :-1], 0.0).sum(axis=1)
            total_missing = solvable & ~k[:, -1]
            v[total_missing, -1] = inner_sum[total_missing]
            k[total_missing, -1] = True
            rows = np.flatnonzero(solvable & ~total_missing)
            which = np.argmax(~k[rows, :-1], axis=1)
            v[rows, which] = v[rows, -1] - inner_sum[rows]
            k[rows, which] = True
            known, vals = from_lines(k, values.shape, axis), from_lines(v, values.shape, axis)
            changed = True
    leaked: np.ndarray = hidden & known
    return leaked


def _cheapest(p: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per line (rows of ``p``, inner cells only): the smallest visible non-zero inner cell,
    else a visible zero; and whether one exists."""
    cost = np.where(p > 0, p.astype(np.float64), np.float64(1e15))
    cost = np.where(h, np.inf, cost)
    if not cost.shape[1]:
        return np.zeros(p.shape[0], np.intp), np.zeros(p.shape[0], bool)
    best = np.argmin(cost, axis=1)
    return best, np.isfinite(cost[np.arange(p.shape[0]), best])


def _single_entries(persons: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Hide more cells until no line has exactly one hidden entry. The partner chosen in a line
    is its smallest visible non-zero inner cell, else a visible zero cell, else the total."""
    hidden = hidden.copy()
    added = True
    while added:
        added = False
        for axis in range(hidden.ndim):
            h = lines(hidden, axis)
            lonely = np.flatnonzero(h.sum(axis=1) == 1)
            if not lonely.size:
                continue
            p = lines(persons, axis)[lonely, :-1]
            best, has_inner = _cheapest(p, h[lonely, :-1])
            h[lonely[has_inner], best[has_inner]] = True
            h[lonely[~has_inner], -1] = True
            hidden = from_lines(h, hidden.shape, axis)
            added = True
    return hidden


def small_groups(persons: np.ndarray, hidden: np.ndarray, floor: int) -> np.ndarray:
    """Lines (as a cube mask of one cell each: the next cell to hide) whose hidden inner cells
    hold together 1 to ``floor``-1 persons while the line's total is published."""
    out = np.zeros(hidden.shape, bool)
    for axis in range(hidden.ndim):
        h, p = lines(hidden, axis), lines(persons, axis)
        group = np.where(h[:, :-1], p[:, :-1], 0).sum(axis=1)
        bad = np.flatnonzero(~h[:, -1] & h[:, :-1].any(axis=1) & (group > 0) & (group < floor))
        if not bad.size:
            continue
        best, has_inner = _cheapest(p[bad, :-1], h[bad, :-1])
        mark = np.zeros(h.shape, bool)
        mark[bad[has_inner], best[has_inner]] = True
        mark[bad[~has_inner], -1] = True
        out |= from_lines(mark, hidden.shape, axis)
    return out


def ancestor_patterns(d: int) -> list[tuple[int, ...]]:
    """Every non-empty set of axes that can be replaced by their totals."""
    return [axes for n in range(1, d + 1) for axes in itertools.combinations(range(d), n)]


def nested_differences(persons: np.ndarray, hidden: np.ndarray, floor: int) -> np.ndarray:
    """Published cells whose distinct persons differ from a published cell containing them by
    1..``floor``-1: such a difference is an exact count of persons (the ones in the larger
    cell but not in the smaller), whatever the table's other cells. Every cell of the cube is
    contained in each cell that replaces some of its coordinates by totals. Returns the smaller
    cell of each such pair (the one to hide)."""
    d = persons.ndim
    bad = np.zeros(persons.shape, bool)
    visible = ~hidden
    for axes in ancestor_patterns(d):
        index = tuple(slice(-1, None) if i in axes else slice(None) for i in range(d))
        container, container_visible = persons[index], visible[index]
        inner = tuple(slice(0, -1) if i in axes else slice(None) for i in range(d))
        diff = container - persons[inner]  # broadcast: the container along the summed axes
        small = (diff > 0) & (diff < floor) & visible[inner] & container_visible
        bad[inner] |= small
    return bad


def suppress(persons: np.ndarray, primary: np.ndarray, floor: int) -> np.ndarray:
    """Secondary suppression until every table-local rule holds: no line with one hidden
    entry, no hidden group of 1..``floor``-1 under a published total, no published cell
    within 1..``floor``-1 persons of a published cell containing it."""
    hidden = primary
    while True:
        hidden = _single_entries(persons, hidden)
        more = small_groups(persons, hidden, floor) | nested_differences(persons, hidden, floor)
        if not (more & ~hidden).any():
            return hidden
        hidden = hidden | more
