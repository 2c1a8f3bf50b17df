"""Validate a delivery against its dataset schema and write it pseudonymised, in one pass.

The input file (CSV or Parquet, told apart by Parquet's magic bytes) is read in record
batches. Each batch is checked column by column with Arrow kernels; if the delivery is still
clean, the batch is converted to the stored form (CPR replaced by the internal pseudonym,
dates as dates, integers as integers) and appended to a Parquet writer whose sink is the
sealing (encrypting) writer. Once a problem is found nothing more is written, but checking goes
on so the report counts every problem; the caller discards the partial blob.

Problems name the data row (1 = first row after the header), the column and a code. They never
quote the value: a bad CPR must not travel into a response, a log or the audit trail.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gateway.dataplane.persons import InternalPseudonymiser
from gateway.dataplane.problems import (
    UNREADABLE,
    Problem,
    header_problems,
    raise_if_system_error,
)
from gateway.dataplane.quality import QualityCounter
from gateway.domain import cpr
from gateway.domain.catalogue import Column, ColumnType, Dataset

MAX_REPORTED = 100
PERSON = "person"
CPR = "cpr"
# Derived from the CPR at ingestion, kept only inside the hub, used only as aggregate dimensions.
BIRTH_YEAR = "person_birth_year"
SEX = "person_sex"
VAULT_SCHEMA = pa.schema(
    [pa.field(PERSON, pa.binary(32), nullable=False), pa.field(CPR, pa.string(), nullable=False)]
)
CSV_BLOCK = 8 << 20
PARQUET_BATCH = 256_000
_NULL_STR = pa.scalar(None, pa.string())


@dataclass
class IngestReport:
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    persons: list[pa.Array] = field(default_factory=list)  # new internal pseudonyms per batch

    def distinct_persons(self) -> pa.Array:
        """The delivery's persons. Each batch contributes only persons the pseudonymiser had
        not seen, so repeats are rare (only after its memory bound); consumers that need
        strict distinctness (the subject index) deduplicate anyway."""
        if not self.persons:
            return pa.array([], pa.binary(32))
        return pa.concat_arrays(self.persons)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, candidates: list[Problem], counts: dict[str, int]) -> None:
        for code, n in counts.items():
            self.codes[code] = self.codes.get(code, 0) + n
            self.problem_count += n
        room = MAX_REPORTED - len(self.problems)
        if room > 0 and candidates:
            candidates.sort(key=lambda p: (p.row if p.row is not None else -1, p.column or ""))
            self.problems.extend(candidates[:room])


def stored_schema(ds: Dataset) -> pa.Schema:
    """The schema of a stored delivery: the person pseudonym, then the other columns typed."""
    fields = [
        pa.field(PERSON, pa.binary(32), nullable=False),
        pa.field(BIRTH_YEAR, pa.int16()),
        pa.field(SEX, pa.dictionary(pa.int8(), pa.string())),  # two values: one byte a row
    ]
    for col in ds.columns:
        if col.type is not ColumnType.CPR:
            fields.append(pa.field(col.name, _arrow_type(col.type)))
    return pa.schema(fields)


def written_schema(ds: Dataset) -> pa.Schema:
    """The schema the stored file is written with: :func:`stored_schema`, except that columns
    with a fixed set of values (categories, municipalities) are dictionary-encoded against that
    set. Validation finds each value's position in the set anyway, and the Parquet writer takes
    the positions as they are instead of hashing a million strings again (about a third of its
    time). Readers cast back to :func:`stored_schema`."""
    return pa.schema(
        [
            field.with_type(_CODED) if _coded(ds, field.name) else field
            for field in stored_schema(ds)
        ]
    )


_CODED = pa.dictionary(pa.int32(), pa.string())


def _coded(ds: Dataset, name: str) -> bool:
    col = ds.column(name) if name in ds.column_names else None
    return col is not None and col.type in (ColumnType.CATEGORY, ColumnType.MUNICIPALITY)


def _arrow_type(kind: ColumnType) -> pa.DataType:
    if kind is ColumnType.DATE:
        return pa.date32()
    if kind is ColumnType.INTEGER:
        return pa.int64()
    return pa.string()


# A file is read more than once (sniff, header, batches): callers pass a way to open it.
Readable = BinaryIO | io.RawIOBase
Opener = Callable[[], Readable]


def _first_line(opener: Opener) -> bytes:
    with opener() as fh:
        return fh.readline(64 * 1024)


class _Reader:
    """Batches of string columns from a CSV or Parquet file, plus malformed-line counts.

    ``opener`` returns a fresh seekable binary reader each call (the file is read more than once).
    """

    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self.malformed = 0
        first = _first_line(opener)
        self.parquet = first[:4] == b"PAR1"
        self.delimiter = ";" if first.count(b";") > first.count(b",") else ","
        self.header = first
        self.types: dict[str, pa.DataType] = {}  # Parquet's column types (CSV: all text)

    def _on_invalid_row(self, _row: Any) -> str:
        self.malformed += 1
        return "skip"

    def malformed_lines(self) -> list[int]:
        """The file lines whose field count differs from the header's. Arrow's streaming
        reader does not say where a malformed line was, so a rejected delivery is read once
        more, record by record (only on this error path); a record's line is where it starts."""
        with self.opener() as fh:
            text = (
                line.decode("utf-8", errors="replace").lstrip("\ufeff")
                for line in iter(fh.readline, b"")
            )
            rows = csv.reader(text, delimiter=self.delimiter)
            expected, lines, start = None, [], 1
            for record in rows:
                if expected is None:
                    expected = len(record)
                elif record and len(record) != expected:
                    lines.append(start)
                start = rows.line_num + 1
            return lines

    def columns(self) -> list[str]:
        if self.parquet:
            with self.opener() as fh:
                schema = pq.ParquetFile(fh).schema_arrow
            self.types = {field.name: field.type for field in schema}
            return list(schema.names)
        row = next(csv.reader([self.header.decode("utf-8-sig")], delimiter=self.delimiter), [])
        return [name.strip() for name in row]

    def batches(self, names: list[str]) -> Iterator[pa.RecordBatch]:
        with self.opener() as fh:
            if self.parquet:
                yield from pq.ParquetFile(fh).iter_batches(batch_size=PARQUET_BATCH)
                return
            reader = pacsv.open_csv(
                fh,
                read_options=pacsv.ReadOptions(block_size=CSV_BLOCK),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter, invalid_row_handler=self._on_invalid_row
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                ),
            )
            yield from reader


