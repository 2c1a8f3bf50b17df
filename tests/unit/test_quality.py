"""The quality report's figures against hand-computed ones, and its flags against the rules.

``tests/fixtures/quality/lpr-2016-11.csv`` (period 2016-11):

1. 0101801111, 101, 3-5 Nov: in the month.
2. the same row, the CPR written with a dash: a repeat of row 1.
3. 0202802222, 101, 1-15 Oct: ended before the month.
4. 0303803333, 147, from 2 Dec, no end: starts after the month; end missing.
5. 0404804444, 147, from 1 Sep, no end: open, so in the month; end missing.
6. 0505805555, 151, 30 Nov - 1 Dec: in the month.

``ssr-2016-11.csv``, service dates known to within two months (``policies/datasets/ssr.yaml``):
1 Nov (first of a month), 15 Oct (-1), 1 Sep (-2, first of a month), 31 Aug (before -2),
1 Dec (+1, first of a month).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from gateway.dataplane.ingest import ingest
from gateway.dataplane.quality import QualityCounter
from gateway.domain import quality
from gateway.domain.catalogue import Catalogue

FIXTURES = Path(__file__).parent.parent / "fixtures" / "quality"


def _figures(catalogue: Catalogue, dataset: str) -> dict[str, Any]:
    body = (FIXTURES / f"{dataset}-2016-11.csv").read_bytes()
    ds = catalogue.datasets[dataset]
    counter = QualityCounter(ds, "2016-11", list(catalogue.municipalities))
    report = ingest(
        lambda: io.BytesIO(body),
        ds,
        municipalities=list(catalogue.municipalities),
        pseudonym_key=b"k" * 32,
        sink=io.BytesIO(),
        vault=io.BytesIO(),
        quality=counter,
    )
    assert report.ok, report.problems
    return counter.figures(len(report.distinct_persons()))


def test_lpr_figures_by_hand(catalogue: Catalogue) -> None:
    f = _figures(catalogue, "lpr")
    assert (f["rows"], f["persons"]) == (6, 5)
    assert f["columns"]["contact_end"] == {
        "optional": True,
        "missing": 2,
        "invalid": 0,
        "completeness": round(4 / 6, 4),
    }
    assert f["columns"]["kommune"]["completeness"] == 1.0
    assert f["municipalities"] == {"column": "kommune", "rows": {"101": 3, "147": 2, "151": 1}}
    assert f["events"] == {
        "rule": "in-period",
        "before_period": 1,
        "after_period": 1,
        "within_imprecision": 0,
        "outside_period": 2,
    }
    assert f["duplicates"] == {"rows": 1, "exact": True}
    assert "date_precision" not in f


def test_ssr_imprecise_dates_by_hand(catalogue: Catalogue) -> None:
    f = _figures(catalogue, "ssr")
    assert (f["rows"], f["persons"]) == (5, 4)
    assert "municipalities" not in f  # SSR has no municipality column
    assert f["events"] == {
        "rule": "in-period",
        "before_period": 3,  # 15 Oct, 1 Sep, 31 Aug
        "after_period": 1,  # 1 Dec
        "within_imprecision": 3,  # all but 31 Aug are within two months
        "outside_period": 1,
    }
    assert f["date_precision"]["service_date"] == {
        "months": 2,
        "by_month_offset": {"<-2": 1, "-2": 1, "-1": 1, "+0": 1, "+1": 1, "+2": 0, ">+2": 0},
        "outside_month": 4,
        "first_of_month": 3,
    }
    assert f["duplicates"]["rows"] == 0  # same person and provider, other dates


def test_assessment_against_a_previous_month(catalogue: Catalogue) -> None:
    figures = _figures(catalogue, "lpr")
    rules = catalogue.datasets["lpr"].quality
    municipalities = list(catalogue.municipalities)
    alone = quality.assess(figures, rules, municipalities=municipalities, previous=None)
    # 2 of 6 rows outside the month (> 1 %), 1 of 6 repeated (> 0.1 %), 3 of 98 municipalities.
    assert [f["code"] for f in alone["flags"]] == [
        "partial-coverage",
        "events-outside-period",
        "duplicate-events",
    ]
    assert alone["coverage"]["delivered"] == 3 and len(alone["coverage"]["missing"]) == 95
    before = {
        "rows": 100,
        "persons": 80,
        "municipalities": {"rows": {"101": 50, "147": 30, "151": 20, "153": 40}},
    }
    report = quality.assess(
        figures,
        rules,
        municipalities=municipalities,
        previous={"delivery": "dlv-earlier", "period": "2016-10", "quality": before},
    )
    prev = report["previous"]
    assert (prev["rows_change"], prev["persons_change"]) == (-0.94, round(5 / 80 - 1, 4))
    assert prev["municipalities_lost"] == ["153"]
    # 101: 50 -> 3 and 147: 30 -> 2 are beyond chance (rows per person 1.2, four standard
    # deviations); 151: 20 -> 1 is not (19 < 4 * sqrt(1.2 * 21) = 20.1).
    assert [c["kommune"] for c in prev["municipalities_changed"]] == ["101", "147"]
    codes = [f["code"] for f in report["flags"]]
    assert {
        "rows-changed",
        "persons-changed",
        "municipalities-lost",
        "municipality-changed",
    } <= set(codes)
    assert report["status"] == "flagged"
    summary = quality.for_release(report)
    assert summary["coverage"]["delivered"] == 3
    assert summary["outside_period_share"] == round(2 / 6, 3)
    assert "municipalities" not in summary and "previous" not in summary  # no counts
    sentence = quality.note("lpr", "2016-11", summary)
    assert sentence.startswith("lpr 2016-11: rows from 3 of 98 municipalities")


@pytest.mark.parametrize(
    ("now", "before", "flagged"),
    [(9, 20, False), (40, 100, True), (120, 100, False), (200, 100, True)],
)
def test_change_is_flagged_only_beyond_threshold_and_chance(
    now: int, before: int, flagged: bool
) -> None:
    rules = quality.QualityRules()
    figures = {
        "period": "2016-11",
        "rows": now,
        "persons": now,
        "columns": {},
        "events": {"outside_period": 0},
        "duplicates": {"rows": 0, "exact": True},
    }
    previous = {
        "delivery": "d",
        "period": "2016-10",
        "quality": {"rows": before, "persons": before},
    }
    report = quality.assess(figures, rules, municipalities=["101"], previous=previous)
    assert ("rows-changed" in [f["code"] for f in report["flags"]]) is flagged
