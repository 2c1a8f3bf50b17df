"""The release ledger's comparisons: the same cell, a cell inside a recorded one, a cell
containing a recorded one, in periods with a month in common."""

from __future__ import annotations

import numpy as np

from gateway.domain.disclosure import Tabulation
from gateway.domain.ledger import differencing, table_cells

SOURCE = "dataset:dfdg-indsats"


def _table(dims: tuple[str, ...], levels: tuple[tuple[str, ...], ...], cube: list) -> Tabulation:
    return Tabulation("t", "t", dims, levels, np.array(cube, np.int64))


KOMMUNE = _table(("kommune",), (("101", "147"),), [20, 30, 50])  # 101, 147, Total
BY_GENDER = _table(
    ("kommune", "gender"),
    (("101", "147"), ("F", "M")),
    # rows: 101, 147, Total; columns: F, M, Total
    [[3, 17, 20], [15, 15, 30], [18, 32, 50]],
)


def test_a_cell_inside_a_recorded_cell_is_compared() -> None:
    """Municipality 101 was published as 20; a later 101 x M cell of 17 would give away the 3
    women of 101 (20 - 17)."""
    old = table_cells(KOMMUNE, SOURCE, "2016-11", "2016-11")
    new = table_cells(BY_GENDER, SOURCE, "2016-11", "2016-11")
    hit = differencing(new, old, 5).reshape(BY_GENDER.persons.shape)
    assert hit[0, 1]  # (101, M) = 17 inside (101) = 20
    assert not hit[0, 2]  # (101, Total) = 20: the same count as before
    assert not hit[1].any()  # 147: 15 and 15 inside 30 - differences of 15


def test_a_cell_containing_a_recorded_cell_is_compared() -> None:
    old = table_cells(BY_GENDER, SOURCE, "2016-11", "2016-11")
    new = table_cells(KOMMUNE, SOURCE, "2016-11", "2016-11")
    hit = differencing(new, old, 5)
    assert hit[0] and not hit[1] and not hit[2]  # (101) = 20 contains (101, M) = 17


def test_periods_without_a_common_month_and_other_sources_are_not_compared() -> None:
    old = table_cells(KOMMUNE, SOURCE, "2016-10", "2016-10")
    shifted = _table(("kommune",), (("101", "147"),), [22, 31, 53])
    assert not differencing(table_cells(shifted, SOURCE, "2016-11", "2016-11"), old, 5).any()
    assert differencing(table_cells(shifted, SOURCE, "2016-10", "2016-11"), old, 5).any()
    other = table_cells(shifted, "dataset:lpr", "2016-10", "2016-10")
    assert not differencing(other, old, 5).any()
