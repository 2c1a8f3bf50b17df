"""Checking one column of a batch against its declared type, with Arrow kernels.

A clean column (the normal delivery) is proved clean by its check alone and skips trimming
and problem counting (:func:`check_as_delivered`); otherwise every value is trimmed and
checked (:func:`check_column`), and invalid values are found as a mask the caller turns into
problems by row. Values are never quoted: a bad CPR must not travel anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.domain import cpr
from gateway.domain.catalogue import Column, ColumnType

BIRTH_YEAR = "person_birth_year"
SEX = "person_sex"
_NULL_STR = pa.scalar(None, pa.string())


def clean(values: pa.Array) -> pa.Array:
    """Strings, trimmed, with empty strings as nulls."""
    text = values.cast(pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    untrimmed = _empty_as_null(text)
    if untrimmed is not None:
        return untrimmed
    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(text, ""), _NULL_STR, text)


def _empty_as_null(text: pa.Array) -> pa.Array | None:
    """``text`` with empty values as nulls, if no value starts or ends with a byte that could
    be whitespace (ASCII space or control, or any non-ASCII byte), so that trimming would
    change nothing; else None. Looks at two bytes a value and marks the empty ones null in a
    new validity bitmap over the same strings: no pass that copies them."""
    if text.null_count:
        return None
    if not len(text):
        return text
    offsets = _offsets(text)
    empty = offsets[1:] == offsets[:-1]
    data_buffer = text.buffers()[2]
    if data_buffer is None:  # every value is empty
        return pa.nulls(len(text), pa.string())
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    present = ~empty
    edges = np.concatenate([data[offsets[:-1][present]], data[offsets[1:][present] - 1]])
    if bool(((edges <= 32) | (edges >= 127)).any()):
        return None
    if not empty.any():
        return text
    validity = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    return pa.Array.from_buffers(
        pa.string(), len(text), [validity, pa.py_buffer(offsets.tobytes()), data_buffer]
    )


def _offsets(text: pa.Array) -> np.ndarray:
    """The n + 1 offsets of a string array's values into its data buffer."""
    return np.frombuffer(text.buffers()[1], dtype=np.int32)[
        text.offset : text.offset + len(text) + 1
    ]


def _all_date_shaped(text: pa.Array) -> bool:
    """Every present value is ten bytes long, as an ISO date is. Arrow's date cast is cheap
    when it succeeds and dear when it fails (tenths of a second per million values), so it is
    tried only on columns that pass this look at the offsets."""
    lengths = np.diff(_offsets(text))
    if text.null_count:
        lengths = lengths[pc.is_valid(text).to_numpy(zero_copy_only=False)]
    return bool((lengths == 10).all())


