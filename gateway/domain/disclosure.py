"""Statistical disclosure control for aggregate tables: the output checker.

Nothing aggregated leaves the hub without passing here. A table is a dense *cube*: one axis per
dimension, each axis holding the dimension's categories followed by one extra position for the
total over that dimension. So a municipality x month table of 98 x 12 categories is a 99 x 13
array whose last row, last column and corner are the margins. Holding every margin in the same
array is what lets the rules apply to margins and sub-tables exactly as to inner cells, and what
makes a *line* (the categories of one dimension with the others fixed, plus their total) a plain
array slice.

Rules (defaults in ``policies/disclosure.yaml``, stricter per dataset where its file says so):

* **threshold**: a published cell counts at least ``min_persons`` distinct persons. Persons, not
  rows: ten hospital contacts of three persons are three. Margins included.
* **zeros**: a cell of zero persons is disclosive where the policy says so (it tells that nobody
  in a group has a property: group disclosure).
* **nk-rule** (dominance, sums only): the ``dominance_n`` largest contributors hold more than
  ``dominance_k`` per cent of the cell total. Contributors are persons: a person's rows in a cell
  are added up first.
* **p-ratio** (p-percent, sums only): the second-largest contributor could estimate the largest
  to within ``p_percent`` per cent (total - x1 - x2 < p/100 * x1).
* **negative** / **missing** (sums only): negative contributions or missing values make the
  rules above unreliable; a person must look (status ``review``).

Mitigation is suppression. Primary suppression hides every cell a rule flags; secondary
suppression then hides more cells until no line has exactly one hidden entry, because a line
with one hidden entry gives it away by subtraction (total minus the other cells), and until no
published cell is within 1 to ``min_persons``-1 persons of a published cell that contains it
(every margin contains the cells it totals, at any depth): for distinct persons that difference
is itself an exact count of persons, the ones in the margin but not in the cell, even where
the table is not additive (a person counted in two months makes ``Total - November`` the
persons seen in other months only). The result is
then attacked by :func:`recoverable`, which repeatedly solves every line with one unknown, as a
reader with the published table would; if anything hidden can be recomputed the table fails.
Counts of distinct persons are not strictly additive (a person can sit in two cells), so
treating every line as an exact sum is the conservative reading.

With ``rounding_base`` set, published person counts are rounded to that base and every total is
recomputed from the published inner cells (so totals add up and carry nothing of hidden cells;
secondary suppression is then not needed).

Statuses follow ACRO: ``pass`` releases; ``review`` goes to an approver; ``fail`` is refused.
A table fails when rules fire and suppression is switched off, when suppression leaves no inner
non-empty cell to publish, or when the attack recovers a hidden cell.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gateway.domain.cell_key import perturb

TOTAL = "Total"
MAX_CELLS = 2_000_000


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status word, not a password
    REVIEW = "review"
    FAIL = "fail"

    @staticmethod
    def worst(statuses: list[Status]) -> Status:
        order = [Status.PASS, Status.REVIEW, Status.FAIL]
        return max(statuses, key=order.index, default=Status.PASS)


class Check(StrEnum):
    """The names ACRO gives its checks (plus ``zeros`` and ``secondary``)."""

    THRESHOLD = "threshold"
    ZEROS = "zeros"
    NK_RULE = "nk-rule"
    P_RATIO = "p-ratio"
    NEGATIVE = "negative"
    MISSING = "missing"
    SECONDARY = "secondary"
    DIFFERENCING = "differencing"  # within a few persons of a cell the recipient already has


PRIMARY = (Check.THRESHOLD, Check.ZEROS, Check.NK_RULE, Check.P_RATIO, Check.DIFFERENCING)


class DisclosureRules(BaseModel):
    """The checker's parameters. :meth:`strictest` combines defaults with dataset overrides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_persons: int = Field(5, ge=1, description="Distinct persons per published cell.")
    suppress: bool = Field(True, description="Suppress disclosive cells instead of failing.")
    zeros_disclosive: bool = Field(False, description="A cell of zero persons is disclosive.")
    dominance_n: int = Field(2, ge=1)
    dominance_k: float = Field(85.0, gt=0, le=100, description="Per cent.")
    p_percent: float = Field(10.0, ge=0, le=100, description="Per cent.")
    rounding_base: int | None = Field(None, ge=2, description="Round published counts.")
    perturbation: Literal["none", "cell-key"] = Field(
        "none", description="Perturb published person counts (the cell-key method)."
    )
    cell_key_max_noise: int = Field(2, ge=1, le=10, description="Largest noise, +/-.")
    cell_key_variance: float = Field(1.0, gt=0, le=25, description="Variance of the noise.")
    review_votes: int = Field(
        1,
        ge=1,
        le=3,
        description="Independent reviewers' votes an aggregate held for review needs; each "
        "votes blind (no one sees another's vote before all are in); one 'withhold' withholds.",
    )

    def strictest(self, other: DisclosureRules) -> Self:
        """The stricter value of every rule (a dataset can tighten the defaults, never loosen)."""
        bases = [b for b in (self.rounding_base, other.rounding_base) if b is not None]
        return self.model_copy(
            update={
                "min_persons": max(self.min_persons, other.min_persons),
                "suppress": self.suppress and other.suppress,
                "zeros_disclosive": self.zeros_disclosive or other.zeros_disclosive,
                "dominance_n": min(self.dominance_n, other.dominance_n),
                "dominance_k": min(self.dominance_k, other.dominance_k),
                "p_percent": max(self.p_percent, other.p_percent),
                "rounding_base": max(bases) if bases else None,
                "review_votes": max(self.review_votes, other.review_votes),
                "perturbation": "cell-key"
                if "cell-key" in (self.perturbation, other.perturbation)
                else "none",
                "cell_key_max_noise": max(self.cell_key_max_noise, other.cell_key_max_noise),
                "cell_key_variance": max(self.cell_key_variance, other.cell_key_variance),
            }
        )


