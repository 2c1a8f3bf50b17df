"""CPR numbers: format and date checks, vectorised over Arrow arrays, plus a scalar reference.

A CPR is ``DDMMYY-SSSS`` (the dash optional). The first serial digit with the year gives the
century. The modulus-11 check does not hold for numbers issued since 2007, so it is not used.

Nothing here ever puts a CPR value into an exception or a message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CPR_PATTERN = r"^[0-9]{6}-?[0-9]{4}$"
_CPR_RE = re.compile(CPR_PATTERN)


def century(serial_digit: int, yy: int) -> int:
    """The century of birth from the 7th digit and the two-digit year (CPR office rules)."""
    if serial_digit <= 3:
        return 1900
    if serial_digit in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def normalise(cpr: str) -> str | None:
    """Ten digits without the dash, or None if the value is not CPR-shaped."""
    if not _CPR_RE.match(cpr):
        return None
    return cpr.replace("-", "")


def birth_date(cpr: str) -> dt.date | None:
    """The date of birth a CPR encodes, or None if it is malformed or not a real date.

    This scalar function is the reference the vectorised :func:`check` is tested against.
    """
    digits = normalise(cpr)
    if digits is None:
        return None
    day, month, yy, serial = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    try:
        return dt.date(century(serial, yy) + yy, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class CprCheck:
    """Result of checking an array of CPR strings, position by position."""

    normalised: pa.Array  # string, 10 digits where well-formed, else null
    malformed: pa.Array  # bool: not DDMMYY-SSSS / DDMMYYSSSS (nulls count as malformed)
    bad_date: pa.Array  # bool: well-formed but DDMMYY with the century is not a date
    birth_year: pa.Array  # int16: year of birth (meaningless where malformed or bad_date)
    sex: pa.Array  # dictionary<int8, string>: "kvinde" (last digit even) or "mand" (odd)
    number: np.ndarray  # int64: the integer the ten digits spell (meaningless where malformed)


SEXES = ("kvinde", "mand")


# Days in each month of a common year (index 0 unused); February gains a day in leap years.
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def check(values: pa.Array) -> CprCheck:
    """Check and normalise CPR strings without a Python loop per row.

    The ten digits of every well-formed value are read as a (rows x 10) byte matrix, and the
    date of birth is checked with integer arithmetic (month range, days in the month with leap
    years), which is what the scalar :func:`birth_date` does with ``datetime.date``. When every
    value is ten bytes (the normal delivery) the matrix is the string data itself: no regular
    expression, no copy.
    """
    values = values.cast(pa.string())
    matrix = ten_byte_matrix(values)
    if matrix is not None:
        d = digits_of(matrix)
        shaped_np = all_digits(d)
        all_shaped = bool(shaped_np.all())
        shaped = pa.array(shaped_np)
        normalised = values if all_shaped else pc.if_else(shaped, values, _NULL_STRING)
    else:
        shaped = pc.fill_null(pc.match_substring_regex(values, CPR_PATTERN), False)
        shaped_np = shaped.to_numpy(zero_copy_only=False)
        digits = pc.if_else(shaped, pc.replace_substring(values, "-", ""), _PLACEHOLDER)
        d = _digit_matrix(digits)
        normalised = pc.if_else(shaped, digits, _NULL_STRING)
    date_ok, year = _date_of_birth(d)
    return CprCheck(
        normalised=normalised,
        malformed=pa.array(~shaped_np),
        bad_date=pa.array(shaped_np & ~date_ok),
        birth_year=pa.array(year.astype(np.int16)),
        sex=pa.DictionaryArray.from_arrays(
            pa.array((d[:, 9] % 2).astype(np.int8)), pa.array(SEXES, pa.string())
        ),
        number=_spelled(d),
    )


_NULL_STRING = pa.scalar(None, pa.string())
_PLACEHOLDER = pa.scalar("0101000000")


def _date_of_birth(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(valid date?, year of birth) per row of a digit matrix, in integer arithmetic."""

    def number(first: int) -> np.ndarray:  # two digits as one small integer
        value: np.ndarray = d[:, first].astype(np.int16) * 10 + d[:, first + 1]
        return value

    day, month, yy = number(0), number(2), number(4)
    serial = d[:, 6]
    four_or_nine = (serial == 4) | (serial == 9)
    cent = np.where(
        serial <= 3,
        1900,
        np.where(four_or_nine, np.where(yy <= 36, 2000, 1900), np.where(yy <= 57, 2000, 1800)),
    )
    year = (cent + yy).astype(np.int16)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    valid_month = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.where(valid_month, month, 0)] + ((month == 2) & leap)
    date_ok: np.ndarray = valid_month & (day >= 1) & (day <= days)
    return date_ok, year


def digits_of(matrix: np.ndarray) -> np.ndarray:
    """Byte matrix minus '0': digits become 0-9, anything else wraps to 10 or more."""
    return matrix - np.uint8(ord("0"))


def all_digits(d: np.ndarray) -> np.ndarray:
    """Per row of :func:`digits_of`'s matrix: is every byte a digit? Column by column, which
    is several times faster than ``all(axis=1)`` over ten-byte rows."""
    ok = d[:, 0] <= 9
    for k in range(1, d.shape[1]):
        ok &= d[:, k] <= 9
    return ok


def ten_byte_matrix(values: pa.Array) -> np.ndarray | None:
    """The (rows x 10) byte matrix of the values if every one is exactly ten bytes, else None."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count or not len(values):
        return None
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1]
    if data_buffer is None or not bool((np.diff(offsets) == 10).all()):
        return None
    raw = np.frombuffer(data_buffer, dtype=np.uint8)
    return raw[offsets[0] : offsets[-1]].reshape(len(values), 10)


def numbers_of(values: pa.Array) -> np.ndarray | None:
    """The integer each value spells if every value is exactly ten ASCII digits (a normalised
    CPR), else None. For strings of that shape the mapping is a bijection, so sets of persons
    can be kept as 8-byte integers."""
    if not len(values):
        return np.empty(0, dtype=np.int64)
    matrix = ten_byte_matrix(values)
    if matrix is None:
        return None
    d = digits_of(matrix)
    if not all_digits(d).all():
        return None
    return _spelled(d)


def _spelled(d: np.ndarray) -> np.ndarray:
    """The integer each row of a digit matrix spells: Horner's rule, ten vectorised steps."""
    number = d[:, 0].astype(np.int64)
    for k in range(1, d.shape[1]):
        number = number * 10 + d[:, k]
    return number


def _digit_matrix(digits: pa.Array) -> np.ndarray:
    """Ten-character digit strings as an int64 matrix of their digits (no copy per row)."""
    if isinstance(digits, pa.ChunkedArray):
        digits = digits.combine_chunks()
    fixed = pc.cast(digits, pa.binary(10))
    raw = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    start = fixed.offset * 10
    matrix = raw[start : start + len(fixed) * 10].reshape(len(fixed), 10)
    return matrix.astype(np.int32) - ord("0")
