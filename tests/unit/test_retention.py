"""The retention rules as pure functions: each state of a delivery gets its term, a replaced or
withdrawn version never outlives the month's rule, a release never outlives its grant, and a
legal hold covers exactly what it names. Property tests over generated terms and dates."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.records import DeliveryRecord, DeliveryVersion
from gateway.domain.retention import (
    DeliveryState,
    Hold,
    Rule,
    add_months,
    delivery_due,
    delivery_state,
    grant_end,
    month_end,
    release_due,
)
from gateway.domain.retention_terms import DeliveryRetention, Dpia, ReleaseRetention
from gateway.domain.versions import MonthVersions

CITATION = "Databeskyttelsesforordningen art. 5, stk. 1, litra e"
periods = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(2000, 2040), st.integers(1, 12))
days = st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31))
delivery_terms = st.builds(
    DeliveryRetention,
    years_after_period=st.integers(0, 30),
    superseded_months=st.integers(0, 60),
    withdrawn_days=st.integers(0, 400),
    citation=st.just(CITATION),
)


def test_month_end_and_add_months_follow_the_calendar() -> None:
    assert month_end("2016-02") == dt.date(2016, 2, 29)
    assert month_end("2016-11") == dt.date(2016, 11, 30)
    assert add_months(dt.date(2016, 1, 31), 1) == dt.date(2016, 2, 29)
    assert add_months(dt.date(2016, 11, 30), 180) == dt.date(2031, 11, 30)


def test_each_state_gets_its_term() -> None:
    terms = DeliveryRetention(
        years_after_period=15, superseded_months=6, withdrawn_days=0, citation=CITATION
    )
    current = delivery_due(terms, "2016-11", DeliveryState.CURRENT, None)
    assert current.on == dt.date(2031, 12, 1) and current.rule is Rule.PERIOD
    replaced = delivery_due(terms, "2016-11", DeliveryState.SUPERSEDED, dt.date(2026, 12, 7))
    assert replaced.on == dt.date(2027, 6, 7) and replaced.rule is Rule.SUPERSEDED
    withdrawn = delivery_due(terms, "2016-11", DeliveryState.WITHDRAWN, dt.date(2026, 12, 7))
    assert withdrawn.on == dt.date(2026, 12, 7) and withdrawn.rule is Rule.WITHDRAWN
    held = delivery_due(terms, "2016-11", DeliveryState.HELD, dt.date(2026, 12, 7))
    assert held.rule is Rule.HELD and "never confirmed" in held.reason


@given(terms=delivery_terms, period=periods, since=days, state=st.sampled_from(DeliveryState))
def test_no_version_outlives_the_months_own_rule(
    terms: DeliveryRetention, period: str, since: dt.date, state: DeliveryState
) -> None:
    """Property: whatever a version's state, it goes no later than the month's current
    delivery would; and a replaced or withdrawn one goes no later than its own term."""
    by_period = delivery_due(terms, period, DeliveryState.CURRENT, None).on
    due = delivery_due(terms, period, state, since)
    assert due.on <= by_period
    assert (
        due.on > month_end(period) or due.rule is not Rule.PERIOD or terms.years_after_period == 0
    )
    if state is DeliveryState.WITHDRAWN:
        assert due.on <= since + dt.timedelta(days=terms.withdrawn_days)
    if state in (DeliveryState.SUPERSEDED, DeliveryState.HELD):
        assert due.on <= add_months(since, terms.superseded_months)


@given(
    after_pull=st.integers(0, 400),
    created=days,
    pulled=st.none() | days,
    ends=st.none() | days,
)
def test_a_release_never_outlives_its_grant(
    after_pull: int, created: dt.date, pulled: dt.date | None, ends: dt.date | None
) -> None:
    terms = ReleaseRetention(days_after_pull=after_pull, citation=CITATION)
    due = release_due(terms, created=created, last_pulled=pulled, grant_ends=ends)
    start = pulled or created
    assert due.on <= start + dt.timedelta(days=after_pull)
    if ends is not None:
        assert due.on <= ends
        assert (due.rule is Rule.GRANT_ENDED) == (ends < start + dt.timedelta(days=after_pull))


def test_a_grant_ends_the_day_after_valid_to_or_when_revoked() -> None:
    assert grant_end(dt.date(2026, 12, 31), None) == dt.date(2027, 1, 1)
    assert grant_end(dt.date(2026, 12, 31), dt.date(2026, 6, 1)) == dt.date(2026, 6, 1)
    assert grant_end(None, None) is None


def _version(version: int, delivery: str | None, at: str) -> DeliveryVersion:
    return DeliveryVersion("lpr", "2016-11", version, delivery, "delivered", at, "x", version)


def _record(delivery: str, *, discarded: str | None = None) -> DeliveryRecord:
    return DeliveryRecord(
        delivery, "s", "lpr", "2016-11", "0" * 64, 1, 1, "b", "2026-01-01T00:00:00Z", "x", 1,
        "v", discarded_at=discarded,
    )  # fmt: skip


def test_a_deliverys_state_comes_from_its_months_versions() -> None:
    month = MonthVersions.of(
        [
            _version(1, "a", "2026-01-01"),
            _version(2, "b", "2026-02-01"),
            _version(3, None, "2026-03-01"),
            _version(4, "c", "2026-04-01"),
        ]
    )
    assert delivery_state(_record("c"), month) == (DeliveryState.CURRENT, None)
    assert delivery_state(_record("a"), month) == (DeliveryState.SUPERSEDED, "2026-02-01")
    assert delivery_state(_record("b"), month) == (DeliveryState.WITHDRAWN, "2026-03-01")
    assert delivery_state(_record("d"), month)[0] is DeliveryState.HELD
    assert delivery_state(_record("d", discarded="2026-05-01"), month) == (
        DeliveryState.WITHDRAWN,
        "2026-05-01",
    )


holds = st.builds(
    Hold,
    id=st.just("hold-1"),
    reason=st.just("inspection"),
    placed_by=st.just("x"),
    placed_at=st.just("t"),
    dataset=st.none() | st.sampled_from(["lpr", "ssr"]),
    source=st.none() | st.sampled_from(["sds", "dst"]),
    period_from=st.none() | periods,
    period_to=st.none() | periods,
    release=st.none() | st.sampled_from(["rel-1", "rel-2"]),
)


@given(
    hold=holds,
    dataset=st.sampled_from(["lpr", "ssr"]),
    source=st.sampled_from(["sds", "dst"]),
    period=periods,
)
def test_a_hold_covers_exactly_what_it_names(
    hold: Hold, dataset: str, source: str, period: str
) -> None:
    covered = hold.covers_delivery(dataset=dataset, source=source, period=period)
    expected = (
        hold.release is None
        and hold.dataset in (None, dataset)
        and hold.source in (None, source)
        and (hold.period_from is None or period >= hold.period_from)
        and (hold.period_to is None or period <= hold.period_to)
    )
    assert covered == expected
    # A release is covered by its id, or by what it read; a lifted hold covers nothing.
    assert hold.covers_release("rel-1", [(dataset, source, period)]) == (
        hold.release == "rel-1" if hold.release else expected
    )
    lifted = Hold(**{**hold.__dict__, "lifted_at": "now"})
    assert not lifted.covers_delivery(dataset=dataset, source=source, period=period)


def test_a_dpia_review_is_flagged_sixty_days_ahead() -> None:
    dpia = Dpia(reference="DPIA X", review_by=dt.date(2027, 1, 15))
    assert dpia.review_due(dt.date(2026, 12, 7))
    assert not dpia.review_due(dt.date(2026, 11, 1))