@dataclass(frozen=True)
class SumStats:
    """Per cell of the cube (same shape as the person counts) for a table of sums."""

    total: np.ndarray  # float64: the sum of the contributions
    top: np.ndarray  # float64, shape cube + (k,): the k largest per-person contributions, desc
    negative: np.ndarray  # int64: persons whose contribution is negative
    missing: np.ndarray  # int64: rows whose value is missing


@dataclass(frozen=True)
class Tabulation:
    """A table before checking. ``persons`` has one axis per dimension, each of length
    ``len(levels[i]) + 1``; the last position on an axis is the total over that dimension."""

    name: str
    title: str
    dimensions: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    persons: np.ndarray
    sums: SumStats | None = None
    value_name: str = "sum"
    notes: tuple[str, ...] = ()
    cell_keys: np.ndarray | None = None  # [0, 1) per cell, for the cell-key method

    def __post_init__(self) -> None:
        shape = tuple(len(lv) + 1 for lv in self.levels)
        if len(self.dimensions) != len(self.levels) or self.persons.shape != shape:
            raise ValueError(f"table {self.name}: the cube does not match its dimensions")
        if self.sums is not None and self.sums.total.shape != shape:
            raise ValueError(f"table {self.name}: the sums do not match the person counts")
        if self.cell_keys is not None and self.cell_keys.shape != shape:
            raise ValueError(f"table {self.name}: the cell keys do not match the person counts")

    @property
    def statistic(self) -> str:
        return "sum" if self.sums is not None else "persons"


