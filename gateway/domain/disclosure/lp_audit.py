"""The LP audit: what an attacker holding every published table can prove about each count.

The attacker's knowledge is a linear program (:mod:`gateway.domain.disclosure.lp_program`).
Its variables are the true person counts of every cell of every linked table (tables computed
from the same data: the same source, population, period and delivery versions; a cell that
appears in several of them, such as a margin shared by two tables, is one variable). What the
attacker knows:

* each published value bounds its cell: an exact count fixes it, a rounded or perturbed one
  confines it to the values that could have produced it (the p-table is public), a hidden one
  only to be at least 0;
* every line of every table: the total is the sum of its cells where the line is additive (no
  person in two of its categories), else at most their sum and at least each of them;
* containment between categories: a cell whose persons lie inside another's (a category
  implied by another, declared in the catalogue or found in the data) is at most that cell.

A *protected quantity* is a count an attacker must not pin down: a cell of 1 to k-1 persons,
or a difference of 1 to k-1 persons between a cell and a cell containing it (the persons in
one but not the other, in another table or the same one). For each, the audit bounds it from
below and above and requires the integer interval left to be at least ``protection_interval``
wide: first from the variables' own bounds, then over a restricted program (a sub-cube around
the quantity, everything else held at its true value; a wide interval there proves a wide one
in the whole), then over the whole program (HiGHS). Where a quantity is too narrow, the audit
names the cheapest published cell of a new table whose hiding would add uncertainty, and the
checker tries again. Sums and the groups of hidden cells of a line are protected by
:mod:`gateway.domain.disclosure.suppression` within each table; the audit adds the ledger.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from gateway.domain.disclosure.lp_program import Program, Quantity, Rows, width
from gateway.domain.disclosure.suppression import ancestor_patterns
from gateway.domain.disclosure.tables import line_positions

SOLVER = (
    f"HiGHS {highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}."
    f"{highspy.HIGHS_VERSION_PATCH}"
)
PARTNERS = (2, 5)  # levels per axis beside the cell's own and the total, per attempt
SMALL_COMPONENT = 200  # a component this small is solved whole at once (cheaper than restricting)


@dataclass(frozen=True)
class AuditTable:
    """One table as the attacker's program sees it (cubes of one shape, C order)."""

    persons: np.ndarray  # true counts
    lower: np.ndarray  # float64: what its publication tells about each cell
    upper: np.ndarray  # float64, inf where hidden
    ids: np.ndarray  # int64: the variable each cell is (equal ids: the same count)
    shown: np.ndarray  # bool: the cell's value is published
    new: bool = False  # a table of this release: its cells can still be hidden
    # Required width per cell (0: not protected). None: person counts, where a cell of 1 to
    # floor-1 persons needs ``width`` and so does every small difference with its margins.
    protect: np.ndarray | None = None


@dataclass
class AuditResult:
    hide: list[np.ndarray]  # per new table (in order): cells to hide before trying again
    failing: int = 0
    unfixable: int = 0  # failing quantities no new cell can help
    quantities: int = 0
    solves: int = 0
    narrowest: float | None = None
    timed_out: bool = False
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def _add_lines(rows: Rows, table: AuditTable, var: np.ndarray) -> None:
    """The line constraints of one table over the merged variables ``var`` (cube of indices):
    a line whose true counts add up is an equation, any other gives inequalities. Lines of
    published exact values only are constants and left out."""
    shape = table.persons.shape
    flat_p = table.persons.ravel()
    flat_v = var.ravel()
    fixed = (table.lower == table.upper).ravel()
    for axis in range(len(shape)):
        pos = line_positions(shape, axis)
        if pos.shape[1] < 2:
            continue
        pos = pos[~fixed[pos].all(axis=1)]
        inner, total = pos[:, :-1], pos[:, -1]
        additive = np.isclose(flat_p[inner].sum(axis=1), flat_p[total])
        coef = np.append(np.ones(inner.shape[1]), -1.0)
        cols = flat_v[pos]
        rows.add(cols[additive], coef, 0.0, 0.0)
        # Not additive (a person in two categories): the cells sum to at least the total,
        # and none exceeds it.
        rows.add(cols[~additive], coef, 0.0, np.inf)
        other = flat_v[inner[~additive]]
        pairs = np.stack([other.ravel(), np.repeat(flat_v[total[~additive]], inner.shape[1])], 1)
        rows.add(pairs, np.array([1.0, -1.0]), -np.inf, 0.0)


