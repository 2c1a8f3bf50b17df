"""'Did you mean ...?': the registered names closest to a misspelt one, so that a data owner
who types ``lrp`` is told ``lpr`` instead of only that ``lrp`` does not exist."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` known names that look like ``name`` (most alike first)."""
    return difflib.get_close_matches(name.casefold(), sorted(set(known)), n=limit, cutoff=0.6)


def unknown(kind: str, name: str, known: Iterable[str], where: str = "") -> str:
    """A not-found sentence naming the closest known names, if any."""
    near = closest(name, known)
    hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
    return f"no {kind} '{name}'{where}{hint}"
