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


SEXES = ("kvinde", "mand")


# Days in each month of a common year (index 0 unused); February gains a day in leap years.
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def check(values: pa.Array) -> CprCheck:
    """Check and normalise CPR strings without a Python loop per row.

    The ten digits of every well-formed value are read as a (rows x 10) byte matrix, and the
    date of birth is checked with integer arithmetic (month range, days in the month with leap
    years), which is what the scalar :func:`birth_date` does with ``datetime.date``.
    """
    values = values.cast(pa.string())
    shaped = pc.fill_null(pc.match_substring_regex(values, CPR_PATTERN), False)
    digits = pc.if_else(shaped, pc.replace_substring(values, "-", ""), pa.scalar("0101000000"))
    d = _digit_matrix(digits)
    day = d[:, 0] * 10 + d[:, 1]
    month = d[:, 2] * 10 + d[:, 3]
    yy = d[:, 4] * 10 + d[:, 5]
    serial = d[:, 6]
    four_or_nine = (serial == 4) | (serial == 9)
    cent = np.where(
        serial <= 3,
        1900,
        np.where(four_or_nine, np.where(yy <= 36, 2000, 1900), np.where(yy <= 57, 2000, 1800)),
    )
    year = cent + yy
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    valid_month = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.where(valid_month, month, 0)] + ((month == 2) & leap)
    date_ok = valid_month & (day >= 1) & (day <= days)
    return CprCheck(
        normalised=pc.if_else(shaped, digits, pa.scalar(None, pa.string())),
        malformed=pc.invert(shaped),
        bad_date=pc.and_(shaped, pa.array(~date_ok)),
        birth_year=pa.array(year.astype(np.int16)),
        sex=pa.DictionaryArray.from_arrays(
            pa.array((d[:, 9] % 2).astype(np.int8)), pa.array(SEXES, pa.string())
        ),
    )


def _digit_matrix(digits: pa.Array) -> np.ndarray:
    """Ten-character digit strings as an int64 matrix of their digits (no copy per row)."""
    if isinstance(digits, pa.ChunkedArray):
        digits = digits.combine_chunks()
    fixed = pc.cast(digits, pa.binary(10))
    raw = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    start = fixed.offset * 10
    matrix = raw[start : start + len(fixed) * 10].reshape(len(fixed), 10)
    return matrix.astype(np.int64) - ord("0")
