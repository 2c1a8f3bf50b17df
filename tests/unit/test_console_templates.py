"""Every console template compiles, and every text key a template names is in the one table
of texts (a typo is a failed test here, not a 500 on a page nobody opened in the tests)."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.console.texts import TEXTS
from gateway.console.web import templates

FOLDER = Path(__file__).resolve().parents[2] / "gateway" / "console" / "templates"


def test_every_template_compiles_and_names_only_known_texts() -> None:
    names = sorted(p.name for p in FOLDER.glob("*.html"))
    assert "lookup.html" in names and "retention.html" in names
    for name in names:
        templates.get_template(name)  # raises on a syntax error
        source = (FOLDER / name).read_text()
        for key in re.findall(r"""t\(["']([a-z_.0-9]+)["']\)""", source):
            assert key in TEXTS, f"{name}: t('{key}') has no text"
