"""Loading policies/: the shipped set is valid; broken sets fail naming file and entry."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.domain.catalogue import Catalogue, Purpose
from gateway.domain.extracts import TRANSITIONS, ExtractStatus
from gateway.domain.policy_files import hash_policy_files, load_catalogue
from gateway.errors import PolicyFileError
from tests.conftest import POLICIES


def test_shipped_policies_hold_the_required_catalogue(catalogue: Catalogue) -> None:
    required = {
        "lpr",
        "ssr",
        "flis-voksenhandicap",
        "sfi-hjemloese",
        "dfdg-indsats",
        "uip-spor2",
        "laegemiddelstatistik",
    }
    assert required <= set(catalogue.datasets)
    assert {"star-statistik", "star-analyse", "kommune-101"} <= set(catalogue.recipients)
    assert catalogue.datasets["sfi-hjemloese"].restricted
    assert Purpose.ADMINISTRATION not in catalogue.datasets["flis-voksenhandicap"].purposes
    assert not [g for g in catalogue.grants if g.dataset == "laegemiddelstatistik"]
    assert catalogue.datasets["laegemiddelstatistik"].collection_basis is None
    assert len(catalogue.municipalities) == 98
    assert all(g.citation for g in catalogue.grants)
    assert catalogue.disclosure.min_persons == 5 and catalogue.disclosure.suppress
    assert "ressourceforloeb" in catalogue.reports


def test_every_extract_state_has_transitions() -> None:
    assert set(ExtractStatus) == set(TRANSITIONS)


def _broken(tmp_path: Path, edit: Callable[[Path], None]) -> PolicyFileError:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    edit(root)
    with pytest.raises(PolicyFileError) as info:
        load_catalogue(root)
    return info.value


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _without_block(path: Path, key: str) -> None:
    """Remove a YAML mapping block (``key`` and every line indented under it)."""
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip() == key)
    indent = len(key) - len(key.lstrip())
    end = start + 1
    while end < len(lines) and (len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    path.write_text("".join(lines[:start] + lines[end:]))


CASES = {
    "municipal grant on everyone's data": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml",
            "population: own-citizens-in-resource-course",
            "population: persons-in-resource-course",
        ),
        "'kommune-101' is a municipality; its grant needs a population limited to its own",
    ),
    "own-municipality population for a ministry": (
        lambda r: _replace(
            r / "grants/star-analyse.yaml",
            "population: persons-in-resource-course",
            "population: own-citizens-in-resource-course",
        ),
        "'own-citizens-in-resource-course' is limited to the recipient's own municipality, but",
    ),
    "unknown municipality code": (
        lambda r: _replace(r / "recipients.yaml", 'municipality: "101"', 'municipality: "999"'),
        "recipient 'kommune-101': municipality '999' is not a code in municipalities.yaml",
    ),
    "CPR in free text": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml",
            "    citation: >-\n",
            "    citation: >-\n      0101801111\n",
        ),
        "grants/kommune-101.yaml: grants[0].citation: holds a CPR-shaped number",
    ),
    "CPR-shaped identifier": (
        lambda r: _replace(r / "recipients.yaml", "id: star-analyse", "id: star-0101801111"),
        "recipients.yaml",
    ),
    "unknown dataset": (
        lambda r: _replace(r / "grants/star-analyse.yaml", "dataset: lpr", "dataset: lrp"),
        "grants/star-analyse.yaml: grant 'star-analyse-lpr': dataset 'lrp' is not a known",
    ),
    "unknown recipient": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml", "recipient: kommune-101", "recipient: kommune-102"
        ),
        "grant 'kommune-101-dfdg-indsats': recipient 'kommune-102' is not a known recipient",
    ),
    "grant on restricted": (
        lambda r: _replace(
            r / "grants/star-analyse.yaml", "dataset: ssr", "dataset: sfi-hjemloese"
        ),
        "grant 'star-analyse-ssr': dataset 'sfi-hjemloese' is restricted",
    ),
    "purpose not shared": (
        lambda r: _replace(
            r / "grants/star-analyse.yaml",
            "purposes: [analysis]\n",
            "purposes: [analysis, administration]\n",
        ),
        "purposes ['administration'] are not among dataset 'lpr' shared purposes",
    ),
    "missing citation": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml",
            "    citation: >-\n",
            "    citation: ''\n    old_citation: >-\n",
        ),
        "grants/kommune-101.yaml: entry 'kommune-101-dfdg-indsats': citation",
    ),
    "dates reversed": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml",
            "valid_from: 2013-01-01",
            "valid_from: 2013-01-01\n    valid_to: 2012-01-01",
        ),
        "grant 'kommune-101-dfdg-indsats': valid_to 2012-01-01 is before valid_from",
    ),
    "unknown key": (
        lambda r: _replace(
            r / "datasets/lpr.yaml", "cadence: monthly", "cadence: monthly\nrestricetd: true"
        ),
        "datasets/lpr.yaml: entry 'lpr': restricetd: Extra inputs are not permitted",
    ),
    "duplicate grant": (
        lambda r: (r / "grants/copy.yaml").write_text((r / "grants/kommune-101.yaml").read_text()),
        "grant 'kommune-101-dfdg-indsats': duplicate id",
    ),
    "overlapping grants": (
        lambda r: (r / "grants/extra.yaml").write_text(
            (r / "grants/kommune-101.yaml")
            .read_text()
            .replace("id: kommune-101-dfdg-indsats", "id: kommune-101-dfdg-indsats-2")
        ),
        "grant 'kommune-101-dfdg-indsats-2': overlaps grant 'kommune-101-dfdg-indsats' for "
        "purposes ['administration']",
    ),
    "cpr without approval": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml", "    valid_from:", "    identifier: cpr\n    valid_from:"
        ),
        "grant 'kommune-101-dfdg-indsats': a CPR grant needs the approval_reference",
    ),
    "cpr for statistics": (
        lambda r: _replace(
            r / "grants/star-statistik.yaml",
            "    outputs: [microdata, aggregate]\n    valid_from: 2013",
            "    identifier: cpr\n    approval_reference: x\n"
            "    outputs: [microdata, aggregate]\n    valid_from: 2013",
        ),
        "grant 'star-statistik-dfdg-indsats': CPR may be granted for the administration "
        "purpose only",
    ),
    "population on restricted data": (
        lambda r: _replace(
            r / "populations.yaml",
            "dataset: dfdg-indsats\n    match:\n      record_type: ressourceforloeb",
            "dataset: sfi-hjemloese",
        ),
        "population 'persons-in-resource-course': defined on restricted dataset",
    ),
    "exception on unrestricted": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml",
            "    valid_from:",
            "    restricted_exception: a citation long enough\n    valid_from:",
        ),
        "restricted_exception on 'dfdg-indsats', which is not restricted",
    ),
    "unknown owner": (
        lambda r: _replace(r / "datasets/ssr.yaml", "owner: sundhedsdatastyrelsen", "owner: ssi"),
        "dataset 'ssr': owner 'ssi' is not a known source",
    ),
    "disclosure threshold below one": (
        lambda r: _replace(r / "disclosure.yaml", "min_persons: 5", "min_persons: 0"),
        "disclosure.yaml: document: min_persons: Input should be greater than or equal to 1",
    ),
    "misspelt disclosure rule": (
        lambda r: _replace(r / "disclosure.yaml", "p_percent: 10", "p_procent: 10"),
        "disclosure.yaml: document: p_procent: Extra inputs are not permitted",
    ),
    "report on an unknown column": (
        lambda r: _replace(
            r / "reports/ressourceforloeb.yaml", "columns: [service_date]", "columns: [diagnose]"
        ),
        "report 'ressourceforloeb': dataset 'ssr' has no columns ['diagnose']",
    ),
    "report for an unknown recipient": (
        lambda r: _replace(
            r / "reports/ressourceforloeb.yaml", "recipients: [star-statistik]", "recipients: [dst]"
        ),
        "report 'ressourceforloeb': unknown recipient 'dst'",
    ),
    "confidential aggregates without their legal text": (
        lambda r: _replace(
            r / "grants/star-statistik.yaml",
            "    outputs: [microdata, aggregate]\n    valid_from: 2013",
            "    outputs: [microdata, aggregate]\n    aggregates: {scope: confidential}\n"
            "    valid_from: 2013",
        ),
        "grant 'star-statistik-dfdg-indsats': aggregates: a confidential scope needs "
        "confidential_citation",
    ),
    "a method for a grant without aggregates": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml",
            "    valid_from:",
            "    aggregates: {method: suppression}\n    valid_from:",
        ),
        "grant 'kommune-101-dfdg-indsats': aggregates: terms for a grant that allows no aggregates",
    ),
    "an implication on an unknown value": (
        lambda r: _replace(
            r / "datasets/lpr.yaml", "then: {diagnosis_chapter: F}", "then: {diagnosis_chapter: FF}"
        ),
        "datasets/lpr.yaml: dataset 'lpr': implications: 'FF' is not a value of "
        "'diagnosis_chapter'",
    ),
    "a p-table that is not one": (
        lambda r: (
            (r / "broken.csv").write_text('"pcv","ckey","pvalue"\n1,0,0\n'),
            _replace(r / "disclosure.yaml", "ptable_file: null", "ptable_file: broken.csv"),
        ),
        "policies/disclosure.yaml: ptable_file: broken.csv: pcv must run from 1 to 750",
    ),
    "rounding without a base": (
        lambda r: _replace(r / "disclosure.yaml", "method: cell-key", "method: rounding"),
        "disclosure.yaml: document: (entry): Value error, method 'rounding' needs a rounding_base",
    ),
    "a dataset without a retention rule": (
        lambda r: _without_block(r / "datasets/ssr.yaml", "retention:"),
        "datasets/ssr.yaml: dataset 'ssr': no retention rule",
    ),
    "a grant without a retention rule": (
        lambda r: _without_block(r / "grants/kommune-101.yaml", "    retention:"),
        "grant 'kommune-101-dfdg-indsats': no retention rule",
    ),
    "a grant without a DPIA": (
        lambda r: _without_block(r / "grants/kommune-101.yaml", "    dpia:"),
        "grant 'kommune-101-dfdg-indsats': no DPIA",
    ),
    "a citation that leans on a development document": (
        lambda r: _replace(
            r / "grants/kommune-101.yaml",
            "Lov om organisering",
            "seed 000 and Lov om organisering",
        ),
        "cites 'seed 000', a development reference",
    ),
    "a change note that names a work item": (
        lambda r: _replace(
            r / "datasets/ssr.yaml",
            "quality rules for the quality report of each delivery.",
            "quality rules (issue 17).",
        ),
        "dataset 'ssr': changes[1]: cites 'issue 17', a development reference",
    ),
    "no controller": (
        lambda r: (r / "controller.yaml").unlink(),
        "policies/controller.yaml: file is missing",
    ),
    "report without sanction": (
        lambda r: _replace(r / "reports/ressourceforloeb.yaml", "sanction:", "sanctioned:"),
        "reports/ressourceforloeb.yaml: entry 'ressourceforloeb': sanction: Field required",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_policies_are_refused_with_named_messages(tmp_path: Path, case: str) -> None:
    edit, expected = CASES[case]
    error = _broken(tmp_path, edit)
    assert any(expected in p for p in error.problems), error.problems


def test_an_explicit_exception_makes_a_restricted_grant_valid(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    (root / "grants" / "exception.yaml").write_text(
        "grants:\n  - id: star-statistik-hjemloese\n    recipient: star-statistik\n"
        "    dataset: sfi-hjemloese\n    purposes: [statistics]\n"
        "    citation: A hypothetical explicit agreement with SFI for this test\n"
        "    restricted_exception: Hypothetical written consent of SFI, for this test only\n"
        "    population: everyone\n    columns: [kommune]\n    outputs: [aggregate]\n"
        "    valid_from: 2016-01-01\n"
        "    retention: {days_after_pull: 30, citation: A hypothetical rule for this test}\n"
        "    dpia: {reference: DPIA-TEST, review_by: 2030-01-01}\n"
    )
    cat = load_catalogue(root)
    assert any(g.restricted_exception for g in cat.grants)


def test_policy_hash_changes_with_any_file(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    before = hash_policy_files(root)
    _replace(root / "datasets/lpr.yaml", "first version", "first version (typo fixed)")
    assert hash_policy_files(root) != before
