"""What may reach a log line, an audit entry or a response: identifiers of a strict shape, and
free text without anything CPR-shaped in it.

Every value a caller chooses (path and query parameters, body fields, headers, token claims)
is checked here before the gateway writes it anywhere. Identifiers must match a strict pattern
of bounded length (a full match: a trailing newline is not "the end"); free text is screened
for CPR-shaped strings. A refusal names the field and never the value, so a CPR typed into the
wrong field is neither echoed, logged, audited nor stored.

What counts as CPR-shaped, and how text is normalised first (percent- and HTML-decoded, NFKC,
every Unicode digit as a digit, invisible characters removed, any separators between the digit
groups), is :mod:`gateway.domain.cpr_screen`: one screen for every field.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable

from gateway.domain.cpr_screen import REDACTED, has_cpr, redact
from gateway.errors import InvalidRequest

__all__ = ["REDACTED", "has_cpr", "redact"]

CATALOGUE_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
PERIOD = re.compile(r"(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])")
DELIVERY_ID = re.compile(r"dlv-[0-9a-f]{32}")
EXTRACT_ID = re.compile(r"ext-[0-9a-f]{32}")
RELEASE_ID = re.compile(r"rel-[0-9a-f]{32}")
HOLD_ID = re.compile(r"hold-[0-9a-f]{32}")
DELETION_ID = re.compile(r"del-[0-9a-f]{32}")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A principal: its organisation, the unit inside it (if the issuer names one), and the person,
# machine client or local account acting (gateway.domain.principals).
ORGANISATION = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
UNIT = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# (base64url ids, as providers generate for clients, may start with "_" or "-")
ACTOR = re.compile(r"[a-z0-9_-][a-z0-9._@:+_-]{0,127}")
_KIND_ACTOR = rf"(?:person|client|local):{ACTOR.pattern}"
_IDENTITY = rf"{ORGANISATION.pattern}(?:/{UNIT.pattern})?/{_KIND_ACTOR}"
IDENTITY = re.compile(
    rf"(?P<org>{ORGANISATION.pattern})(?:/(?P<unit>{UNIT.pattern}))?"
    rf"/(?P<kind>person|client|local):(?P<actor>{ACTOR.pattern})"
)
# How a principal appears in audit entries: ``organisation[/unit]/kind:actor[role,role]``.
ACTOR_LABEL = re.compile(rf"{_IDENTITY}\[[a-z,]{{1,64}}\]")
# What an audit search may filter the actor by: a whole label, an identity, a person or client
# (``person:anna``) whatever organisation they acted for, or an organisation.
ACTOR_FILTER = re.compile(
    rf"{ACTOR_LABEL.pattern}|{_IDENTITY}|{_KIND_ACTOR}|{ORGANISATION.pattern}"
)
MAX_FREE_TEXT = 2000


def canonical(identifier: str) -> str:
    """The one form identities are compared in: NFKC, case-folded, trimmed. ``STAR-ANALYSE``
    and ``star-analyse`` are one principal, so four eyes and ownership cannot be split by how
    an issuer spells a name."""
    return unicodedata.normalize("NFKC", identifier).casefold().strip()


def is_valid(pattern: re.Pattern[str], value: str) -> bool:
    """A full match of ``pattern`` that holds nothing CPR-shaped."""
    return pattern.fullmatch(value) is not None and not has_cpr(value)


_FORMS = {
    CATALOGUE_ID.pattern: "lower-case letters, digits and hyphens, as the catalogue names them",
    COLUMN_NAME.pattern: "lower-case letters, digits and underscores, as the catalogue names them",
    DELIVERY_ID.pattern: "dlv- and 32 hexadecimal digits, as the receipt gives it",
    EXTRACT_ID.pattern: "ext- and 32 hexadecimal digits, as the request's answer gives it",
    RELEASE_ID.pattern: "rel- and 32 hexadecimal digits, as the run's answer gives it",
    HOLD_ID.pattern: "hold- and 32 hexadecimal digits",
    DELETION_ID.pattern: "del- and 32 hexadecimal digits",
}


def identifier(field: str, value: str, pattern: re.Pattern[str] = CATALOGUE_ID) -> str:
    """``value`` if it is a well-formed identifier; else a 422 naming ``field`` and the form it
    must have (never the value)."""
    if not isinstance(value, str) or not is_valid(pattern, value):
        form = _FORMS.get(pattern.pattern)
        expected = f": expected {form}" if form else ""
        raise InvalidRequest(
            f"'{field}' is not a valid identifier{expected}",
            errors=[{"field": field, "problem": "pattern"}],
        )
    return value


def period(field: str, value: str) -> str:
    """A month ``YYYY-MM`` between 1900 and 2999; else a 422 that says the expected form."""
    if not isinstance(value, str) or not is_valid(PERIOD, value):
        raise InvalidRequest(
            f"'{field}' is not a month: expected YYYY-MM (for example 2016-11)",
            errors=[{"field": field, "problem": "expected YYYY-MM"}],
        )
    return value


def free_text(field: str, value: str | None, max_length: int = MAX_FREE_TEXT) -> str | None:
    """Free text that may be stored and audited: bounded, and with nothing CPR-shaped in it."""
    if value is None:
        return None
    if len(value) > max_length:
        raise InvalidRequest(
            f"'{field}' is longer than {max_length} characters",
            errors=[{"field": field, "problem": "too-long"}],
        )
    if has_cpr(value):
        raise InvalidRequest(
            f"'{field}' contains a CPR-shaped number; personal identifiers do not belong in "
            "free text",
            errors=[{"field": field, "problem": "cpr-shaped"}],
        )
    return value


def screened(message: str) -> Callable[[str], str]:
    """A pydantic after-validator: refuses CPR-shaped values with ``message`` (no value)."""

    def check(value: str) -> str:
        if has_cpr(value):
            raise ValueError(message)
        return value

    return check


def new_id(prefix: str) -> str:
    """A fresh ``prefix-<32 hex>`` id with nothing CPR-shaped in it (a random hex string holds
    ten decimal digits in a row now and then; such an id would be refused as input later)."""
    while True:
        candidate = f"{prefix}-{uuid.uuid4().hex}"
        if not has_cpr(candidate):
            return candidate
