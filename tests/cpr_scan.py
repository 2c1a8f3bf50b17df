"""Find plaintext CPR numbers of a known set in files: the check behind "no CPR at rest"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from gateway.storage.tables import metadata

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


def _count(data: bytes, cprs: set[str]) -> int:
    return sum(1 for m in CPR_SHAPED.finditer(data) if (m[1] + m[2]).decode() in cprs)


def database_hits(engine: Engine, cprs: set[str]) -> dict[str, int]:
    """Tables of the gateway's database holding any of ``cprs`` in any column (any backend)."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            found = 0
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        found += _count(bytes(value), cprs)
                    elif value is not None:
                        found += _count(str(value).encode(), cprs)
            if found:
                out[table.name] = found
    return out


def hits(root: Path, cprs: set[str]) -> dict[str, int]:
    """Files under ``root`` containing any of ``cprs``, written with or without the dash."""
    out: dict[str, int] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        n = _count(data, cprs)
        if n:
            out[str(path.relative_to(root))] = n
    return out
