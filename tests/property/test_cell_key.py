"""The cell-key method: consistent, bounded noise that never shows a count under the threshold,
a p-table in the layout statistics offices publish, and the same answer as the UK Office for
National Statistics' own implementation (its ``cell-key-perturbation`` package) on the same
record keys and p-table."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from cell_key_perturbation.create_perturbed_table import create_perturbed_table
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dataplane.ingest import PERSON
from gateway.dataplane.tabulate import Dimension, count_persons
from gateway.domain.disclosure import DisclosureRules, Method, check
from gateway.domain.disclosure.protection import publish
from gateway.domain.disclosure.ptable import MAX_PCV, N_KEYS, generated, load

RULES = DisclosureRules(method=Method.CELL_KEY, cell_key_max_noise=2, cell_key_variance=1.0)
DIMS = [Dimension("d1", "d1", ("a", "b", "c")), Dimension("d2", "d2", ("x", "y"))]


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
    assert np.all(np.abs(published - truth[shown]) <= RULES.cell_key_max_noise)
    # Nothing under the threshold is shown but an empty cell, as it is (zeros are not
    # disclosive by default).
    assert np.all((published >= RULES.min_persons) | ((published == 0) & (truth[shown] == 0)))
    empty = first.published_persons[truth == 0]
    assert np.all((empty == 0) | np.isnan(empty))  # shown as 0, or hidden as a partner
    assert np.all(first.lower[shown] <= truth[shown]) and np.all(truth[shown] <= first.upper[shown])


def test_the_generated_p_table_is_unbiased_with_the_stated_variance() -> None:
    table = generated(2, 1.0)
    assert table.pvalue.shape == (MAX_PCV + 1, N_KEYS)
    for v in (5, 10, 100, MAX_PCV):  # rows with the whole support -2..2
        noise = table.pvalue[v]
        assert abs(noise.mean()) < 0.01 and abs(noise.var() - 1.0) < 0.02
        assert noise.min() == -2 and noise.max() == 2
    for v in range(1, 4):  # small counts: never negative, still unbiased
        assert (v + table.pvalue[v] >= 0).all() and abs(table.pvalue[v].mean()) < 0.02


def test_an_office_p_table_round_trips_through_the_published_layout(tmp_path: Path) -> None:
    table = generated(3, 2.0)
    path = tmp_path / "ptable.csv"
    path.write_text(table.csv_text())
    np.testing.assert_array_equal(load(path).pvalue, table.pvalue)
    broken = tmp_path / "broken.csv"
    broken.write_text('"pcv","ckey","pvalue"\n1,0,-2\n')
    with pytest.raises(ValueError):
        load(broken)


@pytest.mark.parametrize("variance", [0.5, 1.0, 2.0])
def test_the_same_answer_as_the_office_for_national_statistics(variance: float) -> None:
    """A known-answer test on the same record keys and p-table: ONS's package counts one row
    per person and cell (it tabulates units, not events), so the persons are given one row
    each; its cell key is the sum of record keys modulo 256, like ours. Its threshold turns
    counts under it into NA, as ours hides them."""
    rng = np.random.default_rng(int(variance * 10))
    n = 3000
    keys = rng.integers(0, 256, n, dtype=np.uint8)
    persons = [bytes(31) + bytes([k]) for k in keys]
    persons = [p[:-9] + i.to_bytes(8, "big") + p[-1:] for i, p in enumerate(persons)]
    d1 = rng.choice(["a", "b", "c"], n, p=[0.6, 0.35, 0.05])
    d2 = rng.choice(["x", "y"], n, p=[0.97, 0.03])
    table = generated(2, variance)
    tab = count_persons(
        "t", "t", pa.table({PERSON: pa.array(persons, pa.binary(32)), "d1": d1, "d2": d2}), DIMS
    )
    rules = RULES.model_copy(update={"cell_key_variance": variance})
    hidden = np.zeros(tab.persons.shape, bool)
    ours = publish(
        tab.persons, hidden, rules, tab.levels, key_sums=tab.key_sums, ptable=table
    ).values
    ptable = pd.DataFrame(
        {
            "pcv": np.repeat(np.arange(1, MAX_PCV + 1), N_KEYS),
            "ckey": np.tile(np.arange(N_KEYS), MAX_PCV),
            "pvalue": table.pvalue[1:].ravel(),
        }
    )
    micro = pd.DataFrame({"d1": d1, "d2": d2, "rkey": keys.astype(int)})
    theirs = create_perturbed_table(
        micro, ptable, [], ["d1", "d2"], "rkey", use_existing_ons_id=False, threshold=5
    )
    assert len(theirs) == 6
    perturbed = 0
    for _, row in theirs.iterrows():
        i, j = "abc".index(row["d1"]), "xy".index(row["d2"])
        if pd.isna(row["count"]):
            assert np.isnan(ours[i, j]), (row["d1"], row["d2"], ours[i, j])
        else:
            assert ours[i, j] == row["count"], (row["d1"], row["d2"], ours[i, j], row["count"])
            perturbed += int(row["count"] != tab.persons[i, j])
    assert perturbed > 0  # the noise did change some counts
