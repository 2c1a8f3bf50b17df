"""What can be wrong with a delivery, in words the source can act on, never in its values.

Problems name the data row (1 = first row after the header), the CSV file's line (counting
the header and any malformed lines, so an editor's line number finds it), the column and a
code. A column
is named only when its name is safe to echo: one of the schema's names or a plain column name.
A header-less file's first line is data (it may hold a CPR), so such "names" are given by
their position in the header instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from gateway.domain.identifiers import COLUMN_NAME, is_valid

# What a file that is not the CSV or Parquet it claims to be raises while it is read: a
# problem of the delivery (422), never an error of the gateway.
UNREADABLE = (
    pa.ArrowInvalid,
    pa.ArrowNotImplementedError,
    pa.ArrowTypeError,
    OSError,
    UnicodeDecodeError,
    ValueError,
)

MESSAGES = {
    "missing-column": "the column required by the dataset schema is missing",
    "unexpected-column": "the column is not in the dataset schema (named only when its name is a "
    "plain column name; otherwise by its position)",
    "duplicate-column": "the column appears more than once in the header",
    "unsupported-type": "the column's type is nested (list, struct or map) or otherwise not a "
    "plain value; deliver text, numbers or dates",
    "missing-value": "a value is required",
    "invalid-cpr-format": "not a CPR number of the form DDMMYY-SSSS or DDMMYYSSSS",
    "invalid-cpr-date": "the CPR number does not encode a valid date of birth",
    "invalid-date": "not a valid date of the form YYYY-MM-DD",
    "invalid-month": "not a valid month of the form YYYY-MM",
    "invalid-integer": "not a whole number",
    "value-not-allowed": "not one of the values the schema allows",
    "invalid-municipality": "not one of the 98 municipality codes",
    "wrong-field-count": "this line has a different number of fields than the header",
    "unreadable-file": "the file could not be read as UTF-8 CSV or as Parquet",
}


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    code: str
    position: int | None = None  # 1-based position in the header, for header problems
    line: int | None = None  # the CSV file's line (1 = the header), where it is known

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": MESSAGES[self.code],
        }
        if self.position is not None:
            out["position"] = self.position
        if self.line is not None:
            out["line"] = self.line
        return out


def raise_if_system_error(exc: BaseException) -> None:
    """An operating-system error (a full disk, a failed write) is the gateway's fault, not the
    file's: it propagates (and is answered 507 or 500), never reported as an unreadable file."""
    if isinstance(exc, OSError) and exc.errno is not None:
        raise exc


def header_problems(
    names: list[str], expected: list[str], types: dict[str, pa.DataType]
) -> list[Problem]:
    """Missing, unexpected, repeated and nested columns. A header name is delivered text: it is
    echoed only if it is one of the schema's names or a plain column name (a header-less file's
    first line holds data, possibly a CPR); otherwise the problem gives its position only."""
    problems = [Problem(None, c, "missing-column") for c in expected if c not in names]
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        shown = name if name in expected or is_valid(COLUMN_NAME, name) else None
        if name not in expected:
            problems.append(Problem(None, shown, "unexpected-column", position))
        elif name in seen:
            problems.append(Problem(None, shown, "duplicate-column", position))
        elif name in types and not _plain(types[name]):
            problems.append(Problem(None, shown, "unsupported-type", position))
        seen.add(name)
    return problems


def _plain(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return not pa.types.is_nested(kind)
