"""CPR format and date checks: the vectorised check agrees with the scalar reference."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import cpr


def test_century_rules_follow_the_cpr_office_table() -> None:
    assert cpr.birth_date("010170-0000") == dt.date(1970, 1, 1)  # serial 0-3: 1900s
    assert cpr.birth_date("010120-4000") == dt.date(2020, 1, 1)  # 4, yy <= 36: 2000s
    assert cpr.birth_date("010170-4000") == dt.date(1970, 1, 1)  # 4, yy > 36: 1900s
    assert cpr.birth_date("010150-5000") == dt.date(2050, 1, 1)  # 5-8, yy <= 57: 2000s
    assert cpr.birth_date("010170-5000") == dt.date(1870, 1, 1)  # 5-8, yy > 57: 1800s
    assert cpr.birth_date("010120-9000") == dt.date(2020, 1, 1)  # 9, yy <= 36: 2000s
    assert cpr.birth_date("010170-9000") == dt.date(1970, 1, 1)  # 9, yy > 36: 1900s


def test_modulus_11_is_not_required() -> None:
    # 010190-1235 fails the old modulus-11 check but is a valid CPR since 2007.
    assert cpr.birth_date("0101901235") is not None


def test_vectorised_check_flags_format_and_date_separately() -> None:
    values = pa.array(
        [
            "010203-1234",
            "0102031234",
            "300216-1234",
            "29021 1234",
            "12345",
            "290200-4234",
            "290200-1234",
            "311299-4000",
        ]
    )
    result = cpr.check(values)
    assert result.malformed.to_pylist() == [False, False, False, True, True, False, False, False]
    # 30 Feb does not exist. Serial 4 with yy 00 is 2000 (a leap year), so 29 Feb is a date;
    # serial 1 with yy 00 is 1900, which is no leap year.
    assert result.bad_date.to_pylist() == [False, False, True, False, False, False, True, False]
    assert result.normalised.to_pylist()[:2] == ["0102031234", "0102031234"]


cpr_like = st.one_of(
    st.from_regex(r"\A[0-9]{6}-?[0-9]{4}\Z"),
    st.text(alphabet="0123456789- x", max_size=12),
)


@settings(max_examples=400)
@given(st.lists(cpr_like, min_size=1, max_size=30))
def test_vectorised_check_matches_scalar_reference(values: list[str]) -> None:
    result = cpr.check(pa.array(values, pa.string()))
    for i, value in enumerate(values):
        reference = cpr.birth_date(value)
        valid = not result.malformed[i].as_py() and not result.bad_date[i].as_py()
        assert valid == (reference is not None), value
        if valid:
            assert result.normalised[i].as_py() == value.replace("-", "")


ten_bytes = st.one_of(
    st.from_regex(r"\A[0-9]{10}\Z"),
    st.text(alphabet="0123456789- xé", min_size=10, max_size=10).filter(
        lambda v: len(v.encode()) == 10
    ),
)


@settings(max_examples=400)
@given(st.lists(ten_bytes, min_size=1, max_size=30))
def test_ten_byte_fast_path_matches_scalar_reference(values: list[str]) -> None:
    # Every value is exactly ten bytes: the check reads the string data as a digit matrix.
    result = cpr.check(pa.array(values, pa.string()))
    for i, value in enumerate(values):
        reference = cpr.birth_date(value)
        valid = not result.malformed[i].as_py() and not result.bad_date[i].as_py()
        assert valid == (reference is not None), value
        assert result.malformed[i].as_py() == (cpr.normalise(value) is None), value
        if reference is not None:
            assert result.normalised[i].as_py() == value
            assert result.birth_year[i].as_py() == reference.year
            assert result.sex[i].as_py() == cpr.SEXES[int(value[-1]) % 2]
        else:
            assert result.normalised[i].as_py() is None or not result.malformed[i].as_py()
