"""The review of aggregates the output checker held: the approvers' queue and the reviewers'
votes, as :mod:`gateway.domain.reviews` says: independent and sealed (the audit log holds a
commitment, never the voter, vote or note, until every vote is in), then open; released only
if every vote says release; a conflict is consolidated by the reviewers who voted. Every
reviewer is apart, by another unit at least, from the requester, the runner and each other."""

from __future__ import annotations

from typing import Any

from gateway.audit.events import AuditEvent, EventType
from gateway.domain import identifiers
from gateway.domain.catalogue import ReportDefinition
from gateway.domain.disclosure import DisclosureRules
from gateway.domain.permissions import authorize
from gateway.domain.policy import four_eyes_level
from gateway.domain.principals import FourEyes, Identity, Principal
from gateway.domain.records import ExtractRecord, ReleaseRecord, ReleaseStatus, Vote
from gateway.domain.reviews import (
    OPEN,
    Ballot,
    ReviewEvent,
    ReviewState,
    commitment,
    independence,
    new_salt,
    opened,
    state_of,
    step,
)
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.ports import UnitOfWork
from gateway.services.context import Context


def releases_in(
    ctx: Context, *, by: Principal, status: str = ReleaseStatus.PENDING_REVIEW
) -> list[ReleaseRecord]:
    """Releases in ``status``, oldest first; by default the aggregates the checker sent for
    review (the approvers' queue). For approvers and auditors."""
    authorize(by, "release.list")
    with ctx.store.unit_of_work() as uow:
        return uow.releases_by_status(status)


SEALED_ACTOR = "review/local:sealed-ballot[approver]"  # who a vote is by, until it is opened


def _level(ctx: Context, release: ReleaseRecord, extract: ExtractRecord | None) -> FourEyes:
    if extract is not None:
        datasets = [d.dataset for d in extract.spec.datasets]
        return four_eyes_level(ctx.catalogue, release.recipient, datasets)
    report = _report_of(ctx, release)  # a built-in report's run: its definition says
    return report.four_eyes if report is not None else FourEyes.OTHER_UNIT


def _ballots(votes: list[Vote]) -> list[Ballot]:
    return [Ballot(v.voter, v.vote, v.note, v.salt or "") for v in votes]


def review_release(
    ctx: Context, *, by: Principal, release_id: str, approve: bool, note: str | None
) -> ReleaseRecord:
    """A reviewer's vote on an aggregate held for review (:mod:`gateway.domain.reviews`):
    blind while independent, open once every vote is in; in a conflict, a reviewer's changed
    vote, or a withholding reviewer closing it as withheld."""
    identifiers.identifier("release_id", release_id, identifiers.RELEASE_ID)
    note = identifiers.free_text("note", note)
    refs = {"release": release_id}
    ctx.require_person(by, "release.review", refs=refs, role="approver", act="reviewing a release")
    with ctx.store.unit_of_work() as uow:
        release = uow.get_release(release_id)
        extract = uow.get_extract(release.extract_id) if release else None
    if release is None:
        raise NotFound(f"no release '{release_id}'")
    refs.update({"recipient": release.recipient, "extract": release.extract_id})
    needed = review_rules(ctx, release, extract).review_votes
    vote = "release" if approve else "withhold"
    with ctx.store.unit_of_work() as uow:
        seen = _ballots(uow.votes(release_id))
    if state_of(seen, needed, decided=False) is ReviewState.INDEPENDENT:
        reason = independence(
            requester=extract.requested_by if extract is not None else None,
            runner=release.released_by,
            voters=[b.voter for b in seen if not Identity.parse(b.voter).same_actor(by)],
            by=by,
            level=_level(ctx, release, extract),
        )
        if reason is not None:  # refused (and audited) before anything is written
            ctx.refuse(
                Forbidden(f"four-eyes rule: {reason}"),
                event=EventType.APPROVAL_REFUSED,
                by=by,
                refs=refs,
            )
    with ctx.store.unit_of_work() as uow:
        current = uow.get_release(release_id)
        if current is None or current.status != ReleaseStatus.PENDING_REVIEW:
            raise Conflict(f"release '{release_id}' is not pending review")
        ballots = _ballots(uow.votes(release_id))
        if [b.voter for b in ballots] != [b.voter for b in seen]:
            raise Conflict("another reviewer voted meanwhile; send your vote again")
        state = state_of(ballots, needed, decided=False)
        mine = next((b for b in ballots if Identity.parse(b.voter).same_actor(by)), None)
        if state is ReviewState.INDEPENDENT:
            if mine is not None:
                raise Conflict(
                    "you have voted on this release already; the other reviewers' votes are "
                    "shown to no one until every vote is in"
                )
            ballot = Ballot(by.identity, vote, note, new_salt())
            return _cast(uow, current, refs, ballots, ballot, needed, by)
        if mine is None:  # conflicted: only the reviewers who voted consolidate
            raise Forbidden(
                "the votes on this release conflict; the reviewers who voted consolidate them"
            )
        return _consolidate(uow, current, refs, ballots, mine, vote, note, by)