@dataclass(frozen=True)
class CheckedTable:
    """The outcome for one table: what may be published and why the rest may not."""

    tabulation: Tabulation
    rules: DisclosureRules
    status: Status
    suppressed: np.ndarray  # bool, cube shape
    flags: dict[Check, np.ndarray]  # bool per check, cube shape
    published_persons: np.ndarray  # float64, NaN where suppressed (rounded if the rules say so)
    published_sums: np.ndarray | None
    reasons: list[str] = field(default_factory=list)

    @property
    def inner(self) -> tuple[slice, ...]:
        return tuple(slice(0, len(lv)) for lv in self.tabulation.levels)

    def counts(self) -> dict[Check, int]:
        return {check: int(mask.sum()) for check, mask in self.flags.items()}

    def summary(self) -> str:
        """ACRO's one-line summary: status, then each check that fired and its cell count."""
        parts = [
            f"{check.value}: {n} cells {'suppressed' if self.rules.suppress else 'disclosive'}"
            for check, n in self.counts().items()
            if n and check not in (Check.NEGATIVE, Check.MISSING)
        ]
        parts += [
            f"{check.value} values found in {n} cells"
            for check, n in self.counts().items()
            if n and check in (Check.NEGATIVE, Check.MISSING)
        ]
        return "; ".join([self.status.value, *parts])


def _lines(array: np.ndarray, axis: int) -> np.ndarray:
    """The cube as a 2-D copy, one row per line along ``axis``: ``[:, :-1]`` are the line's
    cells, ``[:, -1]`` its total."""
    return np.moveaxis(array, axis, -1).reshape(-1, array.shape[axis]).copy()


