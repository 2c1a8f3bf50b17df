"""When what the hub holds must go: the retention rules of the policy files applied to one
delivery or one release, and the legal holds that delay them.

Storage limitation (GDPR art. 5(1)(e)): personal data are kept no longer than the purpose
needs. Every dataset and grant in ``policies/`` states its terms
(:mod:`gateway.domain.retention_terms`); this module turns them into a date for each thing
held. Nothing here reads a clock or a database: the plan and the sweep
(:mod:`gateway.services.retention`) give it the facts and the day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.records import DeliveryRecord
from gateway.domain.retention_terms import DeliveryRetention, ReleaseRetention
from gateway.domain.versions import MonthVersions


class Rule(StrEnum):
    """Which term made something due; each is one rule of a dataset's or a grant's file."""

    PERIOD = "years-after-period"  # the month's current delivery
    SUPERSEDED = "superseded"  # a version a correction replaced
    HELD = "held-unconfirmed"  # held for its source's confirmation, never confirmed
    WITHDRAWN = "withdrawn"  # withdrawn (or discarded while held) by its source
    AFTER_PULL = "days-after-pull"  # a microdata release, after its last pull
    GRANT_ENDED = "grant-ended"  # a microdata release, when its grant ended first


class DeliveryState(StrEnum):
    CURRENT = "current"
    SUPERSEDED = "superseded"
    HELD = "held"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Due:
    """The first day something may no longer be kept, and why."""

    on: dt.date
    rule: Rule
    citation: str
    reason: str  # in words: "15 years after 2016-11", "30 days after its last pull"


def month_end(period: str) -> dt.date:
    """The last day of a ``YYYY-MM`` month."""
    year, month = (int(p) for p in period.split("-"))
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def delivery_state(
    record: DeliveryRecord, month: MonthVersions
) -> tuple[DeliveryState, str | None]:
    """Where a delivery stands in its month, and since when (None for the current one)."""
    if record.discarded_at:
        return DeliveryState.WITHDRAWN, record.discarded_at
    if month.is_current(record.id):
        return DeliveryState.CURRENT, None
    mine = [i for i, v in enumerate(month.versions) if v.delivery_id == record.id]
    if not mine:
        return DeliveryState.HELD, record.received_at
    after = month.versions[mine[-1] + 1]  # it is not current: a later version exists
    if after.delivery_id is None:
        return DeliveryState.WITHDRAWN, after.recorded_at
    return DeliveryState.SUPERSEDED, after.recorded_at


def delivery_due(
    terms: DeliveryRetention, period: str, state: DeliveryState, since: dt.date | None
) -> Due:
    """When a delivery of ``period`` in ``state`` (since ``since``: replaced, withdrawn,
    received) must go. A replaced or withdrawn version never outlives the month's rule."""
    end = month_end(period)
    by_period = Due(
        add_months(end, 12 * terms.years_after_period) + dt.timedelta(days=1),
        Rule.PERIOD,
        terms.citation,
        f"{terms.years_after_period} years after {period}",
    )
    if state is DeliveryState.CURRENT or since is None:
        return by_period
    if state is DeliveryState.WITHDRAWN:
        due = Due(
            since + dt.timedelta(days=terms.withdrawn_days),
            Rule.WITHDRAWN,
            terms.citation,
            f"{terms.withdrawn_days} days after its withdrawal on {since.isoformat()}",
        )
    else:
        rule = Rule.SUPERSEDED if state is DeliveryState.SUPERSEDED else Rule.HELD
        what = "it was replaced" if rule is Rule.SUPERSEDED else "it arrived, never confirmed"
        due = Due(
            add_months(since, terms.superseded_months),
            rule,
            terms.citation,
            f"{terms.superseded_months} months after {what} ({since.isoformat()})",
        )
    return due if due.on < by_period.on else by_period


def release_due(
    terms: ReleaseRetention,
    *,
    created: dt.date,
    last_pulled: dt.date | None,
    grant_ends: dt.date | None,
) -> Due:
    """When a microdata release's content at the hub must go: ``days_after_pull`` after its
    last pull (or its creation), and never beyond the end of its grant. (Aggregates are kept as
    published: they hold no person-level data and are not planned here.)"""
    start = last_pulled or created
    after = "its last pull" if last_pulled else "its creation (never pulled)"
    due = Due(
        start + dt.timedelta(days=terms.days_after_pull),
        Rule.AFTER_PULL,
        terms.citation,
        f"{terms.days_after_pull} days after {after} on {start.isoformat()}",
    )
    if grant_ends is not None and grant_ends < due.on:
        return Due(grant_ends, Rule.GRANT_ENDED, terms.citation, f"its grant ended {grant_ends}")
    return due


def grant_end(valid_to: dt.date | None, revoked: dt.date | None) -> dt.date | None:
    """The first day a grant no longer applies (the day after ``valid_to``, or ``revoked``)."""
    ends = [d for d in (valid_to and valid_to + dt.timedelta(days=1), revoked) if d is not None]
    return min(ends) if ends else None


@dataclass(frozen=True)
class Hold:
    """A legal hold: nothing it covers is erased while it stands. Each field it names narrows
    it (a hold naming a dataset and a period range covers that dataset's months in the range;
    one naming a release covers that release only)."""

    id: str
    reason: str
    placed_by: str
    placed_at: str
    dataset: str | None = None
    source: str | None = None
    period_from: str | None = None
    period_to: str | None = None
    release: str | None = None
    lift_requested_by: str | None = None
    lift_requested_at: str | None = None
    lift_reason: str | None = None
    lifted_by: str | None = None
    lifted_at: str | None = None

    @property
    def standing(self) -> bool:
        return self.lifted_at is None

    def covers_delivery(self, *, dataset: str, source: str, period: str) -> bool:
        """Whether this hold covers a delivery of ``dataset`` by ``source`` for ``period``."""
        if not self.standing or self.release is not None:
            return False
        return (
            (self.dataset is None or self.dataset == dataset)
            and (self.source is None or self.source == source)
            and (self.period_from is None or period >= self.period_from)
            and (self.period_to is None or period <= self.period_to)
        )

    def covers_release(self, release: str, inputs: Iterable[tuple[str, str, str]]) -> bool:
        """Whether this hold covers a release: by its id, or by any (dataset, source, month)
        it read."""
        if not self.standing:
            return False
        if self.release is not None:
            return self.release == release
        return any(self.covers_delivery(dataset=d, source=s, period=p) for d, s, p in inputs)

    def scope(self) -> str:
        """The hold's reach in words (for pages and lists)."""
        parts = []
        if self.release:
            parts.append(f"release {self.release}")
        if self.source:
            parts.append(f"source {self.source}")
        if self.dataset:
            parts.append(f"dataset {self.dataset}")
        if self.period_from or self.period_to:
            parts.append(f"months {self.period_from or '...'} to {self.period_to or '...'}")
        return ", ".join(parts) or "everything"