def parse_dates(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """strptime rolls 30 February over to 1 March, so a date is valid only if it has the ISO
    shape and its parsed day of month is the day that was written."""
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    shaped = pc.match_substring_regex(text, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    written_day = pc.cast(
        pc.utf8_slice_codeunits(pc.if_else(shaped, text, "0000-00-00"), 8, 10), pa.int64()
    )
    ok = pc.fill_null(pc.and_(shaped, pc.equal(pc.day(parsed), written_day)), False)
    return pc.cast(parsed, pa.date32()), ok


@dataclass
class ColumnResult:
    typed: pa.Array
    invalid: pa.Array | None  # bool mask over present values, or None
    code: str | None = None
    extra_invalid: pa.Array | None = None  # a second check with its own code (CPR date)
    derived: dict[str, pa.Array] | None = None  # the CPR column only: birth year and sex
    extra_code: str | None = None
    numbers: np.ndarray | None = None  # the CPR column only: the integers its digits spell


def check_column(col: Column, text: pa.Array, municipalities: pa.Array) -> ColumnResult:
    present = pc.is_valid(text)
    kind = col.type
    if kind is ColumnType.CPR:
        checked = cpr.check(pc.fill_null(text, ""))
        malformed = pc.and_(present, checked.malformed)
        bad = pc.and_(present, checked.bad_date)
        usable = pc.fill_null(pc.and_(present, pc.invert(pc.or_(malformed, bad))), False)
        # The 10-digit CPR, pseudonymised later (by the caller): only rows that will be kept
        # matter; others get a placeholder that is never stored (the delivery is refused).
        normalised = pc.if_else(usable, checked.normalised, pa.scalar("0000000000"))
        derived = {BIRTH_YEAR: checked.birth_year, SEX: checked.sex}
        return ColumnResult(
            normalised,
            malformed,
            "invalid-cpr-format",
            extra_invalid=bad,
            extra_code="invalid-cpr-date",
            derived=derived,
            numbers=checked.number,
        )
    if kind is ColumnType.DATE:
        try:  # Arrow's cast accepts exactly the valid ISO dates; it fails on any other value
            if _all_date_shaped(text):
                return ColumnResult(pc.cast(text, pa.date32()), None)
        except pa.ArrowInvalid:
            pass  # some value is not a date: find which, row by row, below
        typed, ok = parse_dates(pc.fill_null(text, "0000-00-00"))
        return ColumnResult(
            pc.if_else(present, typed, pa.scalar(None, pa.date32())),
            pc.and_(present, pc.invert(ok)),
            "invalid-date",
        )
    if kind is ColumnType.MONTH:
        ok = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{4}-(0[1-9]|1[0-2])$"), True)
        return ColumnResult(text, pc.invert(ok), "invalid-month")
    if kind is ColumnType.INTEGER:
        ok = pc.fill_null(pc.match_substring_regex(text, r"^-?[0-9]{1,18}$"), True)
        typed = pc.cast(pc.if_else(ok, text, _NULL_STR), pa.int64())
        return ColumnResult(typed, pc.invert(ok), "invalid-integer")
    if kind is ColumnType.CATEGORY:
        return _coded_values(text, present, pa.array(list(col.values or ()), pa.string()), kind)
    if kind is ColumnType.MUNICIPALITY:
        return _coded_values(text, present, municipalities, kind)
    return ColumnResult(text, None)


def _coded_values(
    text: pa.Array, present: pa.Array, allowed: pa.Array, kind: ColumnType
) -> ColumnResult:
    """A value from a fixed set: valid if found; stored as its position in the set."""
    positions = pc.index_in(text, value_set=allowed)
    invalid = pc.and_(present, pc.is_null(positions))
    code = "invalid-municipality" if kind is ColumnType.MUNICIPALITY else "value-not-allowed"
    return ColumnResult(pa.DictionaryArray.from_arrays(positions, allowed), invalid, code)


_AS_DELIVERED = (
    ColumnType.CPR,
    ColumnType.DATE,
    ColumnType.CATEGORY,
    ColumnType.MUNICIPALITY,
)


def check_as_delivered(col: Column, raw: pa.Array, municipalities: pa.Array) -> ColumnResult | None:
    """The column's result if every value, exactly as delivered, is present and valid; else
    None (then the caller trims and checks in full, row by row).

    The normal delivery is clean, and for these types a clean column is proved by the check
    itself: a value with a space around it, or an empty one, is not ten digits, not an ISO
    date and not one of a fixed set of values. So the trimming pass, the missing-value pass and
    the problem counting are skipped for it (about a third of the checking time)."""
    if col.type not in _AS_DELIVERED or not pa.types.is_string(raw.type):
        return None
    if raw.null_count or not len(raw):
        return None
    if col.type is ColumnType.DATE:
        if not _all_date_shaped(raw):
            return None
        try:  # Arrow's cast accepts exactly the valid ISO dates; it fails on any other value
            return ColumnResult(pc.cast(raw, pa.date32()), None)
        except pa.ArrowInvalid:
            return None
    result = check_column(col, raw, municipalities)
    for invalid in (result.invalid, result.extra_invalid):
        if invalid is not None and invalid.true_count:
            return None
    return result
