"""The cell-key method: consistent, bounded noise that never publishes a small count."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dataplane.ingest import PERSON
from gateway.dataplane.tabulate import Dimension, count_persons
from gateway.domain.cell_key import noise_table
from gateway.domain.disclosure import DisclosureRules, check

RULES = DisclosureRules(perturbation="cell-key", cell_key_max_noise=2, cell_key_variance=1.0)


@st.composite
def events(draw: st.DrawFn) -> pa.Table:
    persons = draw(st.integers(1, 60))
    keys = [os.urandom(32) for _ in range(persons)]
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, persons - 1), st.sampled_from("abc"), st.sampled_from("xy")),
            min_size=1,
            max_size=200,
        )
    )
    return pa.table(
        {
            PERSON: pa.array([keys[p] for p, _, _ in rows], pa.binary(32)),
            "d1": [a for _, a, _ in rows],
            "d2": [b for _, _, b in rows],
        }
    )


DIMS = [Dimension("d1", "d1", ("a", "b", "c")), Dimension("d2", "d2", ("x", "y"))]


@settings(max_examples=150, deadline=None)
@given(events())
def test_noise_is_bounded_consistent_and_never_small(table: pa.Table) -> None:
    first = check(count_persons("t", "t", table, DIMS), RULES)
    # The same persons in another order, in another table: the same published counts.
    shuffled = table.take(np.random.default_rng(1).permutation(table.num_rows))
    again = check(count_persons("t", "t", shuffled, DIMS), RULES)
    np.testing.assert_array_equal(first.published_persons, again.published_persons)
    truth = first.tabulation.persons
    shown = ~np.isnan(first.published_persons)
    published = first.published_persons[shown]
    assert np.all(np.abs(published - truth[shown]) <= 2 + RULES.min_persons)
    assert np.all((published == 0) | (published >= RULES.min_persons))
    assert np.all(published[truth[shown] == 0] == 0)
    big = shown & (truth >= RULES.min_persons + 2)
    assert np.all(np.abs(first.published_persons[big] - truth[big]) <= 2)


def test_the_noise_distribution_has_the_configured_spread() -> None:
    values, cumulative = noise_table(2, 1.0)
    p = np.diff(np.concatenate([[0.0], cumulative]))
    assert list(values) == [-2, -1, 0, 1, 2] and abs(p.sum() - 1) < 1e-12
    assert abs(float((p * values).sum())) < 1e-12  # unbiased
    assert 0.5 < float((p * values**2).sum()) < 1.0  # truncation lowers the variance
