"""CPR numbers: format and date checks, vectorised over Arrow arrays, plus a scalar reference.

A CPR is ``DDMMYY-SSSS`` (the dash optional). The first serial digit with the year gives the
century. The modulus-11 check does not hold for numbers issued since 2007, so it is not used.

Nothing here ever puts a CPR value into an exception or a message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

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


def check(values: pa.Array) -> CprCheck:
    """Check and normalise CPR strings without a Python loop per row."""
    values = values.cast(pa.string())
    shaped = pc.fill_null(pc.match_substring_regex(values, CPR_PATTERN), False)
    digits = pc.if_else(shaped, pc.replace_substring(values, "-", ""), pa.scalar("0101000000"))
    day = pc.utf8_slice_codeunits(digits, 0, 2)
    month = pc.utf8_slice_codeunits(digits, 2, 4)
    yy = pc.cast(pc.utf8_slice_codeunits(digits, 4, 6), pa.int32())
    serial = pc.cast(pc.utf8_slice_codeunits(digits, 6, 7), pa.int32())
    cent = pc.case_when(
        pc.make_struct(
            pc.less_equal(serial, 3),
            pc.and_(pc.is_in(serial, pa.array([4, 9], pa.int32())), pc.less_equal(yy, 36)),
            pc.is_in(serial, pa.array([4, 9], pa.int32())),
            pc.less_equal(yy, 57),
        ),
        pa.scalar(1900, pa.int32()),
        pa.scalar(2000, pa.int32()),
        pa.scalar(1900, pa.int32()),
        pa.scalar(2000, pa.int32()),
        pa.scalar(1800, pa.int32()),
    )
    year = pc.cast(pc.add(cent, yy), pa.string())
    iso = pc.binary_join_element_wise(year, month, day, "-")
    parsed = pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 30 February over to 1 March; a round trip catches such non-dates.
    roundtrip = pc.strftime(parsed, format="%Y-%m-%d")
    date_ok = pc.fill_null(pc.equal(roundtrip, iso), False)
    return CprCheck(
        normalised=pc.if_else(shaped, digits, pa.scalar(None, pa.string())),
        malformed=pc.invert(shaped),
        bad_date=pc.and_(shaped, pc.invert(date_ok)),
    )
