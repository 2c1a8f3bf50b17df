"""Properties of the checker on generated tables (1 to 3 dimensions, many small cells):

* every published cell, margins included, has zero or at least ``min_persons`` persons;
* no suppressed cell can be recomputed by an attacker who solves every row, column and total
  as an exact sum, however often the attack is repeated;
* the status is never ``pass`` when a disclosive cell is left visible.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.disclosure import DisclosureRules, Status, Tabulation, check, recoverable


@st.composite
def cubes(draw: st.DrawFn) -> Tabulation:
    d = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 5)) for _ in range(d)]
    inner = np.array(
        draw(
            st.lists(
                st.integers(0, 12) | st.sampled_from([0, 1, 2, 3, 4, 5]),
                min_size=int(np.prod(sizes)),
                max_size=int(np.prod(sizes)),
            )
        )
    ).reshape(sizes)
    cube = np.zeros([s + 1 for s in sizes], np.int64)
    cube[tuple(slice(0, s) for s in sizes)] = inner
    for axis in range(d):  # margins as sums (additive counts: the attacker's best case)
        index = [slice(None)] * d
        index[axis] = slice(-1, None)
        moved = [slice(None)] * d
        moved[axis] = slice(0, -1)
        cube[tuple(index)] = cube[tuple(moved)].sum(axis=axis, keepdims=True)
    levels = tuple(tuple(f"v{i}" for i in range(s)) for s in sizes)
    return Tabulation("t", "t", tuple(f"d{i}" for i in range(d)), levels, cube)


@settings(max_examples=400, deadline=None)
@given(cubes(), st.integers(2, 8), st.booleans())
def test_suppressed_cells_cannot_be_recomputed(table: Tabulation, k: int, zeros: bool) -> None:
    rules = DisclosureRules(min_persons=k, zeros_disclosive=zeros)
    checked = check(table, rules)
    visible = ~checked.suppressed
    persons = table.persons
    small = (persons > 0) & (persons < k)
    assert not (visible & small).any()
    if zeros:
        assert not (visible & (persons == 0)).any()
    leaked = recoverable(persons.astype(float), checked.suppressed)
    assert not leaked.any()
    if checked.status is Status.PASS:
        assert (visible & (persons > 0)).any()


@settings(max_examples=200, deadline=None)
@given(cubes())
def test_without_suppression_a_disclosive_table_fails(table: Tabulation) -> None:
    checked = check(table, DisclosureRules(suppress=False))
    small = (table.persons > 0) & (table.persons < 5)
    assert (checked.status is Status.FAIL) == bool(small.any())