def _cube(lines: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Inverse of :func:`_lines`."""
    moved = (*shape[:axis], *shape[axis + 1 :], shape[axis])
    out: np.ndarray = np.moveaxis(lines.reshape(moved), -1, axis)
    return out


def recoverable(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Cells in ``hidden`` a reader can recompute from the published cells, assuming every
    total is the exact sum of its line (the attack :func:`check` must withstand)."""
    known = ~hidden
    vals = np.where(known, values, 0.0).astype(np.float64)
    changed = True
    while changed:
        changed = False
        for axis in range(values.ndim):
            k, v = _lines(known, axis), _lines(vals, axis)
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
            known, vals = _cube(k, values.shape, axis), _cube(v, values.shape, axis)
            changed = True
    leaked: np.ndarray = hidden & known
    return leaked


def _secondary(persons: np.ndarray, suppressed: np.ndarray) -> np.ndarray:
    """Hide more cells until no line has exactly one hidden entry. The partner chosen in a line
    is its smallest visible non-zero inner cell, else a visible zero cell, else the total."""
    hidden = suppressed.copy()
    added = True
    while added:
        added = False
        for axis in range(hidden.ndim):
            h = _lines(hidden, axis)
            lonely = np.flatnonzero(h.sum(axis=1) == 1)
            if not lonely.size:
                continue
            p = _lines(persons, axis)[lonely, :-1].astype(np.float64)
            cost = np.where(p > 0, p, np.float64(1e15))
            cost = np.where(h[lonely, :-1], np.inf, cost)
            if cost.shape[1]:
                best = np.argmin(cost, axis=1)
                has_inner = np.isfinite(cost[np.arange(lonely.size), best])
            else:
                best = np.zeros(lonely.size, np.intp)
                has_inner = np.zeros(lonely.size, bool)
            h[lonely[has_inner], best[has_inner]] = True
            h[lonely[~has_inner], -1] = True
            hidden = _cube(h, hidden.shape, axis)
            added = True
    return hidden


def _ancestor_patterns(d: int) -> list[tuple[int, ...]]:
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
    for axes in _ancestor_patterns(d):
        index = tuple(slice(-1, None) if i in axes else slice(None) for i in range(d))
        container, container_visible = persons[index], visible[index]
        inner = tuple(slice(0, -1) if i in axes else slice(None) for i in range(d))
        diff = container - persons[inner]  # broadcast: the container along the summed axes
        small = (diff > 0) & (diff < floor) & visible[inner] & container_visible
        bad[inner] |= small
    return bad


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


def _suppress(persons: np.ndarray, primary: np.ndarray, floor: int) -> np.ndarray:
    """Secondary suppression until stable: no line with one hidden entry (the additive attack),
    and no published cell within 1..``floor``-1 persons of a published cell containing it
    (distinct-person counts are not sums: a margin minus a cell is a count of persons)."""
    hidden = primary
    while True:
        hidden = _secondary(persons, hidden)
        close = nested_differences(persons, hidden, floor)
        if not close.any():
            return hidden
        hidden = hidden | close


def check(
    table: Tabulation, rules: DisclosureRules, history: np.ndarray | None = None
) -> CheckedTable:
    """Apply the rules to every cell and margin, suppress, attack the result, give a status.

    ``history`` (cube-shaped or flat, bool) marks cells that would differ by a few persons
    from a cell the recipient was shown before (:mod:`gateway.domain.ledger`): they are
    hidden like any disclosive cell."""
    persons = table.persons.astype(np.int64)
    if persons.size > MAX_CELLS:
        raise ValueError(f"table {table.name} has {persons.size} cells; at most {MAX_CELLS}")
    flags: dict[Check, np.ndarray] = {
        Check.THRESHOLD: (persons > 0) & (persons < rules.min_persons),
        Check.ZEROS: (persons == 0) if rules.zeros_disclosive else np.zeros_like(persons, bool),
    }
    if history is not None:
        flags[Check.DIFFERENCING] = np.asarray(history, bool).reshape(persons.shape)
    sums = table.sums
    if sums is not None:
        top = sums.top
        n = min(rules.dominance_n, top.shape[-1])
        top_n = top[..., :n].sum(axis=-1)
        x1 = top[..., 0]
        x2 = top[..., 1] if top.shape[-1] > 1 else np.zeros_like(x1)
        positive = sums.total > 0
        flags[Check.NK_RULE] = positive & (top_n > rules.dominance_k / 100.0 * sums.total)
        flags[Check.P_RATIO] = positive & (sums.total - x1 - x2 < rules.p_percent / 100.0 * x1)
        flags[Check.NEGATIVE] = sums.negative > 0
        flags[Check.MISSING] = sums.missing > 0
    primary = np.zeros(persons.shape, bool)
    for name in PRIMARY:
        if name in flags:
            primary |= flags[name]
    reasons: list[str] = []
    inner = tuple(slice(0, len(lv)) for lv in table.levels)
    rounding = rules.rounding_base if sums is None else None
    if not rules.suppress:
        suppressed = np.zeros(persons.shape, bool)
        status = Status.FAIL if primary.any() else Status.PASS
        if primary.any():
            reasons.append(
                f"{int(primary.sum())} cells are disclosive and the rules do not allow suppression"
            )
    else:
        suppressed = primary if rounding else _suppress(persons, primary, rules.min_persons)
        flags[Check.SECONDARY] = suppressed & ~primary
        status = Status.PASS
        if not (~suppressed[inner] & (persons[inner] > 0)).any():
            status = Status.FAIL
            reasons.append("suppression leaves no non-empty cell: nothing can be published")
        if not rounding:
            values = persons.astype(np.float64) if sums is None else sums.total
            leaked = recoverable(values, suppressed)
            if leaked.any():  # defence in depth: secondary suppression should prevent this
                status = Status.FAIL
                reasons.append(f"{int(leaked.sum())} suppressed cells can be recomputed")
            if nested_differences(persons, suppressed, rules.min_persons).any():
                status = Status.FAIL  # defence in depth, as above
                reasons.append("a published margin minus a published cell is a small count")
    if status is Status.PASS and sums is not None:
        if flags[Check.NEGATIVE].any():
            status = Status.REVIEW
            reasons.append("negative contributions: dominance rules are unreliable")
        if flags[Check.MISSING].any():
            status = Status.REVIEW
            reasons.append("missing values among the contributions")
    published = np.where(suppressed, np.nan, persons.astype(np.float64))
    if rules.perturbation == "cell-key":
        if table.cell_keys is None:
            raise ValueError(f"table {table.name}: the cell-key method needs cell keys")
        published = perturb(
            persons,
            table.cell_keys,
            published,
            max_noise=rules.cell_key_max_noise,
            variance=rules.cell_key_variance,
            floor=rules.min_persons,
        )
    if rounding:
        published = _round_and_recompute(published, table.levels, rounding)
    published_sums = None if sums is None else np.where(suppressed, np.nan, sums.total)
    return CheckedTable(table, rules, status, suppressed, flags, published, published_sums, reasons)
