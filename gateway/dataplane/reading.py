"""Reading a delivery: CSV (comma or semicolon, told apart by the header line) or Parquet
(told apart by its magic bytes), as batches of string columns, and the file lines of
malformed records for the problem report.

A file is read more than once (sniff, header, batches, and on the error path the malformed
lines), so callers pass a way to open it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gateway.dataplane.problems import Problem

CSV_BLOCK = 8 << 20
PARQUET_BATCH = 256_000

Readable = BinaryIO | io.RawIOBase
Opener = Callable[[], Readable]


def _first_line(opener: Opener) -> bytes:
    with opener() as fh:
        return fh.readline(64 * 1024)


class Reader:
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


def with_line(problem: Problem, malformed: list[int]) -> Problem:
    """The file line of a problem's data row: the header, the row, and every malformed line
    (skipped by the parser, so not counted in rows) that comes before it."""
    if problem.row is None:
        return problem
    skipped = 0
    while skipped < len(malformed) and malformed[skipped] <= 1 + problem.row + skipped:
        skipped += 1
    return dataclasses.replace(problem, line=1 + problem.row + skipped)
