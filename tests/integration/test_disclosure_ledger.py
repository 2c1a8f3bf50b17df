"""The attacks of a statistician holding every published table, over HTTP, on both backends:

* two recipients pooling what each was shown (one ledger of everything published);
* nested categories across variables (a psychiatric contact implies a chapter F diagnosis);
* the suppressed cells of a line together (a margin minus the visible cells);
* linear programming over every published table (the attacker of :mod:`tests.sdc_attacker`);
* a person count that escapes the configured protection (every output, one step);
* grants whose tables stay with their recipient (``aggregates.scope: confidential``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from gateway.dataplane import synth
from gateway.domain.disclosure import DisclosureRules, Method
from gateway.domain.policy_files import load_catalogue
from gateway.domain.principals import Role
from tests.conftest import (
    EXACT_COUNTS,
    POLICIES,
    Gateway,
    Synthetic,
    edited_policies,
    running_gateway,
)
from tests.integration.test_aggregates_api import DPO, approved, run
from tests.sdc_attacker import Cell, Shown, attack, truth_of

K = 5
RESOURCE = "persons-in-resource-course"
DFDG = ["kommune", "record_type", "offer_type", "start_date", "end_date"]
FLIS = ["kommune", "paragraph", "target_group", "start_date", "end_date"]
LPR = ["contact_start", "contact_end", "contact_type", "diagnosis_chapter"]


def _spec(dataset: str, columns: list[str], dims: list[str], months: tuple[str, str]) -> Any:
    return {
        "purpose": "statistics",
        "population": RESOURCE,
        "period_from": months[0],
        "period_to": months[1],
        "datasets": [{"dataset": dataset, "columns": columns}],
        "output": "aggregate",
        "aggregate": {"dataset": dataset, "statistic": "persons", "dimensions": dims},
    }


def _release(gw: Gateway, recipient: str, spec: dict[str, Any]) -> dict[str, Any]:
    rel = run(gw, recipient, approved(gw, recipient, spec))
    assert rel.status_code == 201, rel.text
    body: dict[str, Any] = rel.json()
    return body


def _rows(gw: Gateway, recipient: str, release_id: str) -> list[dict[str, Any]]:
    r = gw.client.get(
        f"/v1/releases/{release_id}/content", headers=gw.auth(recipient, Role.RECIPIENT)
    )
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".json"))
        rows: list[dict[str, Any]] = json.loads(archive.read(name))["rows"]
    return rows


def _summary(gw: Gateway, release_id: str) -> dict[str, Any]:
    report = gw.client.get(
        f"/v1/releases/{release_id}/disclosure-report", headers=gw.auth(*DPO)
    ).json()
    summary: dict[str, Any] = report["results"]["output_0"]["files"][0]["sdc"]["summary"]
    return summary


def _push(gw: Gateway, synthetic: Synthetic, *datasets: str) -> None:
    for dataset in datasets:
        r = gw.push(synthetic.files[dataset].source, dataset, synthetic.bytes(dataset))
        assert r.status_code == 201, r.text


def _october(tmp_path: Path) -> dict[str, bytes]:
    files = synth.generate(load_catalogue(POLICIES), tmp_path, period="2016-10", scale=0.05)
    return {f.dataset: (tmp_path / f.path).read_bytes() for f in files}


def _push_two_months(gw: Gateway, synthetic: Synthetic, tmp_path: Path, *datasets: str) -> None:
    october = _october(tmp_path / "october")
    for dataset in datasets:
        source = synthetic.files[dataset].source
        assert gw.push(source, dataset, october[dataset], "2016-10").status_code == 201
        assert gw.push(source, dataset, synthetic.bytes(dataset)).status_code == 201


def test_two_recipients_pooling_their_tables_learn_no_small_count(
    exact_gateway: Gateway, synthetic: Synthetic, tmp_path: Path
) -> None:
    """The statistics warehouse is shown adult-disability users by municipality over
    October-November; DST's ministry scheme, for November, and by municipality and gender.
    Side by side, no municipality's counts differ by 1 to 4 persons (a total over two months
    minus one month; a municipality minus its women): the scheme's tables were checked
    against the warehouse's, although they went to another recipient."""
    gw = exact_gateway
    _push_two_months(gw, synthetic, tmp_path, "dfdg-indsats", "flis-voksenhandicap")
    both = ("2016-10", "2016-11")
    first = _release(gw, "star-statistik", _spec("flis-voksenhandicap", FLIS, ["kommune"], both))
    month = _release(
        gw,
        "star-dst-ministerieordning",
        _spec("flis-voksenhandicap", FLIS, ["kommune"], ("2016-11", "2016-11")),
    )
    split = _release(
        gw,
        "star-dst-ministerieordning",
        _spec("flis-voksenhandicap", FLIS, ["kommune", "gender"], both),
    )
    a = {r["kommune"]: r["persons"] for r in _rows(gw, "star-statistik", first["id"])}
    b = {r["kommune"]: r["persons"] for r in _rows(gw, "star-dst-ministerieordning", month["id"])}
    c = {
        (r["kommune"], r["gender"]): r["persons"]
        for r in _rows(gw, "star-dst-ministerieordning", split["id"])
    }
    compared = 0
    for kommune, total in a.items():
        for other in (b.get(kommune), c.get((kommune, "kvinde")), c.get((kommune, "mand"))):
            if total is not None and other is not None:
                compared += 1
                assert not 0 < abs(total - other) < K, (kommune, total, other)
    assert compared > 10
    # What the warehouse was shown made some of the scheme's cells differences of 1 to 4
    # persons: the ledger hid them, across recipients.
    hidden = sum(_summary(gw, r["id"]).get("differencing", 0) for r in (month, split))
    assert hidden > 0


