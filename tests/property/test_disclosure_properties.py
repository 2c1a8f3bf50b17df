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

from gateway.domain.disclosure import (
    DisclosureRules,
    Method,
    Status,
    Tabulation,
    check,
    recoverable,
)


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
    rules = DisclosureRules(min_persons=k, zeros_disclosive=zeros, method=Method.SUPPRESSION)
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
    checked = check(table, DisclosureRules(suppress=False, method=Method.SUPPRESSION))
    small = (table.persons > 0) & (table.persons < 5)
    assert (checked.status is Status.FAIL) == bool(small.any())


@st.composite
def person_tables(draw: st.DrawFn) -> Tabulation:
    """Distinct-person tables from persons with several events each, so a person can sit in
    several cells of a dimension (months, municipalities): margins are counts of distinct
    persons, not sums of cells."""
    d = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 4)) for _ in range(d)]
    persons = draw(st.integers(0, 40))
    events = [
        [tuple(draw(st.integers(0, s - 1)) for s in sizes) for _ in range(draw(st.integers(1, 3)))]
        for _ in range(persons)
    ]
    cube = np.zeros([s + 1 for s in sizes], np.int64)
    for index in np.ndindex(*cube.shape):
        for person in events:  # in the cell if any event matches its non-total coordinates
            if any(all(c == sizes[i] or e[i] == c for i, c in enumerate(index)) for e in person):
                cube[index] += 1
    levels = tuple(tuple(f"v{i}" for i in range(s)) for s in sizes)
    return Tabulation("t", "t", tuple(f"d{i}" for i in range(d)), levels, cube)


def _contains(container: tuple[int, ...], cell: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    return container != cell and all(
        c == n - 1 or c == x for c, x, n in zip(container, cell, shape, strict=True)
    )


@settings(max_examples=300, deadline=None)
@given(person_tables(), st.integers(2, 8))
def test_no_published_difference_is_a_small_count_of_persons(table: Tabulation, k: int) -> None:
    """The attack of a recipient who knows everything published: every published cell minus
    every published cell it contains (an exact count of persons, additive or not), and every
    line solved as an exact sum. Nothing recovered is a count of 1 to k-1."""
    checked = check(table, DisclosureRules(min_persons=k, method=Method.SUPPRESSION))
    persons, shape = table.persons, table.persons.shape
    visible = [tuple(i) for i in np.argwhere(~checked.suppressed)]
    for cell in visible:
        assert not 0 < persons[cell] < k
        for container in visible:
            if _contains(container, cell, shape):
                difference = int(persons[container] - persons[cell])
                assert not 0 < difference < k, (cell, container, difference)
    if checked.status is not Status.FAIL:
        assert not recoverable(persons.astype(float), checked.suppressed).any()
