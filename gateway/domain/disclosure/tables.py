"""Tables as the checker sees them: dense cubes with their margins, before and after checking.

A table is a dense *cube*: one axis per dimension, each axis holding the dimension's categories
followed by one extra position for the total over that dimension. So a municipality x month
table of 98 x 12 categories is a 99 x 13 array whose last row, last column and corner are the
margins. Holding every margin in the same array is what lets the rules apply to margins and
sub-tables exactly as to inner cells, and what makes a *line* (the categories of one dimension
with the others fixed, plus their total) a plain array slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gateway.domain.disclosure.rules import Check, DisclosureRules, Status

TOTAL = "Total"
MAX_CELLS = 2_000_000


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
    ``len(levels[i]) + 1``; the last position on an axis is the total over that dimension.
    ``key_sums`` (same shape) is the sum of each cell's distinct persons' record keys, for
    the cell-key method; ``implications`` are the dimension labels whose persons lie inside
    another label's (``(("contact_type", "psykiatrisk"), ("diagnosis_chapter", "F"))``),
    declared in the catalogue or found in the data."""

    name: str
    title: str
    dimensions: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    persons: np.ndarray
    sums: SumStats | None = None
    value_name: str = "sum"
    notes: tuple[str, ...] = ()
    key_sums: np.ndarray | None = None
    implications: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = ()

    def __post_init__(self) -> None:
        shape = tuple(len(lv) + 1 for lv in self.levels)
        if len(self.dimensions) != len(self.levels) or self.persons.shape != shape:
            raise ValueError(f"table {self.name}: the cube does not match its dimensions")
        if self.sums is not None and self.sums.total.shape != shape:
            raise ValueError(f"table {self.name}: the sums do not match the person counts")
        if self.key_sums is not None and self.key_sums.shape != shape:
            raise ValueError(f"table {self.name}: the cell keys do not match the person counts")

    @property
    def statistic(self) -> str:
        return "sum" if self.sums is not None else "persons"

    @property
    def inner(self) -> tuple[slice, ...]:
        return tuple(slice(0, len(lv)) for lv in self.levels)


@dataclass(frozen=True)
class AuditSummary:
    """What the LP audit did for a table: how many protected quantities it bounded, with
    how many linear programs, in how long, and what it could not prove."""

    quantities: int = 0
    solves: int = 0
    seconds: float = 0.0
    rounds: int = 0
    linked_tables: int = 0
    narrowest: float | None = None  # the narrowest interval left on a protected quantity
    unproven: int = 0
    solver: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "protected_quantities": self.quantities,
            "linear_programs": self.solves,
            "seconds": round(self.seconds, 3),
            "rounds": self.rounds,
            "linked_tables": self.linked_tables,
            "narrowest_interval": self.narrowest,
            "unproven": self.unproven,
            "solver": self.solver,
        }


@dataclass(frozen=True)
class CheckedTable:
    """The outcome for one table: what may be published and why the rest may not.
    ``lower``/``upper`` are what a reader learns about each true person count from the
    published value alone (equal for an exact count, the p-table's or the rounding's range
    for a protected one, 0 and infinity for a hidden one): the ledger keeps them, and the LP
    audit starts from them."""

    tabulation: Tabulation
    rules: DisclosureRules
    status: Status
    suppressed: np.ndarray  # bool, cube shape: not shown
    flags: dict[Check, np.ndarray]  # bool per check, cube shape
    published_persons: np.ndarray  # float64, NaN where not shown
    published_sums: np.ndarray | None
    lower: np.ndarray  # float64: least true count consistent with what is published
    upper: np.ndarray  # float64: greatest (inf where hidden)
    reasons: list[str] = field(default_factory=list)
    audit: AuditSummary = field(default_factory=AuditSummary)

    @property
    def inner(self) -> tuple[slice, ...]:
        return self.tabulation.inner

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


def lines(array: np.ndarray, axis: int) -> np.ndarray:
    """The cube as a 2-D copy, one row per line along ``axis``: ``[:, :-1]`` are the line's
    cells, ``[:, -1]`` its total."""
    return np.moveaxis(array, axis, -1).reshape(-1, array.shape[axis]).copy()


def from_lines(rows: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Inverse of :func:`lines`."""
    moved = (*shape[:axis], *shape[axis + 1 :], shape[axis])
    out: np.ndarray = np.moveaxis(rows.reshape(moved), -1, axis)
    return out


def line_positions(shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Flat (C order) cube positions of every line along ``axis``, laid out as :func:`lines`."""
    return lines(np.arange(int(np.prod(shape))).reshape(shape), axis)
