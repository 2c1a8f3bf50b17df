"""How people name parts of the audit trail: categories of events ("refusals of any kind") and
relative ranges ("the last 30 days", "last month"). Shared by the console and the CLI, so both
mean the same thing by the same words."""

from __future__ import annotations

import datetime as dt
import re

from gateway.errors import InvalidRequest

CATEGORIES: dict[str, tuple[str, ...]] = {
    "deliveries": (
        "delivery.accepted",
        "delivery.rejected",
        "delivery.refused",
        "delivery.reinstated",
        "delivery.withdrawn",
        "delivery.held",
        "delivery.confirmed",
        "delivery.discarded",
    ),
    "refusals": (
        "delivery.rejected",
        "delivery.refused",
        "extract.refused",
        "approval.refused",
        "release.refused",
        "access.refused",
    ),
    "approvals": ("extract.approved", "extract.rejected", "approval.refused", "release.voted"),
    "releases": (
        "release.created",
        "release.held-for-review",
        "release.review-released",
        "release.withheld",
    ),
    "pulls": ("release.pulled",),
    "lookups": ("audit.subject-lookup", "audit.searched", "audit.exported", "audit.verified"),
    "keys-and-policy": ("keys.initialised", "keys.rotated", "keys.rewrapped", "policy.loaded"),
    "retention": (
        "retention.erased",
        "retention.hold-placed",
        "retention.hold-lift-requested",
        "retention.hold-lifted",
        "retention.deletion-requested",
        "retention.deletion-reminded",
        "retention.deletion-confirmed",
        "records.approved",
    ),
}
RANGES = ("7d", "30d", "last-month", "this-year")


def relative_range(name: str | None, today: dt.date) -> tuple[str | None, str | None]:
    """A named range as ISO dates ``[since, until)``: ``Nd`` (the last N days), ``last-month``
    (the calendar month before this one), ``this-year``; None for no range."""
    if name is None or name == "":
        return None, None
    days = re.fullmatch(r"(\d{1,4})d", name)
    if days:
        return (today - dt.timedelta(days=int(days[1]))).isoformat(), None
    if name in ("last-month", "last month"):
        first = today.replace(day=1)
        previous = (first - dt.timedelta(days=1)).replace(day=1)
        return previous.isoformat(), first.isoformat()
    if name in ("this-year", "this year"):
        return today.replace(month=1, day=1).isoformat(), None
    raise InvalidRequest(
        f"'{name}' is not a range: use a date (2016-11-01), Nd (30d), 'last-month' or 'this-year'",
        errors=[{"field": "range", "problem": "unknown"}],
    )
