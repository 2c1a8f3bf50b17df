"""The synthetic generator: deterministic, valid, and shaped like DOMAIN.md's figures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gateway.dataplane import synth
from gateway.domain import cpr
from gateway.domain.catalogue import Catalogue


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes(catalogue: Catalogue, tmp_path: Path) -> None:
    synth.generate(catalogue, tmp_path / "a", scale=0.02, seed=7)
    synth.generate(catalogue, tmp_path / "b", scale=0.02, seed=7)
    synth.generate(catalogue, tmp_path / "c", scale=0.02, seed=8)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")


def test_shapes_follow_the_audit_report(catalogue: Catalogue, tmp_path: Path) -> None:
    files = {f.dataset: f for f in synth.generate(catalogue, tmp_path, scale=1.0)}
    dfdg = pacsv.read_csv(tmp_path / files["dfdg-indsats"].path)
    courses = dfdg.filter(pc.equal(dfdg["record_type"], "ressourceforloeb"))
    in_period = courses.filter(
        pc.or_kleene(
            pc.is_null(courses["end_date"]),
            pc.greater_equal(courses["end_date"].cast("string"), "2016-11-01"),
        )
    )
    persons = in_period.num_rows
    assert persons == synth.COURSE_PERSONS
    offers = dfdg.filter(pc.equal(dfdg["record_type"], "tilbud"))
    active = pc.count_distinct(offers["cpr"]).as_py()
    assert 0.53 < active / persons < 0.59  # 56.1 % in an employment offer in Nov 2016
    counts = offers.group_by("offer_type").aggregate([("cpr", "count")]).to_pylist()
    order = [r["offer_type"] for r in sorted(counts, key=lambda r: -r["cpr_count"])]
    assert order == ["vejledning_opkvalificering", "mentor", "virksomhedspraktik", "loentilskud"]
    flis = pacsv.read_csv(
        tmp_path / files["flis-voksenhandicap"].path,
        convert_options=pacsv.ConvertOptions(column_types={"kommune": "string"}),
    )
    assert pc.count_distinct(flis["kommune"]).as_py() <= synth.VALID_SOCIAL_MUNICIPALITIES


def test_every_cpr_is_valid_and_both_spellings_occur(catalogue: Catalogue, tmp_path: Path) -> None:
    files = synth.generate(catalogue, tmp_path, scale=0.05)
    seen_dash = seen_plain = False
    for f in files:
        if f.format != "csv":
            continue
        table = pacsv.read_csv(
            tmp_path / f.path, convert_options=pacsv.ConvertOptions(column_types={"cpr": "string"})
        )
        check = cpr.check(table["cpr"].combine_chunks())
        assert not pc.any(check.malformed).as_py() and not pc.any(check.bad_date).as_py()
        seen_dash |= bool(pc.any(pc.match_substring(table["cpr"], "-")).as_py())
        seen_plain |= not bool(pc.all(pc.match_substring(table["cpr"], "-")).as_py())
    assert seen_dash and seen_plain


def test_valid_social_data_come_from_13_then_32_then_55_municipalities(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    """Seed 000: 13 municipalities until February 2016, then 32, now 55 of 98; each set
    inside the next, whatever the seed."""
    seen: list[set[str]] = []
    for period, count in (("2016-01", 13), ("2016-03", 32), ("2016-11", 55)):
        assert synth.valid_social_municipalities(period) == count
        files = {f.dataset: f for f in synth.generate(catalogue, tmp_path / period, period=period)}
        flis = pacsv.read_csv(
            tmp_path / period / files["flis-voksenhandicap"].path,
            convert_options=pacsv.ConvertOptions(column_types={"kommune": "string"}),
        )
        codes = set(flis["kommune"].to_pylist())
        assert len(codes) == count
        seen.append(codes)
    assert seen[0] <= seen[1] <= seen[2]


def test_every_dataset_is_generated_with_its_schema(catalogue: Catalogue, tmp_path: Path) -> None:
    files = {f.dataset: f for f in synth.generate(catalogue, tmp_path, scale=0.05)}
    assert set(files) == set(catalogue.datasets)
    for dataset, f in files.items():
        assert f.rows > 0, dataset
        names = (
            pacsv.read_csv(tmp_path / f.path).column_names
            if f.format == "csv"
            else pq.read_schema(tmp_path / f.path).names
        )
        assert list(names) == list(catalogue.datasets[dataset].column_names), dataset