def _differences(table: AuditTable, var: np.ndarray, floor: int) -> list[tuple[int, int, float]]:
    """(smaller variable, container variable, true difference) for every cell of the table
    and each of its margins whose persons differ by 1 to floor-1."""
    out: list[tuple[int, int, float]] = []
    d = table.persons.ndim
    for axes in ancestor_patterns(d):
        index = tuple(slice(-1, None) if i in axes else slice(None) for i in range(d))
        inner = tuple(slice(0, -1) if i in axes else slice(None) for i in range(d))
        big_p = np.broadcast_to(table.persons[index], table.persons[inner].shape)
        big_v = np.broadcast_to(var[index], var[inner].shape)
        diff = big_p - table.persons[inner]
        at = np.nonzero((diff > 0) & (diff < floor))
        small_v = var[inner][at]
        out.extend(zip(small_v.tolist(), big_v[at].tolist(), diff[at].tolist(), strict=True))
    return out


@dataclass
class _Space:
    """The merged variables of the linked tables and where each one lives."""

    tables: list[AuditTable]
    var_of: list[np.ndarray]
    lower: np.ndarray
    upper: np.ndarray
    true: np.ndarray
    need: np.ndarray
    on_new: np.ndarray
    home: np.ndarray  # per variable: the table it is best seen in (a new one if any)
    home_at: np.ndarray  # and its flat position there

    @classmethod
    def of(cls, tables: list[AuditTable], floor: int, width_: float) -> _Space:
        all_ids = np.concatenate([t.ids.ravel() for t in tables])
        uniq, inverse = np.unique(all_ids, return_inverse=True)
        n = uniq.size
        lower, upper = np.zeros(n), np.full(n, np.inf)
        true, need = np.zeros(n), np.zeros(n)
        np.maximum.at(lower, inverse, np.concatenate([t.lower.ravel() for t in tables]))
        np.minimum.at(upper, inverse, np.concatenate([t.upper.ravel() for t in tables]))
        true[inverse] = np.concatenate([t.persons.ravel() for t in tables])
        var_of, offset = [], 0
        home, home_at = np.full(n, -1), np.zeros(n, np.int64)
        on_new = np.zeros(n, bool)
        order = sorted(range(len(tables)), key=lambda i: not tables[i].new)
        for t in tables:
            var = inverse[offset : offset + t.ids.size].reshape(t.ids.shape)
            var_of.append(var)
            offset += t.ids.size
            if t.protect is not None:
                np.maximum.at(need, var.ravel(), t.protect.ravel())
            else:
                small = (t.persons > 0) & (t.persons < floor)
                np.maximum.at(need, var.ravel(), np.where(small, width_, 0.0).ravel())
            if t.new:
                on_new[var.ravel()] = True
        for i in reversed(order):  # new tables last, so they win
            flat = var_of[i].ravel()
            home[flat] = i
            home_at[flat] = np.arange(flat.size)
        return cls(tables, var_of, lower, upper, true, need, on_new, home, home_at)

    def subcube(self, v: int, partners: int) -> np.ndarray:
        """Variables of the sub-cube around variable ``v`` in its home table: on each axis its
        own level, the total, and the ``partners`` levels whose cells on its lines leave the
        most room (hidden first, then the widest published interval, then the largest)."""
        t, var = self.tables[self.home[v]], self.var_of[self.home[v]]
        shape = t.persons.shape
        at = np.unravel_index(self.home_at[v], shape)
        choice = []
        for axis, n in enumerate(shape):
            line = [slice(None) if a == axis else int(c) for a, c in enumerate(at)]
            cells = var[tuple(line)]
            room = np.minimum(self.upper[cells] - self.lower[cells], 1e9)
            score = room * 1e6 + self.true[cells]
            score[[int(at[axis]), n - 1]] = -np.inf
            best = np.argsort(-score, kind="stable")[:partners]
            choice.append(np.unique(np.concatenate([[int(at[axis]), n - 1], best])))
        return np.unique(var[np.ix_(*choice)])


