"""docs/catalogue.md says what the policies say: regenerate it with 'gateway policy doc'."""

from __future__ import annotations

from gateway.domain.catalogue import Catalogue
from gateway.domain.catalogue_doc import catalogue_markdown
from tests.conftest import ROOT


def test_the_catalogue_page_is_the_policies(catalogue: Catalogue) -> None:
    page = (ROOT / "docs" / "catalogue.md").read_text()
    assert page == catalogue_markdown(catalogue), (
        "docs/catalogue.md differs from policies/: run '.venv/bin/gateway policy doc > "
        "docs/catalogue.md' and commit both"
    )
    for dataset in catalogue.datasets:  # every dataset has its line
        assert f"| `{dataset}` |" in page
    assert "nobody: restricted" in page and "no legal basis" in page
