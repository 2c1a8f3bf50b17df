"""The attacker's linear program, and fast sound ways to bound a quantity over it.

Variables carry bounds (what publication tells), rows carry ``lo <= A x <= hi`` (the lines of
the tables, containment between categories), and the true counts are a feasible point. Three
ways to bound a quantity ``q = c . x``, cheapest first:

1. *Presolve*: variables with ``lower == upper`` are constants; rows are substituted, and the
   free variables fall apart into connected components, solved separately.
2. *Restricted program*: every free variable outside a chosen subset (a sub-cube around the
   quantity's cells) is held at its true value. The restricted feasible set lies inside the
   attacker's, so the interval it leaves for ``q`` is narrower or equal: if that is already
   wide enough, the attacker's is too. A proof, in a program of a few hundred variables.
3. *Full program*: the quantity's components, one HiGHS model each, warm-started across
   quantities (only the objective changes).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs
from scipy import sparse
from scipy.sparse.csgraph import connected_components

EPS = 1e-6


class Rows:
    """Constraint rows in bulk: each block is a set of rows of equal length."""

    def __init__(self) -> None:
        self.cols: list[np.ndarray] = []  # per block: (rows, width) variable indices
        self.coef: list[np.ndarray] = []  # per block: (rows, width)
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []

    def add(self, cols: np.ndarray, coef: np.ndarray, lo: float, hi: float) -> None:
        if cols.size == 0:
            return
        coef = np.broadcast_to(coef, cols.shape)
        ordered = np.sort(cols, axis=1)
        twice = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if twice.any():  # a cell that is its own total (one month in a month line): merge
            for row in np.flatnonzero(twice):
                merged, where = np.unique(cols[row], return_inverse=True)
                weight = np.zeros(merged.size)
                np.add.at(weight, where, coef[row])
                keep = weight != 0
                if keep.any():
                    self.add(merged[keep][None, :], weight[keep][None, :], lo, hi)
            cols, coef = cols[~twice], coef[~twice]
            if cols.size == 0:
                return
        self.cols.append(cols)
        self.coef.append(coef)
        self.lo.append(np.full(cols.shape[0], lo))
        self.hi.append(np.full(cols.shape[0], hi))

    def matrix(self, n: int) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
        if not self.cols:
            return sparse.csr_matrix((0, n)), np.zeros(0), np.zeros(0)
        lengths = np.concatenate([np.full(c.shape[0], c.shape[1]) for c in self.cols])
        starts = np.concatenate([[0], np.cumsum(lengths)])
        index = np.concatenate([c.ravel() for c in self.cols])
        value = np.concatenate([c.ravel() for c in self.coef]).astype(np.float64)
        matrix = sparse.csr_matrix((value, index, starts), shape=(lengths.size, n))
        return matrix, np.concatenate(self.lo), np.concatenate(self.hi)


@dataclass(frozen=True)
class Quantity:
    cols: np.ndarray  # variable indices
    coef: np.ndarray  # +1 / -1
    true: float
    label: str
    width: float


def _solve_pair(
    matrix: sparse.csr_matrix,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    objective: np.ndarray,
) -> tuple[float, float]:
    """min and max of ``objective . x`` over one small program (built, solved, dropped)."""
    model = _Model(matrix, row_lo, row_hi, col_lo, col_hi)
    cols = np.flatnonzero(objective)
    return (
        model.bound(cols, objective[cols], highspy.ObjSense.kMinimize),
        model.bound(cols, objective[cols], highspy.ObjSense.kMaximize),
    )


class _Model:
    """One HiGHS model; the objective is changed per solve (warm starts)."""

    def __init__(
        self,
        matrix: sparse.csr_matrix,
        row_lo: np.ndarray,
        row_hi: np.ndarray,
        col_lo: np.ndarray,
        col_hi: np.ndarray,
    ) -> None:
        self.highs = _Highs()  # the bare solver: the wrapper prints a banner on stdout
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        self.highs.setOptionValue("presolve", "off")  # small programs: presolve costs more
        lp = highspy.HighsLp()
        n, m = col_lo.size, row_lo.size
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.where(np.isinf(col_lo), -highspy.kHighsInf, col_lo)
        lp.col_upper_ = np.where(np.isinf(col_hi), highspy.kHighsInf, col_hi)
        lp.row_lower_ = np.where(np.isinf(row_lo), -highspy.kHighsInf, row_lo)
        lp.row_upper_ = np.where(np.isinf(row_hi), highspy.kHighsInf, row_hi)
        csr = sparse.csr_matrix(matrix)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = csr.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csr.indices.astype(np.int32)
        lp.a_matrix_.value_ = csr.data.astype(np.float64)
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = m
        status = self.highs.passModel(lp)
        if status != highspy.HighsStatus.kOk:
            raise RuntimeError(f"the LP audit's model was refused by the solver ({status})")

    def bound(self, cols: np.ndarray, coef: np.ndarray, sense: highspy.ObjSense) -> float:
        """The least (or greatest) value of ``coef . x[cols]``; +/-inf if unbounded."""
        index = cols.astype(np.int32)
        self.highs.changeColsCost(index.size, index, coef.astype(np.float64))
        self.highs.changeObjectiveSense(sense)
        self.highs.run()
        status = self.highs.getModelStatus()
        value = float(self.highs.getInfo().objective_function_value)
        self.highs.changeColsCost(index.size, index, np.zeros(index.size))
        if status == highspy.HighsModelStatus.kOptimal:
            return value
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return np.inf if sense == highspy.ObjSense.kMaximize else -np.inf
        # Infeasible would mean the published tables contradict each other (the true counts
        # are a feasible point): treat the quantity as pinned, so nothing is released on a
        # proof that did not run.
        return np.nan


class Program:
    """The attacker's program over ``n`` variables, presolved."""

    def __init__(self, lower: np.ndarray, upper: np.ndarray, rows: Rows, truth: np.ndarray) -> None:
        n = lower.size
        self.lower, self.upper, self.truth = lower, upper, truth
        matrix, self.row_lo, self.row_hi = rows.matrix(n)
        self.structure = matrix  # before presolve: which variables share a row
        self.free = lower < upper
        fixed_values = np.where(self.free, 0.0, lower)
        shift = matrix @ fixed_values  # the constants each row holds
        self.row_lo = self.row_lo - shift
        self.row_hi = self.row_hi - shift
        self.matrix = matrix @ sparse.diags(self.free.astype(np.float64))
        self.matrix.eliminate_zeros()
        self.matrix = sparse.csr_matrix(self.matrix)
        self.by_col = sparse.csc_matrix(self.matrix)
        incidence = sparse.bmat(
            [[None, self.matrix != 0], [(self.matrix != 0).T, None]], format="csr"
        )
        _, labels = connected_components(incidence, directed=False)
        self.component = labels[self.matrix.shape[0] :]  # per variable
        self.row_component = labels[: self.matrix.shape[0]]
        self._sizes = np.bincount(self.component[self.free], minlength=labels.max() + 1)
        self._models: dict[int, tuple[_Model, np.ndarray]] = {}
        self.solves = 0

    def _split(self, q: Quantity) -> tuple[float, np.ndarray, np.ndarray]:
        """The quantity's constant part (fixed variables) and its free part."""
        free = self.free[q.cols]
        constant = float(np.sum(q.coef[~free] * self.lower[q.cols[~free]]))
        return constant, q.cols[free], q.coef[free]

    def free_part(self, q: Quantity) -> bytes:
        """A key equal for quantities whose free parts agree up to sign (their spans do)."""
        _, cols, coef = self._split(q)
        order = np.argsort(cols)
        cols, coef = cols[order], coef[order]
        if coef.size and coef[0] < 0:
            coef = -coef
        return cols.astype(np.int64).tobytes() + b"|" + coef.astype(np.int8).tobytes()

    def component_size(self, q: Quantity) -> int:
        """Free variables in the components the quantity's free part touches."""
        _, cols, _ = self._split(q)
        if not cols.size:
            return 0
        return int(self._sizes[np.unique(self.component[cols])].sum())

    def trivial(self, q: Quantity) -> tuple[float, float]:
        """Bounds from the variables' own bounds alone."""
        lo = float(np.sum(np.where(q.coef > 0, self.lower[q.cols], -self.upper[q.cols])))
        hi = float(np.sum(np.where(q.coef > 0, self.upper[q.cols], -self.lower[q.cols])))
        return lo, hi

    def restricted(self, q: Quantity, subset: np.ndarray) -> tuple[float, float]:
        """Bounds of ``q`` with every free variable outside ``subset`` held at its true
        value: a restriction of the attacker's program, so the interval is no wider."""
        constant, cols, coef = self._split(q)
        if not cols.size:
            return constant, constant
        keep = np.zeros(self.lower.size, bool)
        keep[subset] = True
        keep[cols] = True
        keep &= self.free
        chosen = np.flatnonzero(keep)
        rows = np.unique(self.by_col[:, chosen].indices)
        block = self.matrix[rows]
        outside = np.where(keep, 0.0, self.truth)
        held = block @ outside
        sub = block[:, chosen]
        position = np.full(self.lower.size, -1)
        position[chosen] = np.arange(chosen.size)
        objective = np.zeros(chosen.size)
        np.add.at(objective, position[cols], coef)
        self.solves += 2
        lo, hi = _solve_pair(
            sub,
            self.row_lo[rows] - held,
            self.row_hi[rows] - held,
            self.lower[chosen],
            self.upper[chosen],
            objective,
        )
        return constant + lo, constant + hi

    def full(self, q: Quantity) -> tuple[float, float]:
        """Bounds of ``q`` over the whole program: each component of its free variables on
        that component's own model."""
        constant, cols, coef = self._split(q)
        lo = hi = constant
        for comp in np.unique(self.component[cols]):
            model, position = self._model(int(comp))
            mine = self.component[cols] == comp
            local = position[cols[mine]]
            lo += model.bound(local, coef[mine], highspy.ObjSense.kMinimize)
            hi += model.bound(local, coef[mine], highspy.ObjSense.kMaximize)
            self.solves += 2
        return lo, hi

    def _model(self, comp: int) -> tuple[_Model, np.ndarray]:
        if comp not in self._models:
            chosen = np.flatnonzero((self.component == comp) & self.free)
            rows = np.flatnonzero(self.row_component == comp)
            position = np.full(self.lower.size, -1)
            position[chosen] = np.arange(chosen.size)
            model = _Model(
                self.matrix[rows][:, chosen],
                self.row_lo[rows],
                self.row_hi[rows],
                self.lower[chosen],
                self.upper[chosen],
            )
            self._models[comp] = (model, position)
        return self._models[comp]


def width(lo: float, hi: float) -> float:
    """The number of integer steps an attacker is left with between ``lo`` and ``hi``."""
    if np.isnan(lo) or np.isnan(hi):
        return 0.0
    if not np.isfinite(hi) or not np.isfinite(lo):
        return np.inf
    return float(np.floor(hi + EPS) - np.ceil(lo - EPS))
