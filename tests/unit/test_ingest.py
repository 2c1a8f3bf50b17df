"""Validation and the stored form of a delivery (Arrow, batch by batch)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gateway.crypto.pseudonyms import Hmac
from gateway.dataplane.ingest import MAX_REPORTED, PERSON, IngestReport, ingest
from gateway.domain.catalogue import Catalogue

KEY = b"k" * 32
LPR_HEADER = "cpr,kommune,contact_start,contact_end,contact_type,diagnosis_chapter\n"


def run(catalogue: Catalogue, dataset: str, body: bytes) -> tuple[IngestReport, bytes]:
    sink = io.BytesIO()
    report = ingest(
        lambda: io.BytesIO(body),
        catalogue.datasets[dataset],
        municipalities=list(catalogue.municipalities),
        pseudonym_key=KEY,
        sink=sink,
    )
    return report, sink.getvalue()


def test_clean_csv_is_stored_pseudonymised_and_typed(catalogue: Catalogue) -> None:
    body = (
        LPR_HEADER + "010170-1234,101,2016-11-02,2016-11-03,somatisk,F\n"
        "0101701234,751,2016-11-05,,psykiatrisk,F\n"
    ).encode()
    report, stored = run(catalogue, "lpr", body)
    assert report.ok and report.rows == 2
    table = pq.read_table(io.BytesIO(stored))
    assert table.column_names[0] == PERSON and "cpr" not in table.column_names
    persons = table[PERSON].to_pylist()
    assert persons[0] == persons[1] == Hmac(KEY).digest(b"0101701234")  # dash or not: one person
    assert table.schema.field("contact_start").type == pa.date32()
    assert table["contact_end"].to_pylist()[1] is None
    assert b"0101701234" not in stored and b"010170-1234" not in stored


def test_problems_name_row_column_and_code_but_never_the_value(catalogue: Catalogue) -> None:
    body = (
        LPR_HEADER + "300216-1234,101,2016-11-31,,somatisk,F\n"
        "12345,999,2016-11-01,,ambulant,F\n"
        ",101,2016-11-01,,somatisk,F\n"
    ).encode()
    report, _ = run(catalogue, "lpr", body)
    found = {(p.row, p.column, p.code) for p in report.problems}
    assert found == {
        (1, "cpr", "invalid-cpr-date"),
        (1, "contact_start", "invalid-date"),
        (2, "cpr", "invalid-cpr-format"),
        (2, "kommune", "invalid-municipality"),
        (2, "contact_type", "value-not-allowed"),
        (3, "cpr", "missing-value"),
    }
    text = str([p.as_dict() for p in report.problems])
    assert "300216" not in text and "12345" not in text and "ambulant" not in text


def test_at_most_100_problems_are_listed_but_all_are_counted(catalogue: Catalogue) -> None:
    body = (LPR_HEADER + "999999-9999,101,2016-11-01,,somatisk,F\n" * 250).encode()
    report, _ = run(catalogue, "lpr", body)
    assert len(report.problems) == MAX_REPORTED
    assert report.problem_count == 250
    assert [p.row for p in report.problems] == list(range(1, 101))


def test_header_problems_and_malformed_lines(catalogue: Catalogue) -> None:
    report, _ = run(catalogue, "lpr", b"cpr,kommune,extra\n0101701234,101,x\n")
    codes = {(p.column, p.code) for p in report.problems}
    assert ("contact_start", "missing-column") in codes and ("extra", "unexpected-column") in codes
    report, _ = run(catalogue, "lpr", (LPR_HEADER + "0101701234,101\n").encode())
    assert report.codes == {"wrong-field-count": 1}


def test_semicolon_csv_and_parquet_are_accepted(catalogue: Catalogue) -> None:
    body = LPR_HEADER.replace(",", ";") + "0101701234;101;2016-11-02;;somatisk;F\n"
    report, _ = run(catalogue, "lpr", body.encode())
    assert report.ok and report.rows == 1
    table = pa.table(
        {
            "cpr": ["0101701234"],
            "service_date": ["2016-11-04"],
            "provider_type": ["psykolog"],
            "services": [2],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    report, stored = run(catalogue, "ssr", buf.getvalue())
    assert report.ok, report.problems
    assert pq.read_table(io.BytesIO(stored))["services"].to_pylist() == [2]


def test_unreadable_and_header_only_files(catalogue: Catalogue, tmp_path: Path) -> None:
    report, _ = run(catalogue, "lpr", b"\xff\xfe\x00garbage")
    assert not report.ok
    report, stored = run(catalogue, "lpr", LPR_HEADER.encode())
    assert report.ok and report.rows == 0
    assert pq.read_table(io.BytesIO(stored)).num_rows == 0


def test_problems_name_the_file_line_even_after_a_malformed_line(catalogue: Catalogue) -> None:
    """Line 3 has too few fields and is skipped by the parser; the bad date on line 5 is data
    row 3, and its problem says line 5, where an editor finds it."""
    good = "0101701234,101,2016-11-02,,somatisk,F\n"
    body = LPR_HEADER + good + "0101701234,101\n" + good + "0101701234,101,2016-13-45,,somatisk,F\n"
    report, _ = run(catalogue, "lpr", body.encode())
    found = {(p.code, p.row, p.line) for p in report.problems}
    assert ("wrong-field-count", None, 3) in found
    assert ("invalid-date", 3, 5) in found
    assert "line" in report.problems[0].as_dict()
