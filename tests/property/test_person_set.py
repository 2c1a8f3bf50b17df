"""The population set of distributed jobs answers exactly as a plain hash lookup does, with
members that share their first eight bytes too (where it must not confuse them)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dataplane.person_set import PersonSet

_PSEUDONYM = st.binary(min_size=32, max_size=32)
# Pseudonyms from a small pool of first-eight-byte prefixes: shared prefixes are common here.
_CLASHING = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from([b"\x00" * 8, b"\xff" * 8, b"abcdefgh"]),
    st.binary(min_size=24, max_size=24),
)


@settings(max_examples=200, deadline=None)
@given(
    members=st.lists(st.one_of(_PSEUDONYM, _CLASHING), max_size=40),
    others=st.lists(st.one_of(_PSEUDONYM, _CLASHING), max_size=40),
    offset=st.integers(0, 3),
)
def test_membership_is_the_hash_lookups(
    members: list[bytes], others: list[bytes], offset: int
) -> None:
    population = pa.array(members, pa.binary(32))
    asked = pa.array(others + members + others, pa.binary(32)).slice(offset)
    found = PersonSet.unpacked(PersonSet.of(population).packed()).contains(asked)
    assert found.to_pylist() == pc.is_in(asked, value_set=population).to_pylist()


def test_a_set_of_distinct_prefixes_answers_by_search() -> None:
    members = [bytes([i]) * 32 for i in range(1, 200)]
    person_set = PersonSet.of(pa.array(members, pa.binary(32)))
    asked = pa.array([bytes([i]) * 31 + b"\x00" for i in range(1, 200)] + members, pa.binary(32))
    assert person_set.contains(asked).to_pylist() == [False] * 199 + [True] * 199
    assert len(person_set) == 199