def _cast(
    uow: UnitOfWork,
    release: ReleaseRecord,
    refs: dict[str, str],
    ballots: list[Ballot],
    ballot: Ballot,
    needed: int,
    by: Principal,
) -> ReleaseRecord:
    """Record a vote. Not the last: a sealed entry (the commitment only). The last: every
    ballot opened, and decided if they agree, conflicted if not."""
    everything = [*ballots, ballot]
    base = {"report_sha256": release.report_sha256, "sha256": release.sha256}
    if len(everything) < needed:
        step(ReviewState.INDEPENDENT, ReviewEvent.VOTE)
        entry = uow.append_audit(
            AuditEvent(
                EventType.RELEASE_VOTED,
                SEALED_ACTOR,
                refs,
                {
                    **base,
                    "votes": len(everything),
                    "needed": needed,
                    "commitment": commitment(release.id, ballot),
                },
            )
        )
        uow.add_vote(
            release.id, ballot.voter, ballot.vote, ballot.note, entry.recorded_at, ballot.salt
        )
        return release
    agree = len({b.vote for b in everything}) == 1
    state = step(
        ReviewState.INDEPENDENT,
        ReviewEvent.LAST_VOTE_AGREES if agree else ReviewEvent.LAST_VOTE_DIFFERS,
    )
    if state is ReviewState.CONFLICTED:
        entry = uow.append_audit(
            AuditEvent(
                EventType.RELEASE_REVIEW_CONFLICTED,
                by.label,
                refs,
                {**base, "state": state.value, "votes": opened(release.id, everything)},
            )
        )
        uow.add_vote(
            release.id, ballot.voter, ballot.vote, ballot.note, entry.recorded_at, ballot.salt
        )
        return release
    return _decide(uow, release, refs, everything, ballot, by, new=True)


def _consolidate(
    uow: UnitOfWork,
    release: ReleaseRecord,
    refs: dict[str, str],
    ballots: list[Ballot],
    mine: Ballot,
    vote: str,
    note: str | None,
    by: Principal,
) -> ReleaseRecord:
    """In a conflict: a withholding reviewer who withholds again closes the review as
    withheld; a changed vote is recorded, and decides the review if the votes now agree."""
    base = {"report_sha256": release.report_sha256, "sha256": release.sha256}
    if vote == mine.vote == "withhold":
        step(ReviewState.CONFLICTED, ReviewEvent.CLOSE_WITHHELD)
        closing = Ballot(mine.voter, "withhold", note or mine.note, mine.salt)
        return _decide(uow, release, refs, ballots, closing, by, new=False)
    if vote == mine.vote:
        raise Conflict("that is your vote already; the votes still conflict")
    changed = Ballot(mine.voter, vote, note, new_salt())
    everything = [changed if b is mine else b for b in ballots]
    agree = len({b.vote for b in everything}) == 1
    step(ReviewState.CONFLICTED, ReviewEvent.AGREE if agree else ReviewEvent.CHANGE_VOTE)
    if not agree:
        entry = uow.append_audit(
            AuditEvent(
                EventType.RELEASE_VOTE_CHANGED,
                by.label,
                refs,
                {**base, "votes": opened(release.id, everything)},
            )
        )
        uow.change_vote(release.id, mine.voter, vote, note, entry.recorded_at, changed.salt)
        return release
    return _decide(uow, release, refs, everything, changed, by, new=False)


