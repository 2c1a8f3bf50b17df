"""The output checker: thresholds on distinct persons and margins, secondary suppression that
withstands recomputation, dominance and p-percent per contributor, zeros, rounding, statuses."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from gateway.dataplane.tabulate import Dimension, count_persons, sum_per_person
from gateway.domain.disclosure import (
    Check,
    DisclosureRules,
    Method,
    Status,
    Tabulation,
    check,
    recoverable,
)
from gateway.domain.sdc_report import published_table, results_json

RULES = DisclosureRules(method=Method.SUPPRESSION)  # exact counts: the rules' own behaviour
KOMMUNE = Dimension("kommune", "kommune", ("101", "147", "151"))
TYPE = Dimension("offer_type", "offer_type", ("mentor", "praktik"))


def _events(rows: list[tuple[int, str, str]], value: list[float] | None = None) -> pa.Table:
    """(person number, kommune, offer type) per event; persons as 32-byte pseudonyms."""
    cols = {
        "person": pa.array([p.to_bytes(32, "big") for p, _, _ in rows], pa.binary(32)),
        "kommune": pa.array([k for _, k, _ in rows]),
        "offer_type": pa.array([t for _, _, t in rows]),
    }
    if value is not None:
        cols["amount"] = pa.array(value, pa.float64())
    return pa.table(cols)


def _persons(kommune: str, n: int, start: int, offer: str = "mentor") -> list[tuple[int, str, str]]:
    return [(start + i, kommune, offer) for i in range(n)]


def one_cell(persons: int, rows_each: int = 1) -> Tabulation:
    rows = [r for r in _persons("101", persons, 0) for _ in range(rows_each)]
    return count_persons("t", "t", _events(rows), [KOMMUNE])


@pytest.mark.parametrize(("persons", "hidden"), [(4, True), (5, False)])
def test_threshold_boundary_four_and_five_persons(persons: int, hidden: bool) -> None:
    rows = _persons("101", persons, 0) + _persons("147", 20, 100) + _persons("151", 20, 200)
    checked = check(count_persons("t", "t", _events(rows), [KOMMUNE]), RULES)
    assert checked.flags[Check.THRESHOLD][0] == hidden
    assert np.isnan(checked.published_persons[0]) == hidden
    assert checked.status is Status.PASS


def test_ten_rows_from_three_persons_fail() -> None:
    table = one_cell(3, rows_each=10)  # ten rows, three persons: rows are not persons
    assert int(table.persons[0]) == 3
    strict = check(table, RULES.model_copy(update={"suppress": False}))
    assert strict.status is Status.FAIL
    assert strict.flags[Check.THRESHOLD][0]
    # With suppression on, the only cell and its total are hidden: nothing left to publish.
    assert check(table, RULES).status is Status.FAIL


def test_margins_are_checked_too() -> None:
    # Two cells of 3 and 4 persons are hidden, and so is their total of 7? No: 7 passes, but
    # a column margin of 3 + 1 persons must be hidden even though no rule fires on its parts.
    rows = _persons("101", 3, 0, "mentor") + _persons("101", 1, 50, "praktik")
    rows += _persons("147", 30, 100, "mentor") + _persons("147", 30, 200, "praktik")
    table = count_persons("t", "t", _events(rows), [KOMMUNE, TYPE])
    checked = check(table, RULES)
    assert checked.flags[Check.THRESHOLD][0, 2]  # kommune 101, all offer types: 4 persons
    assert checked.suppressed[0, 2]


def test_a_margin_that_reveals_a_suppressed_cell_is_caught() -> None:
    rows = _persons("101", 2, 0, "mentor") + _persons("101", 40, 10, "praktik")
    rows += _persons("147", 30, 100, "mentor") + _persons("147", 35, 200, "praktik")
    rows += _persons("151", 25, 300, "mentor") + _persons("151", 20, 400, "praktik")
    table = count_persons("t", "t", _events(rows), [KOMMUNE, TYPE])
    primary_only = table.persons.astype(float)
    hidden = np.zeros(table.persons.shape, bool)
    hidden[0, 0] = True  # only the small cell: 101's total minus praktik gives it away
    assert recoverable(primary_only, hidden)[0, 0]
    checked = check(table, RULES)
    assert checked.flags[Check.SECONDARY].any()
    assert not recoverable(table.persons.astype(float), checked.suppressed).any()
    # No line (row or column with its total) has exactly one hidden entry.
    for axis in range(2):
        assert not (checked.suppressed.sum(axis=axis) == 1).any()


def _dominance_table(share: float) -> Tabulation:
    """One cell of 10 persons: two large contributors holding ``share`` of the total."""
    rows = _persons("101", 10, 0)
    big = share * 1000.0 / 2
    small = (1000.0 - 2 * big) / 8
    values = [big, big] + [small] * 8
    return sum_per_person("s", "s", _events(rows, values), [KOMMUNE], "amount")


@pytest.mark.parametrize(("share", "fires"), [(0.84, False), (0.86, True)])
def test_dominance_n2_k85_boundary(share: float, fires: bool) -> None:
    checked = check(_dominance_table(share), RULES.model_copy(update={"p_percent": 0.0}))
    assert checked.flags[Check.NK_RULE][0] == fires


def test_dominance_is_per_contributor_not_per_row() -> None:
    # One person with 9 rows of 100 and nine others with 10 each: per row nothing dominates,
    # per person the first holds 900 of 990.
    rows = [(0, "101", "mentor")] * 9 + _persons("101", 9, 1)
    values = [100.0] * 9 + [10.0] * 9
    checked = check(sum_per_person("s", "s", _events(rows, values), [KOMMUNE], "amount"), RULES)
    assert checked.flags[Check.NK_RULE][0]


def test_p_percent_rule() -> None:
    rows = _persons("101", 6, 0)
    # x1 = 500, x2 = 300, the rest 4 x 10 = 40 < 10 % of 500: the second could estimate the first.
    values = [500.0, 300.0, 10.0, 10.0, 10.0, 10.0]
    table = sum_per_person("s", "s", _events(rows, values), [KOMMUNE], "amount")
    lenient_k = RULES.model_copy(update={"dominance_k": 100.0})
    assert check(table, lenient_k).flags[Check.P_RATIO][0]
    values = [500.0, 300.0, 20.0, 20.0, 20.0, 20.0]  # rest 80 >= 50: safe
    table = sum_per_person("s", "s", _events(rows, values), [KOMMUNE], "amount")
    assert not check(table, lenient_k).flags[Check.P_RATIO][0]


def test_negative_contributions_give_review() -> None:
    rows = _persons("101", 10, 0) + _persons("147", 10, 100) + _persons("151", 10, 200)
    values = [100.0] * 29 + [-50.0]
    table = sum_per_person("s", "s", _events(rows, values), [KOMMUNE], "amount")
    checked = check(table, RULES)
    assert checked.status is Status.REVIEW
    assert checked.flags[Check.NEGATIVE][2]
    assert "negative" in checked.summary()


def test_zero_cells_follow_the_policy() -> None:
    rows = _persons("101", 10, 0) + _persons("147", 10, 100)  # 151 has nobody
    table = count_persons("t", "t", _events(rows), [KOMMUNE])
    assert not check(table, RULES).suppressed[2]
    zeros = check(table, RULES.model_copy(update={"zeros_disclosive": True}))
    assert zeros.flags[Check.ZEROS][2] and zeros.suppressed[2]


def test_rounding_to_base_five_recomputes_totals_from_published_cells() -> None:
    rows = _persons("101", 12, 0) + _persons("147", 18, 100) + _persons("151", 3, 200)
    table = count_persons("t", "t", _events(rows), [KOMMUNE])
    checked = check(table, RULES.model_copy(update={"method": Method.ROUNDING, "rounding_base": 5}))
    published = checked.published_persons
    assert published[0] == 10 and published[1] == 20 and np.isnan(published[2])
    assert published[3] == 30  # 10 + 20: the total of published cells, not the true 33


def test_strictest_combines_rules() -> None:
    strict = RULES.strictest(
        DisclosureRules(min_persons=10, zeros_disclosive=True, rounding_base=5)
    )
    assert strict.min_persons == 10 and strict.zeros_disclosive and strict.rounding_base == 5
    assert RULES.strictest(DisclosureRules(min_persons=3)).min_persons == 5


def test_published_table_and_report_never_carry_suppressed_values() -> None:
    rows = _persons("101", 3, 0) + _persons("147", 20, 100) + _persons("151", 30, 200)
    checked = check(count_persons("t", "t", _events(rows), [KOMMUNE]), RULES)
    table = published_table(checked)
    assert table.column_names == ["kommune", "persons", "flag"]
    assert table["kommune"].to_pylist() == ["101", "147", "151", "Total"]
    out = table.to_pylist()
    assert out[0]["persons"] is None and out[0]["flag"].startswith("suppressed")
    report = results_json([checked], command="test", timestamp="t", files=["output_0.csv"])
    entry = report["results"]["output_0"]
    assert entry["status"] == "pass" and entry["type"] == "table"
    sdc = entry["files"][0]["sdc"]
    assert sdc["summary"]["threshold"] == 1 and sdc["summary"]["suppressed"] is True
    assert [0, 1] in sdc["cells"]["threshold"]
    text = json.dumps(report)
    assert '"persons": 3' not in text and "53" not in text  # neither the cell nor the true total
