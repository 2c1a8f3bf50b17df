"""A delivery's quality report over HTTP: in the receipt, against the previous month, at its
own endpoint for the source and approvers only, and carried into the releases that read it."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from gateway.dataplane import synth
from gateway.domain.catalogue import Catalogue
from gateway.domain.principals import Principal, Role
from gateway.errors import Forbidden
from gateway.services.deliveries import reads as deliveries
from tests.conftest import Gateway, Synthetic
from tests.integration.test_extracts_api import LINKED, push_all, release_for

SOURCE = "sundhedsdatastyrelsen"
TEXT = pa.string()


def _without_municipality(body: bytes, code: str) -> bytes:
    table = pacsv.read_csv(
        io.BytesIO(body),
        convert_options=pacsv.ConvertOptions(column_types={"cpr": TEXT, "kommune": TEXT}),
    )
    kept = table.filter(pc.not_equal(table["kommune"], code))
    out = io.BytesIO()
    pacsv.write_csv(kept, out)
    return out.getvalue()


def test_a_month_that_lost_a_municipality_is_flagged_and_the_flag_travels(
    gateway: Gateway, synthetic: Synthetic, catalogue: Catalogue, tmp_path: Path
) -> None:
    october = {
        f.dataset: f for f in synth.generate(catalogue, tmp_path, period="2016-10", scale=0.05)
    }
    r = gateway.push(SOURCE, "lpr", (tmp_path / october["lpr"].path).read_bytes(), period="2016-10")
    assert r.status_code == 201, r.text
    assert "previous" not in r.json()["quality"]  # nothing earlier to compare with

    push_all(gateway, synthetic)  # November, complete
    # A corrected November without Copenhagen (101): its rows there are far beyond chance.
    short = _without_municipality(synthetic.bytes("lpr"), "101")
    receipt = gateway.push(SOURCE, "lpr", short).json()
    report = receipt["quality"]
    assert report["status"] == "flagged"
    assert report["previous"]["period"] == "2016-10"
    assert report["previous"]["municipalities_lost"] == ["101"]
    lost = [f for f in report["flags"] if f["code"] == "municipalities-lost"]
    assert lost and "101" in lost[0]["detail"]
    assert report["coverage"]["delivered"] == 97 and "101" in report["coverage"]["missing"]

    path = f"/v1/deliveries/{receipt['delivery_id']}/quality"
    mine = gateway.client.get(path, headers=gateway.auth(SOURCE, Role.SOURCE))
    assert mine.status_code == 200 and mine.json()["quality"] == report
    approver = gateway.client.get(path, headers=gateway.auth("dpo@star.dk", Role.APPROVER))
    assert approver.status_code == 200
    other = gateway.client.get(path, headers=gateway.auth("dfdg", Role.SOURCE))
    assert other.status_code == 404  # another source's delivery does not exist for it
    recipient = gateway.client.get(path, headers=gateway.auth("star-analyse", Role.RECIPIENT))
    assert recipient.status_code == 404  # recipients see no deliveries at all
    auditor = gateway.client.get(path, headers=gateway.auth("dpo@hub", Role.AUDITOR))
    assert auditor.status_code == 403  # the delivery, yes; its quality report is not theirs
    shown = gateway.client.get(
        f"/v1/deliveries/{receipt['delivery_id']}", headers=gateway.auth(SOURCE, Role.SOURCE)
    ).json()
    assert shown["quality"]["status"] == "flagged"
    assert "municipalities-lost" in shown["quality"]["flags"]

    release, _ = release_for(gateway, "star-analyse", LINKED)
    [read] = [i for i in release["inputs"] if i["dataset"] == "lpr"]
    assert read["delivery"] == receipt["delivery_id"]
    assert "municipalities-lost" in read["quality"]["flags"]
    assert "101" in read["quality"]["coverage"]["missing"]


def test_the_months_quality_an_approver_weighs_is_a_sources_own_only(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    push_all(gateway, synthetic)
    ctx = gateway.runtime.context
    months = ["2016-10", "2016-11"]
    approver = Principal("hub-legal", frozenset({Role.APPROVER}), "jurist")
    rows = deliveries.month_quality(ctx, by=approver, dataset="lpr", months=months)
    assert (rows[0]["period"], rows[0]["status"]) == ("2016-10", "missing")
    assert rows[1]["delivery"] and rows[1]["status"] in ("ok", "flagged")
    owner = Principal(SOURCE, frozenset({Role.SOURCE}))
    assert deliveries.month_quality(ctx, by=owner, dataset="lpr", months=months) == rows
    stranger = Principal("dfdg", frozenset({Role.SOURCE}))
    with pytest.raises(Forbidden):
        deliveries.month_quality(ctx, by=stranger, dataset="lpr", months=months)
    for role in (Role.RECIPIENT, Role.AUDITOR, Role.OPERATOR):
        with pytest.raises(Forbidden):
            deliveries.month_quality(
                ctx, by=Principal("star-analyse", frozenset({role})), dataset="lpr", months=months
            )


def test_counts_below_their_plausible_minimum_are_flagged_not_refused(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    """SSR's services are at least 0 (policies/datasets/ssr.yaml): a negative count may be a
    correction, so the delivery is accepted, and its quality report flags it with the count."""
    from tests.integration.test_aggregates_api import _ssr_with_a_negative_value

    r = gateway.push(SOURCE, "ssr", _ssr_with_a_negative_value(synthetic))
    assert r.status_code == 201, r.text
    report = r.json()["quality"]
    flags = {f["code"]: f["detail"] for f in report["flags"]}
    assert "below-minimum" in flags and "column 'services' are below 0" in flags["below-minimum"]
    assert report["columns"]["services"]["below_minimum"] >= 1
    clean = gateway.push(SOURCE, "ssr", synthetic.bytes("ssr"))
    assert "below-minimum" not in {f["code"] for f in clean.json()["quality"]["flags"]}
