"""The report's words and numbers: Danish first, English beside, Danish number forms, and no
raw category code left on the page."""

from __future__ import annotations

from gateway.reports import labels


def test_numbers_are_written_as_a_danish_reader_writes_them() -> None:
    assert labels.number(18462) == "18.462"
    assert labels.number(1234567) == "1.234.567"
    assert labels.number(None) == "-"
    assert labels.percent(55.64) == "55,6\u00a0%"
    assert labels.percent(None) == "-"


def test_codes_and_figures_are_words_in_both_languages() -> None:
    assert labels.term("vejledning_opkvalificering") == "vejledning og opkvalificering"
    assert labels.term("vejledning_opkvalificering", "en") == "guidance and upskilling"
    assert labels.term("employment + health") == "beskæftigelse + sundhed"
    assert labels.term("health only", "en") == "health only"
    assert labels.term("health only") == "kun sundhed"
    assert labels.bilingual("Total") == "I alt (Total)"
    name = "employment offer: loentilskud"
    assert labels.figure(name) == "Beskæftigelsestilbud: løntilskud"
    assert labels.figure(name, "en") == "employment offer: wage subsidy"
    assert labels.basis("ended courses") == "afsluttede forløb"
