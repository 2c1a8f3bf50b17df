"""Validate a delivery against its dataset schema and write it pseudonymised, in one pass.

The input file (CSV or Parquet, told apart by Parquet's magic bytes) is read in record
batches. Each batch is checked column by column with Arrow kernels; if the delivery is still
clean, the batch is converted to the stored form (CPR replaced by the internal pseudonym,
dates as dates, integers as integers) and appended to a Parquet writer whose sink is the
sealing (encrypting) writer. Once a problem is found nothing more is written, but checking goes
on so the report counts every problem; the caller discards the partial blob.

Problems name the data row (1 = first row after the header), the column and a code. They never
quote the value: a bad CPR must not travel into a response, a log or the audit trail.

Reading is in :mod:`gateway.dataplane.reading`, the column checks in
:mod:`gateway.dataplane.column_checks`, the quality figures in :mod:`gateway.dataplane.quality`;
this module runs them as a two-stage pipeline and writes the stored form.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.dataplane.column_checks import (
    BIRTH_YEAR,
    SEX,
    ColumnResult,
    check_as_delivered,
    check_column,
    clean,
)
from gateway.dataplane.persons import InternalPseudonymiser
from gateway.dataplane.problems import (
    UNREADABLE,
    Problem,
    header_problems,
    raise_if_system_error,
)
from gateway.dataplane.quality import QualityCounter
from gateway.dataplane.reading import Opener, Reader, with_line
from gateway.domain.catalogue import Column, ColumnType, Dataset

MAX_REPORTED = 100
PERSON = "person"
CPR = "cpr"
# BIRTH_YEAR and SEX (column_checks): derived from the CPR at ingestion, kept only inside the
# hub, used only as aggregate dimensions.
VAULT_SCHEMA = pa.schema(
    [pa.field(PERSON, pa.binary(32), nullable=False), pa.field(CPR, pa.string(), nullable=False)]
)


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
        reader = Reader(opener)
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
        report.problems = [with_line(p, bad) for p in report.problems]
        if reader.malformed:
            report.add(
                [Problem(None, None, "wrong-field-count", line=n) for n in bad[:MAX_REPORTED]],
                {"wrong-field-count": reader.malformed},
            )
    writer.close()
    if vault_writer is not None:
        vault_writer.close()
    return report


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
            result = check_as_delivered(col, raw, self.known)
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
    ) -> ColumnResult:
        """Trim, then check every value, collecting each problem with its row."""
        text = clean(raw)
        if col.required:
            _mask_problems(pc.is_null(text), offset, col.name, "missing-value", candidates, counts)
        result = check_column(col, text, self.known)
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
