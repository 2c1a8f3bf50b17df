"""The quality counter, batch by batch, gives what a plain computation over the whole delivery
gives: wherever the batches are cut, repeats across batches included."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dataplane.ingest import _Checker
from gateway.dataplane.quality import QualityCounter
from gateway.domain.catalogue import Catalogue
from gateway.domain.policy_files import load_catalogue
from tests.conftest import POLICIES

CATALOGUE: Catalogue = load_catalogue(POLICIES)
LPR = CATALOGUE.datasets["lpr"]
MUNICIPALITIES = list(CATALOGUE.municipalities)
FIRST, LAST = dt.date(2016, 11, 1), dt.date(2016, 11, 30)

cprs = st.sampled_from(["0101801111", "0202802222", "0303803333", "0404804444"])
days = st.integers(-70, 70).map(lambda d: FIRST + dt.timedelta(days=d))
rows = st.tuples(
    cprs,
    st.sampled_from(["101", "147", "151"]),
    days,
    st.one_of(st.none(), st.integers(0, 40)),
    st.sampled_from(["somatisk", "psykiatrisk"]),
    st.sampled_from(["A", "F"]),
)


def _reference(data: list[tuple[Any, ...]]) -> dict[str, Any]:
    before = after = 0
    by_code: dict[str, int] = {}
    for _cpr, kommune, start, length, _kind, _chapter in data:
        end = None if length is None else start + dt.timedelta(days=length)
        after += start > LAST
        before += end is not None and end < FIRST
        by_code[kommune] = by_code.get(kommune, 0) + 1
    keyed = [
        (c, k, s, None if n is None else s + dt.timedelta(days=n), t, d)
        for c, k, s, n, t, d in data
    ]
    return {
        "rows": len(data),
        "missing_end": sum(r[3] is None for r in data),
        "before": before,
        "after": after,
        "by_code": by_code,
        "duplicates": len(keyed) - len(set(keyed)),
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(rows, min_size=1, max_size=40), st.lists(st.integers(1, 40), max_size=4))
def test_counts_match_a_plain_computation_wherever_batches_are_cut(
    data: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    def text(i: int) -> list[str]:
        out = []
        for r in data:
            value = r[i]
            if i == 3:
                value = "" if value is None else (r[2] + dt.timedelta(days=value)).isoformat()
            out.append(value.isoformat() if isinstance(value, dt.date) else str(value))
        return out

    table = pa.table(
        {name: pa.array(text(i), pa.string()) for i, name in enumerate(LPR.column_names)}
    )
    edges = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    batches = [
        batch
        for lo, hi in itertools.pairwise(edges)
        for batch in table.slice(lo, hi - lo).to_batches()
    ]
    counter = QualityCounter(LPR, "2016-11", MUNICIPALITIES)
    checker = _Checker(iter(batches), LPR, pa.array(MUNICIPALITIES), counter)
    while checker.next() is not None:
        pass
    got = counter.figures(persons=0)
    want = _reference(data)
    assert got["rows"] == want["rows"]
    assert got["columns"]["contact_end"]["missing"] == want["missing_end"]
    assert got["events"]["before_period"] == want["before"]
    assert got["events"]["after_period"] == want["after"]
    assert got["municipalities"]["rows"] == want["by_code"]
    assert got["duplicates"]["rows"] == want["duplicates"]