def _clean(values: pa.Array) -> pa.Array:
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


def _parse_dates(text: pa.Array) -> tuple[pa.Array, pa.Array]:
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
class _ColumnResult:
    typed: pa.Array
    invalid: pa.Array | None  # bool mask over present values, or None
    code: str | None = None
    extra_invalid: pa.Array | None = None  # a second check with its own code (CPR date)
    derived: dict[str, pa.Array] | None = None  # the CPR column only: birth year and sex
    extra_code: str | None = None
    numbers: np.ndarray | None = None  # the CPR column only: the integers its digits spell


def _check_column(col: Column, text: pa.Array, municipalities: pa.Array) -> _ColumnResult:
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
        return _ColumnResult(
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
                return _ColumnResult(pc.cast(text, pa.date32()), None)
        except pa.ArrowInvalid:
            pass  # some value is not a date: find which, row by row, below
        typed, ok = _parse_dates(pc.fill_null(text, "0000-00-00"))
        return _ColumnResult(
            pc.if_else(present, typed, pa.scalar(None, pa.date32())),
            pc.and_(present, pc.invert(ok)),
            "invalid-date",
        )
    if kind is ColumnType.MONTH:
        ok = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{4}-(0[1-9]|1[0-2])$"), True)
        return _ColumnResult(text, pc.invert(ok), "invalid-month")
    if kind is ColumnType.INTEGER:
        ok = pc.fill_null(pc.match_substring_regex(text, r"^-?[0-9]{1,18}$"), True)
        typed = pc.cast(pc.if_else(ok, text, _NULL_STR), pa.int64())
        return _ColumnResult(typed, pc.invert(ok), "invalid-integer")
    if kind is ColumnType.CATEGORY:
        return _coded_values(text, present, pa.array(list(col.values or ()), pa.string()), kind)
    if kind is ColumnType.MUNICIPALITY:
        return _coded_values(text, present, municipalities, kind)
    return _ColumnResult(text, None)


def _coded_values(
    text: pa.Array, present: pa.Array, allowed: pa.Array, kind: ColumnType
) -> _ColumnResult:
    """A value from a fixed set: valid if found; stored as its position in the set."""
    positions = pc.index_in(text, value_set=allowed)
    invalid = pc.and_(present, pc.is_null(positions))
    code = "invalid-municipality" if kind is ColumnType.MUNICIPALITY else "value-not-allowed"
    return _ColumnResult(pa.DictionaryArray.from_arrays(positions, allowed), invalid, code)


_AS_DELIVERED = (
    ColumnType.CPR,
    ColumnType.DATE,
    ColumnType.CATEGORY,
    ColumnType.MUNICIPALITY,
)


def _check_as_delivered(
    col: Column, raw: pa.Array, municipalities: pa.Array
) -> _ColumnResult | None:
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
            return _ColumnResult(pc.cast(raw, pa.date32()), None)
        except pa.ArrowInvalid:
            return None
    result = _check_column(col, raw, municipalities)
    for invalid in (result.invalid, result.extra_invalid):
        if invalid is not None and invalid.true_count:
            return None
    return result


def _mask_problems(
    mask: pa.Array,
    offset: int,
    column: str,
    code: str,
    candidates: list[Problem],
    counts: dict[str, int],
) -> int:
    n: int = mask.true_count
    if not n:
        return 0
    counts[code] = counts.get(code, 0) + n
    for i in pc.indices_nonzero(mask)[:MAX_REPORTED].to_pylist():
        candidates.append(Problem(offset + i + 1, column, code))
    return n


def ingest(
    opener: Opener,
    ds: Dataset,
    *,
    municipalities: list[str],
    pseudonym_key: bytes,
    sink: BinaryIO | io.RawIOBase,
    vault: BinaryIO | io.RawIOBase | None = None,
    quality: QualityCounter | None = None,
) -> IngestReport:
    """Validate the file ``opener`` opens against ``ds``; while clean, write the stored form.

    Returns the report; if ``report.ok`` is false, whatever reached ``sink`` must be discarded.
    ``quality``, if given, counts the delivery's quality figures on the checking thread.
    """
    report = IngestReport()
    try:
        reader = _Reader(opener)
        names = reader.columns()
    except UNREADABLE as exc:
        raise_if_system_error(exc)
        report.add([Problem(None, None, "unreadable-file")], {"unreadable-file": 1})
        return report
    expected = list(ds.column_names)
    header = header_problems(names, expected, reader.types)
    if header:
        counts: dict[str, int] = {}
        for p in header:
            counts[p.code] = counts.get(p.code, 0) + 1
        report.add(header, counts)
        return report

    schema = written_schema(ds)
    known = pa.array(municipalities, pa.string())
    # The person column is 32 random bytes per row: dictionaries, compression and min/max
    # statistics cost write time and save nothing on it, so only the other columns get them.
    others = [name for name in schema.names if name != PERSON]
    writer = pq.ParquetWriter(
        sink,
        schema,
        compression={name: "zstd" if name != PERSON else "none" for name in schema.names},
        use_dictionary=others,
        write_statistics=others,
    )
    # The vault holds each person once: no value repeats, so dictionaries and statistics are
    # wasted work (a tenth of a second per 250,000 persons); only the CPR digits compress.
    vault_writer = (
        pq.ParquetWriter(
            vault,
            VAULT_SCHEMA,
            compression={PERSON: "none", CPR: "zstd"},
            use_dictionary=False,
            write_statistics=False,
        )
        if vault is not None
        else None
    )
    pseudonymise = InternalPseudonymiser(pseudonym_key)  # also finds each batch's new persons
    # Two stages on two threads: reading and checking a batch (Arrow kernels, which release
    # the GIL) runs ahead while the previous batch is pseudonymised and written (native HMAC,
    # Parquet, encryption). At most two batches are in memory.
    checker = _Checker(reader.batches(expected), ds, known, quality)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-check") as pool:
            ahead = pool.submit(checker.next)
            while (checked := ahead.result()) is not None:
                ahead = pool.submit(checker.next)
                _store_batch(checked, pseudonymise, report, writer, schema, vault_writer)
    except UNREADABLE as exc:
        raise_if_system_error(exc)
        report.add([Problem(None, None, "unreadable-file")], {"unreadable-file": 1})
    if not reader.parquet:
        bad = reader.malformed_lines() if reader.malformed else []
        report.problems = [_with_line(p, bad) for p in report.problems]
        if reader.malformed:
            report.add(
                [Problem(None, None, "wrong-field-count", line=n) for n in bad[:MAX_REPORTED]],
                {"wrong-field-count": reader.malformed},
            )
    writer.close()
    if vault_writer is not None:
        vault_writer.close()
    return report


def _with_line(problem: Problem, malformed: list[int]) -> Problem:
    """The file line of a problem's data row: the header, the row, and every malformed line
    (skipped by the parser, so not counted in rows) that comes before it."""
    if problem.row is None:
        return problem
    skipped = 0
    while skipped < len(malformed) and malformed[skipped] <= 1 + problem.row + skipped:
        skipped += 1
    return dataclasses.replace(problem, line=1 + problem.row + skipped)


@dataclass
class _CheckedBatch:
    rows: int
    typed: dict[str, pa.Array]  # stored columns; PERSON still holds the 10-digit CPR
    candidates: list[Problem]
    counts: dict[str, int]
    numbers: np.ndarray | None  # the CPRs as integers (the pseudonymiser's memory of persons)


class _Checker:
    """Reads batches and checks them column by column (the first stage; one thread)."""

    def __init__(
        self,
        batches: Iterator[pa.RecordBatch],
        ds: Dataset,
        known: pa.Array,
        quality: QualityCounter | None = None,
    ) -> None:
        self.batches = batches
        self.ds = ds
        self.known = known
        self.quality = quality
        self.offset = 0

    def next(self) -> _CheckedBatch | None:
        batch = next(self.batches, None)
        if batch is None:
            return None
        offset = self.offset
        self.offset += batch.num_rows
        candidates: list[Problem] = []
        counts: dict[str, int] = {}
        typed: dict[str, pa.Array] = {}
        numbers = None
        for col in self.ds.columns:
            raw = batch.column(col.name)
            result = _check_as_delivered(col, raw, self.known)
            if result is None:  # something to trim, a missing value or a problem: in full
                result = self._check_in_full(col, raw, offset, candidates, counts)
            typed[PERSON if col.type is ColumnType.CPR else col.name] = result.typed
            typed.update(result.derived or {})
            if result.numbers is not None:
                numbers = result.numbers
        if self.quality is not None:
            self.quality.add(typed, PERSON, numbers)
        return _CheckedBatch(batch.num_rows, typed, candidates, counts, numbers)

    def _check_in_full(
        self,
        col: Column,
        raw: pa.Array,
        offset: int,
        candidates: list[Problem],
        counts: dict[str, int],
    ) -> _ColumnResult:
        """Trim, then check every value, collecting each problem with its row."""
        text = _clean(raw)
        if col.required:
            _mask_problems(pc.is_null(text), offset, col.name, "missing-value", candidates, counts)
        result = _check_column(col, text, self.known)
        for invalid, code in (
            (result.invalid, result.code),
            (result.extra_invalid, result.extra_code),
        ):
            if invalid is not None and code:
                n = _mask_problems(
                    pc.fill_null(invalid, False), offset, col.name, code, candidates, counts
                )
                if n and self.quality is not None:
                    self.quality.note_invalid(col.name, n)
        return result


def _store_batch(
    checked: _CheckedBatch,
    pseudonymise: InternalPseudonymiser,
    report: IngestReport,
    writer: pq.ParquetWriter,
    schema: pa.Schema,
    vault: pq.ParquetWriter | None,
) -> None:
    """The second stage: count problems; while the delivery is clean, pseudonymise and write."""
    report.rows += checked.rows
    report.add(checked.candidates, checked.counts)
    if not (report.ok and checked.rows):
        return
    typed = dict(checked.typed)
    typed[PERSON] = pseudonymise(typed[PERSON], checked.numbers)
    writer.write_batch(pa.record_batch([typed[f.name] for f in schema], schema=schema))
    # Persons first seen in this batch (the pseudonymiser remembers the earlier ones).
    fresh_cpr, fresh_person = pseudonymise.fresh
    report.persons.append(fresh_person)
    if vault is not None:
        vault.write_table(pa.table({PERSON: fresh_person, CPR: fresh_cpr}, schema=VAULT_SCHEMA))
