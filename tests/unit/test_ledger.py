"""The disclosure ledger's comparisons: the same cell, a cell inside a recorded one, a cell
containing a recorded one, a cell whose label implies a recorded one's, in periods with a
month in common, and only where what is published pins the difference."""

from __future__ import annotations

import numpy as np

from gateway.domain.disclosure import Tabulation
from gateway.domain.disclosure.ledger import (
    LedgerCells,
    differencing,
    edges,
    table_cells,
    variable_ids,
)
from gateway.domain.disclosure.ledger import implications as implied_of

SOURCE = "dataset:dfdg-indsats"


def _table(dims: tuple[str, ...], levels: tuple[tuple[str, ...], ...], cube: list) -> Tabulation:
    return Tabulation("t", "t", dims, levels, np.array(cube, np.int64))


def _exact(cells: LedgerCells) -> LedgerCells:
    counts = cells.persons.astype(float)
    return cells.published(counts, counts)


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
    old = _exact(table_cells(KOMMUNE, SOURCE, "2016-11", "2016-11"))
    new = _exact(table_cells(BY_GENDER, SOURCE, "2016-11", "2016-11"))
    hit = differencing(new, old, 5, 4).reshape(BY_GENDER.persons.shape)
    assert hit[0, 1]  # (101, M) = 17 inside (101) = 20
    assert not hit[0, 2]  # (101, Total) = 20: the same count as before
    assert not hit[1].any()  # 147: 15 and 15 inside 30 - differences of 15


def test_a_cell_containing_a_recorded_cell_is_compared() -> None:
    old = _exact(table_cells(BY_GENDER, SOURCE, "2016-11", "2016-11"))
    new = _exact(table_cells(KOMMUNE, SOURCE, "2016-11", "2016-11"))
    hit = differencing(new, old, 5, 4)
    assert hit[0] and not hit[1] and not hit[2]  # (101) = 20 contains (101, M) = 17


def test_periods_without_a_common_month_and_other_sources_are_not_compared() -> None:
    old = _exact(table_cells(KOMMUNE, SOURCE, "2016-10", "2016-10"))
    shifted = _table(("kommune",), (("101", "147"),), [22, 31, 53])
    assert not differencing(
        _exact(table_cells(shifted, SOURCE, "2016-11", "2016-11")), old, 5, 4
    ).any()
    assert differencing(_exact(table_cells(shifted, SOURCE, "2016-10", "2016-11")), old, 5, 4).any()
    other = _exact(table_cells(shifted, "dataset:lpr", "2016-10", "2016-10"))
    assert not differencing(other, old, 5, 4).any()


def test_a_difference_hidden_by_noise_or_suppression_is_not_a_hit() -> None:
    """What matters is what a reader can pin: two perturbed values (each known to +/-2) leave
    the difference 8 wide; a hidden recorded cell leaves it unbounded."""
    old = table_cells(KOMMUNE, SOURCE, "2016-11", "2016-11")
    new = table_cells(BY_GENDER, SOURCE, "2016-11", "2016-11")
    noisy = lambda c: c.published(c.persons - 2.0, c.persons + 2.0)  # noqa: E731
    assert not differencing(noisy(new), noisy(old), 5, 4).any()
    hidden = old.published(np.zeros(len(old)), np.full(len(old), np.inf))
    assert not differencing(_exact(new), hidden, 5, 4).any()


LPR = _table(
    ("diagnosis_chapter",),
    (("E", "F"),),
    [40, 11, 51],
)
PSYCH = Tabulation(
    "t",
    "t",
    ("contact_type",),
    (("somatisk", "psykiatrisk"),),
    np.array([45, 8, 51], np.int64),
    implications=((("contact_type", "psykiatrisk"), ("diagnosis_chapter", "F")),),
)


def test_a_category_implied_by_another_nests_across_tables() -> None:
    """Persons with a chapter F diagnosis (11) minus persons with a psychiatric contact (8),
    which always has a chapter F diagnosis, are three persons: the nesting runs between two
    variables, and the ledger sees it."""
    old = _exact(table_cells(LPR, "dataset:lpr", "2016-11", "2016-11"))
    new = _exact(table_cells(PSYCH, "dataset:lpr", "2016-11", "2016-11"))
    hit = differencing(new, old, 5, 4, implied_of(PSYCH))
    assert hit[1] and not hit[0]
    assert not differencing(new, old, 5, 4).any()  # without the implication: unrelated
    ids = [variable_ids(c, "b") for c in (old, new)]
    assert (int(ids[1][1]), int(ids[0][1])) in edges([old, new], ids, implied_of(PSYCH))
