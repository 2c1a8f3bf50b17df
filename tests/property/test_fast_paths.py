"""The data plane's fast paths give exactly what the plain Arrow operations give.

Each fast path (integer encodings of CPRs and digests, the cross-batch pseudonym cache, the
prefix-then-confirm population filter, integer sort keys for releases) is checked against the
straightforward computation on generated inputs, including the corner cases the fast path
must fall back on: non-digit strings, 8-byte prefix collisions, the cache's memory bound.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.encoding import subjects_digest
from gateway.crypto import pseudonyms as ps
from gateway.dataplane import column_checks
from gateway.dataplane.link import _release_order, members
from gateway.dataplane.persons import InternalPseudonymiser
from gateway.domain.catalogue import Column, ColumnType

KEY = b"k" * 32
cprs = st.text(alphabet="0123456789", min_size=10, max_size=10)
odd = st.sampled_from(["0101000000", "x", "", "01010000001", "abcdefghij"])


@settings(max_examples=200, deadline=None)
@given(st.lists(cprs | odd, min_size=1, max_size=60))
def test_encoding_matches_dictionary_encode(values: list[str]) -> None:
    array = pa.array(values)
    distinct, indices = ps._encode(array)
    assert pc.take(distinct, indices).equals(array)
    assert len(distinct) == len(set(values))


@st.composite
def digests(draw: st.DrawFn) -> list[bytes]:
    base = draw(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=20))
    # Collisions on the first 8 bytes with different tails must not be merged.
    twins = [b[:8] + bytes(255 - x for x in b[8:]) for b in base[: draw(st.integers(0, 3))]]
    pool = base + twins
    return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=80))


@settings(max_examples=200, deadline=None)
@given(digests())
def test_digest_encoding_never_merges_prefix_twins(values: list[bytes]) -> None:
    array = pa.array(values, pa.binary(32))
    distinct, indices = ps._encode(array)
    assert pc.take(distinct, indices).equals(array)
    assert len(distinct) == len(set(values))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(cprs, min_size=1, max_size=40), min_size=1, max_size=6),
    st.integers(1, 50),
)
def test_the_cross_batch_cache_equals_hmac(batches: list[list[str]], bound: int) -> None:
    pseudonymise = InternalPseudonymiser(KEY, max_entries=bound)
    seen: set[str] = set()
    for batch in batches:
        out = pseudonymise(pa.array(batch)).to_pylist()
        assert out == [hmac.new(KEY, v.encode(), hashlib.sha256).digest() for v in batch]
        fresh, fresh_digests = pseudonymise.fresh
        assert set(fresh.to_pylist()) <= set(batch)
        assert len(fresh) == len(set(fresh.to_pylist()))
        assert fresh_digests.to_pylist() == [
            hmac.new(KEY, v.encode(), hashlib.sha256).digest() for v in fresh.to_pylist()
        ]
        if bound >= 1000:  # never forgets: each value is fresh exactly once
            assert not (set(fresh.to_pylist()) & seen)
        seen |= set(batch)


@settings(max_examples=200, deadline=None)
@given(digests(), digests())
def test_population_filter_equals_is_in(persons: list[bytes], population: list[bytes]) -> None:
    values = pa.array(persons, pa.binary(32))
    members_of = pc.unique(pa.array(population, pa.binary(32)))
    assert members(values, members_of).equals(pc.is_in(values, value_set=members_of))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["b3", "a1", "c2", "a0"]),
            st.integers(0, 5),
            st.sampled_from(["lpr", "dfdg-indsats", "ssr"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_release_order_equals_sorting_on_the_strings(rows: list[tuple[str, int, str]]) -> None:
    table = pa.table(
        {
            "person": [r[0] for r in rows],
            "event_start": pa.array([r[1] for r in rows], pa.int32()).cast(pa.date32()),
            "dataset": [r[2] for r in rows],
        }
    )
    expected = table.sort_by(
        [("person", "ascending"), ("event_start", "ascending"), ("dataset", "ascending")]
    )
    ours = table.take(_release_order(table, "person"))
    assert ours.select(["person", "event_start", "dataset"]).equals(expected)


def test_subject_keys_are_distinct_sorted_and_keyed() -> None:
    internal = ps.internal_pseudonyms(pa.array([f"{i:010d}" for i in range(500)] * 3), KEY)
    keys = ps.subject_keys(internal, b"s" * 32)
    assert len(keys) == 500 == len(set(keys))
    assert list(keys) == sorted(keys) and all(len(k) == 16 for k in keys)
    assert keys.digest() == subjects_digest(list(keys))  # the packed form commits the same
    assert ps.subject_keys(internal, b"s" * 32).packed == keys.packed
    assert not set(ps.subject_keys(internal, b"t" * 32)) & set(keys)


texts = st.text(alphabet=st.sampled_from(list("0123456789-ab \t\u00a0é\n")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts | st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"), max_size=30))
def test_cleaning_skips_only_what_trimming_would_not_change(values: list[str]) -> None:
    array = pa.array(values, pa.string())
    trimmed = pc.utf8_trim_whitespace(array)
    expected = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    assert column_checks.clean(array).equals(expected)


dates = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    st.text(alphabet="0123456789-/ ", min_size=10, max_size=10),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(dates, min_size=1, max_size=30))
def test_date_cast_fast_path_accepts_exactly_what_the_row_check_accepts(
    values: list[str],
) -> None:
    array = pa.array(values, pa.string())
    typed, ok = column_checks.parse_dates(array)
    column = Column(name="d", type=ColumnType.DATE)
    result = column_checks.check_column(column, array, pa.array([], pa.string()))
    if result.invalid is None:  # the fast path: every value accepted by Arrow's cast
        assert pc.all(ok).as_py()
        assert result.typed.equals(typed)
    else:
        assert not pc.all(ok).as_py()
        assert result.invalid.equals(pc.invert(ok))


as_delivered_columns = {
    "cpr": (Column(name="cpr", type=ColumnType.CPR), st.from_regex(r"\A[0-9]{6}-?[0-9]{4}\Z")),
    "date": (Column(name="d", type=ColumnType.DATE), dates),
    "category": (
        Column(name="c", type=ColumnType.CATEGORY, values=("ja", "nej")),
        st.sampled_from(["ja", "nej"]),
    ),
    "municipality": (
        Column(name="m", type=ColumnType.MUNICIPALITY),
        st.sampled_from(["101", "147", "751"]),
    ),
}
spoilers = st.sampled_from(["", " ", " ja", "nej\t", "101 ", "x", "0101701234 ", "2016-02-30"])


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(as_delivered_columns)),
    st.data(),
)
def test_checking_as_delivered_agrees_with_the_full_check(kind: str, data: st.DataObject) -> None:
    column, valid = as_delivered_columns[kind]
    values = data.draw(st.lists(valid | spoilers | st.none(), min_size=1, max_size=30))
    raw = pa.array(values, pa.string())
    municipalities = pa.array(["101", "147", "751"], pa.string())
    fast = column_checks.check_as_delivered(column, raw, municipalities)
    full = column_checks.check_column(column, column_checks.clean(raw), municipalities)
    problems = [
        m for m in (full.invalid, full.extra_invalid) if m is not None and pc.any(m).as_py()
    ]
    clean = raw.null_count == 0 and "" not in values and not problems
    clean = clean and all(v == v.strip() for v in values if v is not None)
    if fast is None:
        assert not clean  # the full check runs only where trimming or a problem is possible
        return
    assert clean, "the fast path accepted a column the full check finds fault with"
    assert fast.typed.equals(full.typed)
    assert (fast.numbers is None) == (full.numbers is None)
    if fast.numbers is not None and full.numbers is not None:
        assert (fast.numbers == full.numbers).all()
