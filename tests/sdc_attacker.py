"""An attacker on published tables, written apart from the gateway's own audit.

It holds every table published from one body of data (pooled across recipients), knows the
method (the p-table, the rounding base), which lines of the data add up, and which categories
imply others; it solves linear programs with SciPy's HiGHS interface (not the gateway's
model-building code) for every count of 1 to k-1 persons it could want: a cell, a group of
hidden cells of a line, and the difference between a cell and a cell containing it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from gateway.domain.disclosure import CheckedTable, DisclosureRules, Method
from gateway.domain.disclosure.ptable import PTable

Cell = frozenset[tuple[str, str]]  # the labels of a cell, totals left out


@dataclass(frozen=True)
class Shown:
    """A table as its reader holds it: dimensions, their levels (the total last on each axis
    is implied) and the published person counts as a cube (NaN where not shown)."""

    dimensions: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    values: np.ndarray
    rules: DisclosureRules

    @classmethod
    def of(cls, checked: CheckedTable) -> Shown:
        tab = checked.tabulation
        return cls(tab.dimensions, tab.levels, checked.published_persons, checked.rules)

    @classmethod
    def from_rows(
        cls,
        dimensions: tuple[str, ...],
        levels: tuple[tuple[str, ...], ...],
        rows: list[dict[str, object]],
        rules: DisclosureRules,
    ) -> Shown:
        """From a released table's rows (labels, ``Total`` for margins, and ``persons``)."""
        values = np.full([len(lv) + 1 for lv in levels], np.nan)
        for row in rows:
            at = tuple(
                len(lv) if row[d] == "Total" else lv.index(str(row[d]))
                for d, lv in zip(dimensions, levels, strict=True)
            )
            if row["persons"] is not None:
                values[at] = float(row["persons"])  # type: ignore[arg-type]
        return cls(dimensions, levels, values, rules)


@dataclass(frozen=True)
class Finding:
    what: str
    true: int
    low: float
    high: float

    @property
    def width(self) -> float:
        return float(np.floor(self.high + 1e-6) - np.ceil(self.low - 1e-6))


def _cells(table: Shown) -> list[Cell]:
    out = []
    for index in np.ndindex(*table.values.shape):
        out.append(
            frozenset(
                (dim, table.levels[a][i])
                for a, (dim, i) in enumerate(zip(table.dimensions, index, strict=True))
                if i < len(table.levels[a])
            )
        )
    return out