def test_nested_categories_across_variables_are_never_a_small_difference(
    exact_gateway: Gateway, synthetic: Synthetic
) -> None:
    """Persons with a chapter F diagnosis minus persons with a psychiatric contact (which
    implies one) are persons with a chapter F diagnosis outside psychiatry: never 1 to 4,
    overall or by gender, across two tables on two variables."""
    gw = exact_gateway
    _push(gw, synthetic, "dfdg-indsats", "lpr")
    month = ("2016-11", "2016-11")
    chapters = _release(
        gw, "star-statistik", _spec("lpr", LPR, ["diagnosis_chapter", "age_band"], month)
    )
    kinds = run(
        gw,
        "star-statistik",
        approved(gw, "star-statistik", _spec("lpr", LPR, ["contact_type", "age_band"], month)),
    )
    if kinds.status_code == 403:  # refused outright: nothing of it was published
        assert "differencing" in kinds.text
        return
    assert kinds.status_code == 201, kinds.text

    def cells(release_id: str, column: str, value: str) -> dict[str, Any]:
        rows = _rows(gw, "star-statistik", release_id)
        return {r["age_band"]: r["persons"] for r in rows if r[column] == value}

    f = cells(chapters["id"], "diagnosis_chapter", "F")
    psych = cells(kinds.json()["id"], "contact_type", "psykiatrisk")
    for key, value in f.items():
        if value is not None and psych.get(key) is not None:
            assert not 0 < value - psych[key] < K, (key, value, psych[key])
    # The nesting made differences of 1 to 4 persons: the ledger hid cells for it.
    assert _summary(gw, kinds.json()["id"]).get("differencing", 0) > 0


AGE_BANDS = ("under 30", "30-39", "40-49", "50-59", "60 and over")
LEVELS = {
    "diagnosis_chapter": tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "contact_type": ("somatisk", "psykiatrisk"),
    "gender": ("kvinde", "mand"),
    "age_band": AGE_BANDS,
}


