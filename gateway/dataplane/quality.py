"""The quality figures of a delivery, counted batch by batch while it is ingested.

The ingestion's checking stage hands each checked batch (typed columns, the CPRs as integers)
to :class:`QualityCounter`, which adds to a handful of counters with Arrow and numpy kernels:
missing values per column, rows per municipality (the coded column's positions, counted with
``bincount``), rows dated before or after the delivery's month (allowing the imprecision a
dataset declares for a date column), the month offsets of an imprecise date column, and rows
that repeat an earlier row. Memory is bounded: the counters, plus a set of 63-bit row hashes
for the repeats that forgets past ``max_rows`` distinct rows (then ``exact`` says so).

:func:`gateway.domain.quality.assess` turns the figures into the report with its flags.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.dataplane.number_set import NumberSet
from gateway.domain.catalogue import ColumnType, Dataset
from gateway.domain.extracts import month_end, month_start
from gateway.domain.quality import EventsRule

_EPOCH = dt.date(1970, 1, 1).toordinal()
_MIX = np.uint64(0x9E3779B97F4A7C15)
_AVALANCHE = np.uint64(0xBF58476D1CE4E5B9)
_LOW63 = np.uint64((1 << 63) - 1)


def _day(day: dt.date) -> int:
    return day.toordinal() - _EPOCH


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


class QualityCounter:
    """Counts one delivery's quality figures; call :meth:`add` per batch, then :meth:`figures`."""

    def __init__(
        self, ds: Dataset, period: str, municipalities: list[str], max_rows: int = 4_000_000
    ) -> None:
        self.ds = ds
        self.period = period
        self.rules = ds.quality
        self.municipalities = municipalities
        first, last = month_start(period), month_end(period)
        self._first, self._last = _day(first), _day(last)
        self._month = _month_index(first.year, first.month)
        self.rows = 0
        self.missing = {c.name: 0 for c in ds.columns if c.type is not ColumnType.CPR}
        self.invalid: dict[str, int] = {}
        self.below = {
            c.name: 0 for c in ds.columns if c.type is ColumnType.INTEGER and c.minimum is not None
        }
        kcols = [c.name for c in ds.columns if c.type is ColumnType.MUNICIPALITY]
        self.kommune = kcols[0] if kcols else None
        self.by_municipality = np.zeros(len(municipalities), dtype=np.int64)
        self.before = self.after = self.tolerated = self.outside = 0
        self.offsets = {
            d.column: np.zeros(2 * d.months + 3, np.int64) for d in self.rules.imprecise_dates
        }
        self.first_of_month = dict.fromkeys(self.offsets, 0)
        self._seen = NumberSet(max_rows)
        self.duplicates = 0
        self.exact = True
        self._text_ids: dict[str, dict[str, int]] = {}

    # -- per batch ---------------------------------------------------------------------------

    def add(self, typed: dict[str, pa.Array], person: str, numbers: np.ndarray | None) -> None:
        """Count one checked batch: ``typed`` holds the stored columns (``person``: the CPRs,
        whose integers ``numbers`` are, when the check computed them)."""
        n = len(typed[person])
        self.rows += n
        for name in self.missing:
            self.missing[name] += typed[name].null_count
        if self.kommune is not None:
            positions = _positions(typed[self.kommune])
            self.by_municipality += np.bincount(
                positions[positions >= 0], minlength=len(self.municipalities)
            )[: len(self.municipalities)]
        for name in self.below:  # below the column's plausible minimum (vectorised)
            minimum = self.ds.column(name).minimum
            low = pc.sum(pc.less(typed[name], minimum)).as_py()
            self.below[name] += int(low or 0)
        self._events(typed)
        self._precision(typed)
        self._repeats(typed, person, numbers, n)

    def _months_of(self, values: pa.Array) -> np.ndarray:
        """Each value's month as a month index (-1 where missing): dates or ``YYYY-MM``."""
        if pa.types.is_date32(values.type):
            index = pc.add(pc.multiply(pc.year(values), 12), pc.subtract(pc.month(values), 1))
        else:  # month strings, validated YYYY-MM
            year = pc.cast(pc.utf8_slice_codeunits(values, 0, 4), pa.int64())
            month = pc.cast(pc.utf8_slice_codeunits(values, 5, 7), pa.int64())
            index = pc.add(pc.multiply(year, 12), pc.subtract(month, 1))
        return np.asarray(pc.fill_null(index, -1).to_numpy(zero_copy_only=False), np.int64)

    def _keys(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """Each value's place in time as an integer, the mask of present values (None: all
        present), and whether the integers are days (dates) or month indexes (``YYYY-MM``).
        Dates are read straight from their buffer: no conversion pass."""
        present = pc.is_valid(values).to_numpy(zero_copy_only=False) if values.null_count else None
        if pa.types.is_date32(values.type):
            days = np.frombuffer(values.buffers()[1], dtype=np.int32)
            return days[values.offset : values.offset + len(values)], present, True
        return self._months_of(values), present, False

    def _bounds(self, column: str, is_days: bool) -> tuple[int, int, int, int]:
        """The month's first and last key, and the first and last key still within the
        column's declared imprecision (the month itself where it has none)."""
        slack = self.rules.imprecision(column)
        if not is_days:
            return self._month, self._month, self._month - slack, self._month + slack
        early, late = self._month - slack, self._month + slack
        first_day = _day(dt.date(early // 12, early % 12 + 1, 1))
        last_day = _day(month_end(f"{late // 12:04d}-{late % 12 + 1:02d}"))
        return self._first, self._last, first_day, last_day

    def _events(self, typed: dict[str, pa.Array]) -> None:
        """Rows after the month (by their start) and, for ``in-period`` datasets, rows that
        ended before it (by their end; a point event by its date; an open end never)."""
        ds, rules = self.ds, self.rules
        start, present, is_days = self._keys(typed[ds.event_start])
        _, last, _, late = self._bounds(ds.event_start, is_days)
        after = start > last
        if present is not None:
            after &= present
        tolerated = after & (start <= late)
        before = np.zeros_like(after)
        end_name = ds.event_end or ds.event_start
        if rules.events is EventsRule.IN_PERIOD:
            end, ended, end_days = self._keys(typed[end_name])
            first, _, early, _ = self._bounds(end_name, end_days)
            before = end < first
            if ended is not None:  # a missing end is an open stretch of time: never before
                before &= ended
            tolerated |= before & (end >= early)
        outside = after | before
        self.after += int(np.count_nonzero(after))
        self.before += int(np.count_nonzero(before))
        self.tolerated += int(np.count_nonzero(outside & tolerated))
        self.outside += int(np.count_nonzero(outside & ~tolerated))

    def _precision(self, typed: dict[str, pa.Array]) -> None:
        """For each column declared imprecise: rows by month offset from the delivered month,
        and rows dated on the first of a month (a sign of dates known only to the month)."""
        for name, counts in self.offsets.items():
            months = self._months_of(typed[name])
            keep = months >= 0
            span = (len(counts) - 3) // 2
            off = np.clip(months[keep] - self._month, -span - 1, span + 1) + span + 1
            counts += np.bincount(off, minlength=len(counts))
            if pa.types.is_date32(typed[name].type):
                self.first_of_month[name] += int(
                    pc.sum(pc.equal(pc.day(typed[name]), 1)).as_py() or 0
                )

    def _repeats(
        self, typed: dict[str, pa.Array], person: str, numbers: np.ndarray | None, n: int
    ) -> None:
        """Rows equal in every delivered column to an earlier row (a double registration),
        found by a 63-bit hash of the row in a set of the delivery's rows."""
        if numbers is None:  # CPR strings not all normalised (only in a refused delivery)
            return
        # A polynomial over the columns' integer codes (two passes a column), then one
        # avalanche: rows that differ get unrelated hashes, equal rows the same one.
        h = np.asarray(numbers, dtype=np.int64).astype(np.uint64)
        for col in self.ds.columns:
            if col.type is not ColumnType.CPR:
                h *= _MIX
                h += self._column_codes(col.name, typed[col.name])
        h ^= h >> np.uint64(31)
        h *= _AVALANCHE
        h ^= h >> np.uint64(29)
        before = len(self._seen)
        if not before:  # a delivery is many batches like the first: room for 8 at once
            self._seen.reserve(8 * n)
        new = self._seen.add_new((h & _LOW63).astype(np.int64))
        if len(self._seen) < before + len(new):  # the set forgot what it held
            self.exact = False
        self.duplicates += n - len(new)

    def _column_codes(self, name: str, values: pa.Array) -> np.ndarray:
        """An integer per value that is equal exactly when the values are (missing: all ones)."""
        if isinstance(values, pa.DictionaryArray):
            return _integers(values.indices).astype(np.uint64)
        if pa.types.is_string(values.type):
            encoded = pc.dictionary_encode(values)
            ids = self._text_ids.setdefault(name, {})
            # One lookup per distinct value of the batch, not per row.
            mapping = np.array(
                [ids.setdefault(v, len(ids)) for v in encoded.dictionary.to_pylist()] + [-1],
                dtype=np.int64,
            )
            index = np.asarray(
                pc.fill_null(encoded.indices, len(mapping) - 1).to_numpy(zero_copy_only=False)
            )
            codes: np.ndarray = mapping[index].astype(np.uint64)
            return codes
        return _integers(values).astype(np.uint64)  # dates (days since 1970) and integers

    def note_invalid(self, column: str, count: int) -> None:
        self.invalid[column] = self.invalid.get(column, 0) + count

    # -- the figures --------------------------------------------------------------------------

    def figures(self, persons: int) -> dict[str, Any]:
        rows = self.rows
        out: dict[str, Any] = {
            "period": self.period,
            "rows": rows,
            "persons": persons,
            "columns": {
                name: {
                    "optional": not self.ds.column(name).required,
                    "missing": missing,
                    "invalid": self.invalid.get(name, 0),
                    "completeness": round(1 - missing / rows, 4) if rows else 1.0,
                }
                for name, missing in self.missing.items()
            },
            "events": {
                "rule": self.rules.events.value,
                "before_period": self.before,
                "after_period": self.after,
                "within_imprecision": self.tolerated,
                "outside_period": self.outside,
            },
            "duplicates": {"rows": self.duplicates, "exact": self.exact},
        }
        for name, low in self.below.items():
            out["columns"][name]["below_minimum"] = low
            out["columns"][name]["minimum"] = self.ds.column(name).minimum
        if self.kommune is not None:
            out["municipalities"] = {
                "column": self.kommune,
                "rows": {
                    code: int(n)
                    for code, n in zip(self.municipalities, self.by_municipality, strict=True)
                    if n
                },
            }
        if self.offsets:
            out["date_precision"] = {}
            for name, counts in self.offsets.items():
                span = (len(counts) - 3) // 2
                labels = [f"<-{span}", *(f"{k:+d}" for k in range(-span, span + 1)), f">+{span}"]
                out["date_precision"][name] = {
                    "months": span,
                    "by_month_offset": {lab: int(c) for lab, c in zip(labels, counts, strict=True)},
                    "outside_month": int(counts.sum() - counts[span + 1]),
                    "first_of_month": self.first_of_month[name],
                }
        return out


def _positions(values: pa.Array) -> np.ndarray:
    """A coded column's positions in its value set, -1 where missing or not in the set."""
    indices = values.indices if isinstance(values, pa.DictionaryArray) else values
    return _integers(indices)


def _integers(values: pa.Array) -> np.ndarray:
    """A fixed-width column (integers, dates as days, dictionary positions) as numpy
    integers, -1 where missing: read from its buffer when nothing is missing."""
    if pa.types.is_date32(values.type):
        values = values.view(pa.int32())
    if not values.null_count:
        return np.frombuffer(values.buffers()[1], dtype=values.type.to_pandas_dtype())[
            values.offset : values.offset + len(values)
        ]
    return np.asarray(pc.fill_null(values, -1).to_numpy(zero_copy_only=False))
