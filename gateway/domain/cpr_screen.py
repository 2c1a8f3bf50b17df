"""The one screen for CPR numbers in free text and identifiers: whatever a keyboard, a browser
or an encoder did to the number, it is found.

Text is normalised before matching, in this order:

1. percent-decoded where it looks URL-encoded (``%20``, ``+``);
2. HTML character references decoded, repeatedly (``&#45;``, ``&minus;``, ``&amp;#45;``);
3. NFKC (full-width digits, compatibility forms);
4. every Unicode decimal digit to its ASCII digit (Arabic-Indic, Devanagari, ...);
5. format characters (Unicode category Cf: zero-width space and joiners, the soft hyphen, the
   byte-order mark) and combining marks (Mn) removed.

Then a CPR-shaped number is ten digits in *groups* that follow a CPR's layout, the groups
joined by up to four separator characters (the dash family, dots and bullets, slashes,
whitespace), split only after the 2nd, 4th, 6th or 8th digit, with the serial either whole in
the last group or split after the year (``0101901234``, ``010190-1234``, ``01.01.90-1234``,
``01 01 90 1234``, ``01-01-901234``, ``010190 12 34``). A group never
belongs to a number only in part (``01019012345`` is eleven digits, not a CPR), and the day
and month are read loosely (a day 0-39, a month 0-19: a mistyped CPR is still one to hide).

Ordinary text mostly passes: dates (``01.11.2016``, ``2016-11-01``), date ranges with
four-digit years, times, amounts (``1.234.567,89``), case numbers and phone numbers. The rate at
which it does not is measured in ``tests/property/test_cpr_screen.py`` and stated in
``docs/design.md``: a date range written with two-digit years (``01.11.16-30.11.16``) has a
CPR's layout and is refused, as it should be when in doubt.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote_plus

# The characters a writer puts between digit groups.
SEPARATORS = (
    r"\s"
    "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2043\u2e3a\u2e3b"  # dashes
    ".\u00b7\u2022\u2024\u2027\u2219\u22c5\uff0e\u30fb"  # dots and bullets
    "/\u2044\u2215\u29f8\uff0f"  # slashes
)
_RUN = re.compile(rf"[0-9]+(?:[{SEPARATORS}]{{1,4}}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
# Where a CPR's digits may be split: after the 2nd and 4th (DD MM YY), the 6th (YY-SSSS), and
# the 8th (SS SS); a split elsewhere is not how the number is written.
_SPLITS = frozenset({2, 4, 6, 8})
REDACTED = "[redacted]"


def normalise(text: str) -> str:
    """``text`` as the screen reads it (see the module docstring)."""
    if "%" in text or "+" in text:
        text = unquote_plus(text)
    for _ in range(3):
        if "&" not in text:
            break
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif unicodedata.category(ch) not in ("Cf", "Mn"):
            out.append(ch)
    return "".join(out)


def _plausible(groups: list[str]) -> bool:
    digits = "".join(groups)
    if len(digits) != 10 or digits[0] not in "0123" or digits[2] not in "01":
        return False
    at, splits = 0, set()
    for g in groups[:-1]:
        at += len(g)
        splits.add(at)
    # The serial is written whole (a last group of four or more), or split after the year.
    return splits <= _SPLITS and (len(groups[-1]) >= 4 or 6 in splits)


def spans(text: str) -> list[tuple[int, int]]:
    """Where in ``normalise(text)`` CPR-shaped numbers are (start, end)."""
    normal = normalise(text)
    found = []
    for run in _RUN.finditer(normal):
        groups = list(_GROUP.finditer(run.group()))
        i = 0
        while i < len(groups):
            total, hit = 0, None
            for j in range(i, len(groups)):
                total += len(groups[j].group())
                if total > 10:
                    break
                if total == 10 and _plausible([g.group() for g in groups[i : j + 1]]):
                    hit = j
                    break
            if hit is None:
                i += 1
                continue
            found.append((run.start() + groups[i].start(), run.start() + groups[hit].end()))
            i = hit + 1
    return found


def has_cpr(text: str) -> bool:
    """True if ``text`` holds anything CPR-shaped, however it is written."""
    return bool(spans(text))


def redact(text: str) -> str:
    """``text`` (normalised) with every CPR-shaped number replaced; unchanged if none: the
    last line of defence for log lines and echoed paths."""
    found = spans(text)
    if not found:
        return text
    normal = normalise(text)
    out, at = [], 0
    for start, end in found:
        out.append(normal[at:start])
        out.append(REDACTED)
        at = end
    out.append(normal[at:])
    return "".join(out)