def audit(
    tables: list[AuditTable],
    edges: list[tuple[int, int]],
    *,
    floor: int,
    width: float,
    deadline: float,
) -> AuditResult:
    """Bound every protected quantity of the linked ``tables`` (see the module docstring).

    ``edges`` are (smaller id, containing id) pairs between cells; ``deadline`` is a
    ``time.monotonic()`` value after which the audit stops and says so. A quantity already as
    narrow before this release's tables (an earlier breach) is reported, not blamed on the new
    table."""
    began = time.monotonic()
    space = _Space.of(tables, floor, width)
    news = [i for i, t in enumerate(tables) if t.new]
    result = AuditResult(hide=[np.zeros(tables[i].persons.shape, bool) for i in news])
    ids = np.unique(np.concatenate([t.ids.ravel() for t in tables]))
    index_of = {int(v): i for i, v in enumerate(ids)}
    edge_vars = [
        (index_of[a], index_of[b])
        for a, b in edges
        if a in index_of and b in index_of and space.true[index_of[a]] <= space.true[index_of[b]]
    ]
    # Containment between categories that holds in the data is the attacker's to use too.
    program = _with_edges(space, list(range(len(tables))), edge_vars, space.lower, space.upper)
    quantities = _quantities(space, edge_vars, floor, width)
    result.quantities = len(quantities)
    failing: list[Quantity] = []
    spans: dict[bytes, float] = {}  # quantities with the same free part have the same span
    for q in quantities:
        if time.monotonic() > deadline:
            result.timed_out = True
            result.failing += 1  # counted as unproven
            continue
        key = program.free_part(q)
        if key not in spans:
            spans[key] = _span(program, space, q)
        span = spans[key]
        if np.isfinite(span) and (result.narrowest is None or span < result.narrowest):
            result.narrowest = span
        if span < q.width:
            failing.append(q)
    blamed = _blame(space, edge_vars, failing, result)
    result.solves += program.solves
    result.failing += len(blamed)
    _choose(space, news, blamed, result, program)
    result.seconds = time.monotonic() - began
    return result


def _with_edges(
    space: _Space,
    tables: list[int],
    edge_vars: list[tuple[int, int]],
    lower: np.ndarray,
    upper: np.ndarray,
) -> Program:
    rows = Rows()
    seen: set[bytes] = set()
    for i in tables:
        t, var = space.tables[i], space.var_of[i]
        signature = var.tobytes() + bytes(str(var.shape), "ascii")
        if signature not in seen:
            seen.add(signature)
            _add_lines(rows, t, var)
    if edge_vars:
        rows.add(np.array(edge_vars), np.array([1.0, -1.0]), -np.inf, 0.0)
    return Program(lower, upper, rows, space.true)


def _quantities(
    space: _Space, edge_vars: list[tuple[int, int]], floor: int, width_: float
) -> list[Quantity]:
    out = [
        Quantity(np.array([v]), np.array([1.0]), space.true[v], "cell", space.need[v])
        for v in np.flatnonzero(space.need > 0)
    ]
    pairs: dict[tuple[int, int], float] = {}
    for t, var in zip(space.tables, space.var_of, strict=True):
        if t.protect is None:
            for a, b, diff in _differences(t, var, floor):
                pairs[(a, b)] = diff
    for a, b in edge_vars:
        diff = space.true[b] - space.true[a]
        if 0 < diff < floor:
            pairs[(a, b)] = diff
    out += [
        Quantity(np.array([b, a]), np.array([1.0, -1.0]), diff, "difference", width_)
        for (a, b), diff in pairs.items()
    ]
    return out


