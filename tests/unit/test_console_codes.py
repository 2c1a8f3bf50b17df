"""Every code the domain can put on a console page has Danish and English words in the one
catalogue (gateway/console/codes.py); the browser test checks the rendered pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import gateway.domain.policy as policy_module
import gateway.domain.quality as quality_module
from gateway.audit.events import EventType
from gateway.console.codes import CODES, RULE_SENTENCES, code, local_minute, rule_explanation
from gateway.domain.builds import BuildState
from gateway.domain.catalogue import OutputForm, Purpose
from gateway.domain.disclosure.rules import Check, Status
from gateway.domain.extracts import ExtractStatus
from gateway.domain.policy_files import load_catalogue
from gateway.domain.records import ReleaseStatus
from gateway.services.audit.filters import CATEGORIES, RANGES

ROOT = Path(__file__).resolve().parents[2]


def _source_codes(module: object, pattern: str) -> set[str]:
    return set(re.findall(pattern, Path(module.__file__).read_text()))  # type: ignore[attr-defined]


RULES = _source_codes(policy_module, r'RuleResult\(\s*"([a-z-]+)"') | _source_codes(
    policy_module, r'deny\(\s*"([a-z-]+)"'
)
FLAGS = _source_codes(quality_module, r'_flag\(\s*"([a-z-]+)"') | {
    "rows-changed",
    "persons-changed",
}
RELEASE_STATUSES = {v for k, v in vars(ReleaseStatus).items() if k.isupper() and isinstance(v, str)}


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("event", {e.value for e in EventType}),
        ("purpose", {p.value for p in Purpose}),
        ("output", {o.value for o in OutputForm}),
        ("extract_status", {s.value for s in ExtractStatus}),
        ("release_status", RELEASE_STATUSES),
        ("sdc_status", {s.value for s in Status}),
        ("build_state", {s.value for s in BuildState}),
        ("engine", {"local", "spark"}),
        ("finding", {c.value for c in Check} | {"ok"}),
        ("rule", RULES),
        ("quality_flag", FLAGS),
        ("population", set(load_catalogue(ROOT / "policies").populations)),
        ("audit_category", set(CATEGORIES)),
        ("range", set(RANGES)),
    ],
)
def test_every_code_has_words_in_both_languages(kind: str, values: set[str]) -> None:
    assert values, kind  # the harvest found something
    missing = sorted(values - set(CODES[kind]))
    assert not missing, f"{kind}: no words for {missing} in gateway/console/codes.py"
    for value in values:
        da, en = CODES[kind][value]
        assert da and en and code(kind, value, "da") == da and code(kind, value, "en") == en


def test_every_rule_outcome_has_a_sentence() -> None:
    assert {"restricted-dataset", "purpose-binding", "legal-basis", "allow"} <= RULES
    for rule in RULES:
        assert (rule, "deny") in RULE_SENTENCES or (rule, "pass") in RULE_SENTENCES, rule
        assert rule_explanation(rule, "deny", "da") != rule, rule


def test_times_are_local_to_the_minute() -> None:
    assert local_minute("2016-11-30T23:10:05.123456Z") in ("2016-12-01 00:10", "2016-11-30 23:10")
    assert local_minute("2016-11-30") == "2016-11-30"
    assert local_minute("") == "" and local_minute(None) == ""