def _lpr_truth(synthetic: Synthetic) -> tuple[dict[Cell, int], set[tuple[Cell, str]]]:
    """True counts of every cell and margin of up to three of (chapter, contact type, gender,
    age band) for persons in a resource course in November, from the plaintext files, and
    which lines add up."""
    from gateway.domain import cpr

    dfdg = pacsv.read_csv(
        synthetic.path("dfdg-indsats"),
        convert_options=pacsv.ConvertOptions(column_types={"cpr": pa.string()}),
    )
    first, last = dt.date(2016, 11, 1), dt.date(2016, 11, 30)

    def overlapping(table: pa.Table, start: str, end: str) -> pa.Table:
        keep = pc.and_kleene(
            pc.less_equal(table[start], pa.scalar(last)),
            pc.or_kleene(pc.is_null(table[end]), pc.greater_equal(table[end], pa.scalar(first))),
        )
        return table.filter(keep)

    courses = overlapping(dfdg, "start_date", "end_date")
    courses = courses.filter(pc.equal(courses["record_type"], "ressourceforloeb"))
    population = {c.replace("-", "") for c in courses["cpr"].to_pylist()}
    lpr = overlapping(
        pacsv.read_csv(
            synthetic.path("lpr"),
            convert_options=pacsv.ConvertOptions(column_types={"cpr": pa.string()}),
        ),
        "contact_start",
        "contact_end",
    )
    people: dict[object, list[dict[str, str]]] = {}
    for row in lpr.to_pylist():
        digits = row["cpr"].replace("-", "")
        if digits in population:
            born = cpr.birth_date(digits)
            assert born is not None
            people.setdefault(digits, []).append(
                {
                    "diagnosis_chapter": row["diagnosis_chapter"],
                    "contact_type": row["contact_type"],
                    "gender": "kvinde" if int(digits[-1]) % 2 == 0 else "mand",
                    "age_band": AGE_BANDS[bisect.bisect_right([30, 40, 50, 60], 2016 - born.year)],
                }
            )
    return truth_of(people, LEVELS)


def test_an_lp_over_every_published_table_pins_no_small_count(
    exact_gateway: Gateway, synthetic: Synthetic
) -> None:
    """Five tables of hospital contacts published one after another: an attacker's
    linear program over all of them (lines, nesting between the two variables) leaves every
    count of 1 to 4 persons at least five values wide."""
    gw = exact_gateway
    _push(gw, synthetic, "dfdg-indsats", "lpr")
    month = ("2016-11", "2016-11")
    shapes = [
        ["diagnosis_chapter", "gender", "age_band"],
        ["contact_type", "gender", "age_band"],
        ["diagnosis_chapter", "age_band"],
        ["contact_type", "age_band"],
        ["gender", "age_band"],
    ]
    rules = DisclosureRules(method=Method.SUPPRESSION)
    shown = []
    for dims in shapes:
        rel = run(
            gw, "star-statistik", approved(gw, "star-statistik", _spec("lpr", LPR, dims, month))
        )
        if rel.status_code == 403:  # the checker may refuse a table outright: nothing leaves
            assert rel.json()["type"].endswith("/disclosure-refused")
            continue
        assert rel.status_code == 201, rel.text
        rows = _rows(gw, "star-statistik", rel.json()["id"])
        shown.append(Shown.from_rows(tuple(dims), tuple(LEVELS[d] for d in dims), rows, rules))
    assert len(shown) >= 3
    truth, additive = _lpr_truth(synthetic)
    findings = attack(
        shown,
        truth,
        additive=additive,
        implications=((("contact_type", "psykiatrisk"), ("diagnosis_chapter", "F")),),
        floor=K,
    )
    assert findings  # there were small counts to look for
    narrow = [f for f in findings if f.width < rules.protection_interval]
    assert not narrow, narrow[:5]


ROUNDING = {
    "disclosure.yaml": [
        ("method: cell-key", "method: rounding"),
        ("rounding_base: null", "rounding_base: 5"),
    ]
}


def _counts(doc: Any, key: str | None = None) -> list[int]:
    """Every person count in a JSON document: values of keys that count persons."""
    found: list[int] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += _counts(v, k)
    elif isinstance(doc, list):
        for item in doc:
            found += _counts(item, key)
    elif (
        isinstance(doc, int)
        and not isinstance(doc, bool)
        and key is not None
        and ("person" in key or key in ("persons_in_course",))
    ):
        found.append(doc)
    return found