def _interval(table: Shown, ptable: PTable | None) -> tuple[np.ndarray, np.ndarray]:
    """What the attacker reads off each published value, knowing the method."""
    rules = table.rules
    values = table.values.ravel()
    shown = ~np.isnan(values)
    lo = np.where(shown, values, 0.0)
    hi = np.where(shown, values, np.inf)
    if rules.method is Method.ROUNDING:
        base = rules.rounding_base or 1
        inner = np.zeros(table.values.shape, bool)
        inner[tuple(slice(0, len(lv)) for lv in table.levels)] = True
        inner = inner.ravel()
        lo = np.where(shown & inner, np.maximum(values - base // 2, 0), 0.0)
        hi = np.where(shown & inner, values + (base - 1) // 2, np.inf)
    if rules.method is Method.CELL_KEY and ptable is not None:
        d = int(np.abs(ptable.pvalue).max())
        k = rules.min_persons
        for i, value in enumerate(values):
            if np.isnan(value):
                # Not shown: the p-table pushed it under k, or the checker hid it.
                continue
            p = int(value)
            if p < k:  # shown under the threshold: an empty cell, shown as it is
                continue
            possible = [
                v
                for v in range(max(0, p - d), p + d + 1)
                if v > 0 and (ptable.pvalue[ptable.pcv(np.array([v]))[0]] == p - v).any()
            ]
            lo[i], hi[i] = min(possible), max(possible)
    return lo, hi


def attack(
    published: Sequence[CheckedTable | Shown],
    truth: dict[Cell, int],
    *,
    additive: set[tuple[Cell, str]],
    implications: Sequence[tuple[tuple[str, str], tuple[str, str]]] = (),
    ptable: PTable | None = None,
    floor: int,
) -> list[Finding]:
    """Every protected quantity's bounds over all of ``published``. ``truth`` gives each
    cell's true count; ``additive`` the (line's fixed labels, dimension) pairs whose cells add
    up to their total."""
    index: dict[Cell, int] = {}
    lower: list[float] = []
    upper: list[float] = []

    def var(cell: Cell) -> int:
        if cell not in index:
            index[cell] = len(index)
            lower.append(0.0)
            upper.append(np.inf)
        return index[cell]

    eq_rows: list[dict[int, float]] = []
    ub_rows: list[dict[int, float]] = []  # row . x <= 0
    groups: list[tuple[list[int], int]] = []
    for item in published:
        table = item if isinstance(item, Shown) else Shown.of(item)
        cells = _cells(table)
        lo, hi = _interval(table, ptable)
        for cell, a, b in zip(cells, lo, hi, strict=True):
            v = var(cell)
            lower[v] = max(lower[v], a)
            upper[v] = min(upper[v], b)
        shape = table.values.shape
        flat_hidden = np.isnan(table.values).ravel()
        for axis, dim in enumerate(table.dimensions):
            for index_rest in np.ndindex(*[n for a, n in enumerate(shape) if a != axis]):
                positions = []
                for i in range(shape[axis]):
                    full = list(index_rest)
                    full.insert(axis, i)
                    positions.append(int(np.ravel_multi_index(full, shape)))
                total = cells[positions[-1]]
                members = [var(cells[p]) for p in positions[:-1]]
                t = var(total)
                if (total, dim) in additive:
                    row = dict.fromkeys(members, 1.0)
                    row[t] = row.get(t, 0.0) - 1.0
                    eq_rows.append(row)
                else:
                    row = dict.fromkeys(members, -1.0)
                    row[t] = row.get(t, 0.0) + 1.0
                    ub_rows.append(row)  # total <= sum of cells
                    ub_rows.extend({m: 1.0, t: -1.0} for m in members if m != t)
                hidden_members = [var(cells[p]) for p in positions[:-1] if flat_hidden[p]]
                true_sum = sum(truth.get(cells[p], 0) for p in positions[:-1] if flat_hidden[p])
                if len(hidden_members) > 1 and 0 < true_sum < floor:
                    groups.append((hidden_members, true_sum))
    cells_known = list(index)
    for small, big in _containments(cells_known, implications):
        ub_rows.append({index[small]: 1.0, index[big]: -1.0})
    n = len(index)

    def matrix(rows: list[dict[int, float]]) -> np.ndarray | None:
        if not rows:
            return None
        out = np.zeros((len(rows), n))
        for r, row in enumerate(rows):
            for c, w in row.items():
                out[r, c] += w
        return out

    a_eq, a_ub = matrix(eq_rows), matrix(ub_rows)
    bounds = list(zip(lower, [None if np.isinf(u) else u for u in upper], strict=True))

    def solve(objective: dict[int, float]) -> tuple[float, float]:
        c = np.zeros(n)
        for k, w in objective.items():
            c[k] += w
        kwargs = {
            "A_eq": a_eq,
            "b_eq": None if a_eq is None else np.zeros(a_eq.shape[0]),
            "A_ub": a_ub,
            "b_ub": None if a_ub is None else np.zeros(a_ub.shape[0]),
            "bounds": bounds,
            "method": "highs",
        }
        low = linprog(c, **kwargs)
        high = linprog(-c, **kwargs)
        # The true counts are a feasible point, so a side HiGHS cannot finish (unbounded, or
        # "unbounded or infeasible" from presolve) is unbounded.
        assert low.status != 2 or high.status != 2, (low.message, high.message)
        lo = low.fun if low.status == 0 else -np.inf
        hi = -high.fun if high.status == 0 else np.inf
        return lo, hi

    findings = []
    for cell, v in index.items():
        true = truth.get(cell, 0)
        if 0 < true < floor:
            findings.append(Finding(f"cell {sorted(cell)}", true, *solve({v: 1.0})))
    for members, true in groups:
        findings.append(Finding("group", true, *solve(dict.fromkeys(members, 1.0))))
    for small, big in itertools.chain(
        _label_containments(cells_known), _containments(cells_known, implications)
    ):
        diff = truth.get(big, 0) - truth.get(small, 0)
        if 0 < diff < floor:
            lo, hi = solve({index[big]: 1.0, index[small]: -1.0})
            findings.append(Finding(f"{sorted(big)} - {sorted(small)}", diff, max(lo, 0.0), hi))
    return findings


def truth_of(
    people: dict[object, list[dict[str, str]]], levels: dict[str, tuple[str, ...]]
) -> tuple[dict[Cell, int], set[tuple[Cell, str]]]:
    """True counts of every cell of up to three of ``levels``' variables, from each person's
    events (a person is in a cell if any one event matches all its labels), and the lines
    (a cell of up to two labels, a variable) whose cells add up to their total."""
    truth: dict[Cell, int] = {}
    names = sorted(levels)
    for n in range(0, 4):
        for dims in itertools.combinations(names, n):
            for values in itertools.product(*(levels[d] for d in dims)):
                cell = frozenset(zip(dims, values, strict=True))
                truth[cell] = sum(
                    any(all(e[d] == v for d, v in cell) for e in events)
                    for events in people.values()
                )
    additive = {
        (total, dim)
        for total, count in truth.items()
        for dim in names
        if all(d != dim for d, _ in total)
        and len(total) < 3
        and sum(truth.get(total | {(dim, v)}, 0) for v in levels[dim]) == count
    }
    return truth, additive


def _label_containments(cells: list[Cell]) -> list[tuple[Cell, Cell]]:
    known = set(cells)
    return [(c, c - {label}) for c in cells for label in c if c - {label} in known]


def _containments(
    cells: list[Cell], implications: Sequence[tuple[tuple[str, str], tuple[str, str]]]
) -> list[tuple[Cell, Cell]]:
    known = set(cells)
    out = []
    for cell in cells:
        for when, then in implications:
            if when in cell:
                bigger = (cell - {when}) | {then}
                if bigger in known and bigger != cell:
                    out.append((cell, bigger))
    return out
