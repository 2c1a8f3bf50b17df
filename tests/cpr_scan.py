"""Find plaintext CPR numbers of a known set in files: the check behind "no CPR at rest"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CPR_SHAPED = re.compile(rb"(?<![0-9])([0-9]{6})-?([0-9]{4})(?![0-9])")


def input_cprs(files: Iterable[Path]) -> set[str]:
    """Every CPR (10 digits, no dash) in the synthetic source files."""
    found: set[str] = set()
    for path in files:
        if path.suffix == ".parquet":
            column = pq.read_table(path, columns=["cpr"])["cpr"]
        elif path.suffix == ".csv":
            opts = pacsv.ConvertOptions(column_types={"cpr": pa.string()}, include_columns=["cpr"])
            column = pacsv.read_csv(path, convert_options=opts)["cpr"]
        else:
            continue
        found.update(v.replace("-", "") for v in column.to_pylist() if v)
    return found


def hits(root: Path, cprs: set[str]) -> dict[str, int]:
    """Files under ``root`` containing any of ``cprs``, written with or without the dash."""
    out: dict[str, int] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        n = sum(1 for m in CPR_SHAPED.finditer(data) if (m[1] + m[2]).decode() in cprs)
        if n:
            out[str(path.relative_to(root))] = n
    return out