def _decide(
    uow: UnitOfWork,
    release: ReleaseRecord,
    refs: dict[str, str],
    ballots: list[Ballot],
    last: Ballot,
    by: Principal,
    *,
    new: bool,
) -> ReleaseRecord:
    """Record the outcome with every ballot opened: released only if all say release."""
    released = all(b.vote == "release" for b in ballots)
    status = ReleaseStatus.RELEASED if released else ReleaseStatus.WITHHELD
    event = EventType.RELEASE_REVIEW_RELEASED if released else EventType.RELEASE_WITHHELD
    details: dict[str, Any] = {
        "note": last.note,
        "report_sha256": release.report_sha256,
        "sha256": release.sha256,
        "state": ReviewState.DECIDED.value,
        "votes": opened(release.id, ballots),
    }
    entry = uow.append_audit(AuditEvent(event, by.label, refs, details))
    if new:
        uow.add_vote(release.id, last.voter, last.vote, last.note, entry.recorded_at, last.salt)
    elif any(b.voter == last.voter and b.salt == last.salt for b in ballots):
        uow.change_vote(release.id, last.voter, last.vote, last.note, entry.recorded_at, last.salt)
    uow.set_release_status(release.id, status, by=by.label, at=entry.recorded_at, note=last.note)
    updated: ReleaseRecord | None = uow.get_release(release.id)
    assert updated is not None
    return updated


def review_rules(
    ctx: Context, release: ReleaseRecord, extract: ExtractRecord | None
) -> DisclosureRules:
    """The disclosure rules the held release was checked under (how many votes it needs)."""
    if extract is not None:
        return ctx.catalogue.disclosure_rules([d.dataset for d in extract.spec.datasets])
    report = _report_of(ctx, release)
    if report is None:
        return ctx.catalogue.disclosure_rules([])
    rules = ctx.catalogue.disclosure_rules([d.dataset for d in report.datasets])
    return rules.strictest(report.disclosure) if report.disclosure else rules


def _report_of(ctx: Context, release: ReleaseRecord) -> ReportDefinition | None:
    """The built-in report a run belongs to (its extract id is ``report/<id>/<period>``)."""
    _, _, rest = release.extract_id.partition("report/")
    return ctx.catalogue.reports.get(rest.split("/")[0])


def vote_status(ctx: Context, *, by: Principal, release: ReleaseRecord) -> dict[str, Any]:
    """What a reviewer may know of a held release's votes: how many are in, how many are
    needed, the review's state and their own vote; every vote with its voter and note only
    once the votes are open (all in)."""
    authorize(by, "release.review")
    with ctx.store.unit_of_work() as uow:
        ballots = _ballots(uow.votes(release.id))
        extract = uow.get_extract(release.extract_id)
    mine = next((b.vote for b in ballots if Identity.parse(b.voter).same_actor(by)), None)
    needed = review_rules(ctx, release, extract).review_votes
    state = state_of(ballots, needed, decided=release.status != ReleaseStatus.PENDING_REVIEW)
    status: dict[str, Any] = {
        "votes": len(ballots),
        "needed": needed,
        "mine": mine,
        "state": state.value,
    }
    if state in OPEN:
        status["ballots"] = [{"voter": b.voter, "vote": b.vote, "note": b.note} for b in ballots]
    return status
