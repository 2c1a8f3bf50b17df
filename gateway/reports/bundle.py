"""The files of an aggregate release, and the zip archive they travel in.

Only tables the disclosure checker has passed (or an approver has released) are written, and
only in their published form: suppressed cells are empty, never their value.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from gateway.domain.disclosure import CheckedTable
from gateway.domain.sdc_report import published_table

# A fixed timestamp keeps the archive's bytes a function of its content (hashes reproduce).
ZIP_DATE = (2016, 1, 1, 0, 0, 0)


def csv_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue()


def json_bytes(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def table_document(checked: CheckedTable, meta: dict[str, Any]) -> dict[str, Any]:
    """A published table as JSON: its rows plus what a reader needs to interpret it."""
    tab = checked.tabulation
    return {
        "name": tab.name,
        "title": tab.title,
        "dimensions": list(tab.dimensions),
        "statistic": tab.statistic,
        "disclosure_status": checked.status.value,
        "suppressed_cells": int(checked.suppressed.sum()),
        "notes": list(tab.notes),
        **meta,
        "rows": published_table(checked).to_pylist(),
    }


def table_files(checked: CheckedTable, meta: dict[str, Any]) -> dict[str, bytes]:
    name = checked.tabulation.name
    return {
        f"tables/{name}.csv": csv_bytes(published_table(checked)),
        f"tables/{name}.json": json_bytes(table_document(checked, meta)),
    }


def zip_bytes(files: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return sink.getvalue()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