def test_every_person_count_leaving_the_hub_passes_the_one_protection_step(
    tmp_path: Path, synthetic: Synthetic, database_url: str
) -> None:
    """Under rounding to 5, every person count in every output (count tables, the persons
    column of sum tables, margins, report figures, a release's metadata) is a multiple of 5:
    none escapes the configured protection."""
    policies = edited_policies(tmp_path / "policies", ROUNDING)
    with running_gateway(tmp_path / "var", policies, database_url) as gw:
        for dataset, f in synthetic.files.items():
            if dataset != "laegemiddelstatistik":
                assert gw.push(f.source, dataset, synthetic.bytes(dataset)).status_code == 201
        month = ("2016-11", "2016-11")
        specs = [
            _spec("flis-voksenhandicap", FLIS, ["kommune", "gender"], month),
            {
                **_spec("ssr", ["service_date", "provider_type", "services"], [], month),
                "aggregate": {
                    "dataset": "ssr",
                    "statistic": "sum",
                    "value": "services",
                    "dimensions": ["provider_type", "gender"],
                },
            },
        ]
        documents = []
        for spec in specs:
            body = _release(gw, "star-statistik", spec)
            assert body["persons"] is None or body["persons"] % 5 == 0
            documents.append({"rows": _rows(gw, "star-statistik", body["id"])})
        report = gw.client.post(
            "/v1/reports/ressourceforloeb/runs",
            params={"period": "2016-11"},
            headers=gw.auth("star-statistik", Role.RECIPIENT),
        )
        assert report.status_code == 201, report.text
        assert report.json()["persons"] is None or report.json()["persons"] % 5 == 0
        content = gw.client.get(
            f"/v1/releases/{report.json()['id']}/content",
            headers=gw.auth("star-statistik", Role.RECIPIENT),
        )
        with zipfile.ZipFile(io.BytesIO(content.content)) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    documents.append(json.loads(archive.read(name)))
                if name.endswith(".csv"):
                    table = pacsv.read_csv(io.BytesIO(archive.read(name)))
                    documents.append({"rows": table.to_pylist()})
        counts = [c for doc in documents for c in _counts(doc)]
        assert len(counts) > 100
        assert all(c % 5 == 0 for c in counts), sorted({c for c in counts if c % 5})[:10]


CONFIDENTIAL = """    aggregates:
      scope: confidential
      confidential_citation: >-
        Test fixture - the agreement under which this recipient's tables stay with it and are
        never published.
"""


def test_confidential_tables_are_checked_only_against_what_their_recipient_holds(
    tmp_path: Path, synthetic: Synthetic, database_url: str
) -> None:
    """Two recipients whose grants keep their tables confidential: the second recipient's
    table is not checked against the first's (neither sees the other's), only against the
    published ones and its own."""
    edits: dict[str, Any] = {**EXACT_COUNTS}
    for recipient, grant in (
        ("star-statistik", "star-statistik-flis-voksenhandicap"),
        ("star-dst-ministerieordning", "star-dst-ministerieordning-flis-voksenhandicap"),
    ):
        text = (POLICIES / "grants" / f"{recipient}.yaml").read_text()
        start = text.index(f"id: {grant}")
        anchor = text.index("    valid_from:", start)
        edits[f"grants/{recipient}.yaml"] = (
            text[start:anchor],
            text[start:anchor] + CONFIDENTIAL,
        )
    policies = edited_policies(tmp_path / "policies", edits)
    with running_gateway(tmp_path / "var", policies, database_url) as gw:
        _push_two_months(gw, synthetic, tmp_path, "dfdg-indsats", "flis-voksenhandicap")
        both = ("2016-10", "2016-11")
        dst = "star-dst-ministerieordning"
        _release(gw, dst, _spec("flis-voksenhandicap", FLIS, ["kommune"], both))
        other = _release(
            gw, "star-statistik", _spec("flis-voksenhandicap", FLIS, ["kommune", "gender"], both)
        )
        # Not compared with the other recipient's confidential table: nothing hidden for it.
        assert _summary(gw, other["id"]).get("differencing", 0) == 0
        own = _release(gw, dst, _spec("flis-voksenhandicap", FLIS, ["kommune", "gender"], both))
        # The same table for the recipient that holds the first: a municipality minus its
        # women or men is a difference of 1 to 4 persons somewhere, and is hidden.
        assert _summary(gw, own["id"]).get("differencing", 0) > 0