def _span(program: Program, space: _Space, q: Quantity) -> float:
    """The width of the integer interval an attacker is left with for ``q``: from the
    variables' own bounds if that is already too narrow, else proved wide enough over a
    restricted program, else from the whole program."""
    lo, hi = program.trivial(q)
    if q.label == "difference":
        lo = max(lo, 0.0)  # a container holds at least the cell's persons
    if width(lo, hi) < q.width:
        return width(lo, hi)
    if program.component_size(q) > SMALL_COMPONENT and space.home[q.cols].min() >= 0:
        for partners in PARTNERS:
            subset = np.unique(np.concatenate([space.subcube(int(v), partners) for v in q.cols]))
            r_lo, r_hi = program.restricted(q, subset)
            if width(max(r_lo, lo), min(r_hi, hi)) >= q.width:
                return width(max(r_lo, lo), min(r_hi, hi))
    f_lo, f_hi = program.full(q)
    return width(max(f_lo, lo), min(f_hi, hi))


def _blame(
    space: _Space, edge_vars: list[tuple[int, int]], failing: list[Quantity], result: AuditResult
) -> list[Quantity]:
    """The failing quantities this release is to blame for: one that touches none of its
    tables' cells and was as narrow before (over the earlier tables alone) is reported."""
    earlier = [q for q in failing if not space.on_new[q.cols].any()]
    if not earlier:
        return failing
    old = [i for i, t in enumerate(space.tables) if not t.new]
    lower, upper = np.zeros(space.lower.size), np.full(space.lower.size, np.inf)
    for i in old:
        t, flat = space.tables[i], space.var_of[i].ravel()
        np.maximum.at(lower, flat, t.lower.ravel())
        np.minimum.at(upper, flat, t.upper.ravel())
    untouched = [(a, b) for a, b in edge_vars if not (space.on_new[a] or space.on_new[b])]
    before = _with_edges(space, old, untouched, lower, upper)
    blamed = []
    for q in failing:
        if any(q is e for e in earlier):
            lo, hi = before.full(q)
            if width(lo, hi) < q.width:
                result.failures.append(f"an earlier {q.label} of {q.true:g} was already exposed")
                continue
        blamed.append(q)
    result.solves += before.solves
    return blamed


def _choose(
    space: _Space, news: list[int], failing: list[Quantity], result: AuditResult, program: Program
) -> None:
    """For each failing quantity, one published cell of a new table to hide: one of its own
    cells if published, else the cheapest published cell that shares a line (a constraint)
    with it, else one two lines away. Inner cells before totals, non-zero before zero."""
    adjacency = (program.structure != 0).astype(np.int8)
    for q in failing:
        best: tuple[float, int, tuple[int, ...]] | None = None
        reach = q.cols
        for _ in range(3):
            for slot, ti in enumerate(news):
                t, var = space.tables[ti], space.var_of[ti]
                mine = np.isin(var, reach) & t.shown
                if not mine.any():
                    continue
                at = np.argwhere(mine)
                p = t.persons[mine].astype(np.float64)
                cost = np.where(p > 0, p, 1e9)
                is_total = (at == np.array(t.persons.shape) - 1).any(axis=1)
                cost = cost + np.where(is_total, 1e6, 0.0)
                pick = int(np.argmin(cost))
                if best is None or cost[pick] < best[0]:
                    best = (float(cost[pick]), slot, tuple(int(x) for x in at[pick]))
            if best is not None:
                break
            touching = np.unique(adjacency[:, reach].nonzero()[0])
            reach = np.unique(np.concatenate([reach, adjacency[touching].nonzero()[1]]))
        if best is None:
            result.unfixable += 1
            result.failures.append(f"a protected {q.label} of {q.true:g} cannot be widened")
        else:
            result.hide[best[1]][best[2]] = True
