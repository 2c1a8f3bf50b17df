"""The set of persons seen gives, natively and in its fallback, what a Python set gives."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dataplane import number_set
from gateway.dataplane.number_set import NumberSet

numbers = st.integers(0, 9_999_999_999) | st.integers(0, 40)  # CPRs, and many repeats
batches = st.lists(st.lists(numbers, max_size=60), min_size=1, max_size=8)


def test_the_native_set_is_built_where_required() -> None:
    if os.environ.get("GATEWAY_REQUIRE_NATIVE") == "1":
        assert number_set._native is not None, "gateway.dataplane._number_set did not build"


def _expected(seen: set[int], batch: list[int]) -> list[int]:
    positions = []
    for i, value in enumerate(batch):
        if value not in seen:
            seen.add(value)
            positions.append(i)
    return positions


@pytest.mark.parametrize("native", [True, False])
@settings(max_examples=150, deadline=None)
@given(batches, st.integers(1, 200))
def test_new_positions_equal_a_python_set(
    native: bool, batches: list[list[int]], bound: int
) -> None:
    if native and number_set._native is None:
        pytest.skip("the native set is not built on this machine")
    saved = number_set._native
    try:
        if not native:
            number_set._native = None
        members = NumberSet(max_entries=bound)
        seen: set[int] = set()
        for batch in batches:
            if len(seen) + len(batch) > bound:
                seen = set()  # the bound: everything is forgotten, then the batch is added
            got = members.add_new(np.array(batch, dtype=np.int64)).tolist()
            assert got == _expected(seen, batch)
            assert len(members) == len(seen)
    finally:
        number_set._native = saved


def test_the_table_grows_past_its_first_size() -> None:
    members = NumberSet()
    first = np.arange(0, 300_000, dtype=np.int64) * 7919
    assert len(members.add_new(first)) == len(first)
    again = np.concatenate([first[::-1], first + 1])
    new = members.add_new(again)
    assert np.array_equal(new, np.arange(len(first), 2 * len(first)))
    assert len(members) == 2 * len(first)


@pytest.mark.skipif(number_set._native is None, reason="the native set is not built")
def test_the_kernel_refuses_bad_tables_and_numbers() -> None:
    kernel = number_set._native
    assert kernel is not None
    out = np.empty(4, dtype=np.int64)
    with pytest.raises(ValueError, match="power of two"):
        kernel.add_new(np.zeros(3, dtype=np.uint64), np.arange(2, dtype=np.int64), out)
    with pytest.raises(ValueError, match="shorter"):
        kernel.add_new(np.zeros(8, dtype=np.uint64), np.arange(6, dtype=np.int64), out)
    with pytest.raises(ValueError, match="non-negative"):
        kernel.add_new(np.zeros(8, dtype=np.uint64), np.array([-1], dtype=np.int64), out)
    with pytest.raises(ValueError, match="full"):
        kernel.add_new(np.zeros(2, dtype=np.uint64), np.arange(3, dtype=np.int64), out)
