"""The review of aggregates the output checker held: the approvers' queue, four eyes (never
the requester nor the runner; another organisation unit where a grant or report says so), and
independent blind votes (``review_votes`` in the disclosure rules: each reviewer votes without
seeing the others' votes; one 'withhold' withholds; the final audit entry records them all)."""

from __future__ import annotations

from typing import Any

from gateway.audit.events import AuditEvent, EventType
from gateway.domain import identifiers
from gateway.domain.catalogue import FourEyes, ReportDefinition
from gateway.domain.disclosure import DisclosureRules
from gateway.domain.permissions import authorize, permits
from gateway.domain.policy import needs_other_unit
from gateway.domain.records import ExtractRecord, ReleaseRecord, ReleaseStatus
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.identity.principal import Identity, Principal, acts_as_person, four_eyes
from gateway.services.context import Context


def releases_in(
    ctx: Context, *, by: Principal, status: str = ReleaseStatus.PENDING_REVIEW
) -> list[ReleaseRecord]:
    """Releases in ``status``, oldest first; by default the aggregates the checker sent for
    review (the approvers' queue). For approvers and auditors."""
    authorize(by, "release.list")
    with ctx.store.unit_of_work() as uow:
        return uow.releases_by_status(status)


def review_release(
    ctx: Context, *, by: Principal, release_id: str, approve: bool, note: str | None
) -> ReleaseRecord:
    """An approver releases or withholds an aggregate held for review (four eyes: not the
    principal who requested the specification, nor the one who ran it)."""
    identifiers.identifier("release_id", release_id, identifiers.RELEASE_ID)
    note = identifiers.free_text("note", note)
    refs = {"release": release_id}
    if not permits(by.roles, "release.review", owner=False):
        ctx.refuse(
            Forbidden("reviewing a release needs the 'approver' role"),
            event=EventType.APPROVAL_REFUSED,
            by=by,
            refs=refs,
        )
    if not acts_as_person(by):
        ctx.refuse(
            Forbidden("reviewing is a person's act: a machine client cannot vote"),
            event=EventType.APPROVAL_REFUSED,
            by=by,
            refs=refs,
        )
    with ctx.store.unit_of_work() as uow:
        release = uow.get_release(release_id)
        extract = uow.get_extract(release.extract_id) if release else None
    if release is None:
        raise NotFound(f"no release '{release_id}'")
    refs.update({"recipient": release.recipient, "extract": release.extract_id})
    if extract is not None:
        datasets = [d.dataset for d in extract.spec.datasets]
        other_unit = needs_other_unit(ctx.catalogue, release.recipient, datasets)
    else:  # a built-in report's run: its definition says
        report = _report_of(ctx, release)
        other_unit = report is not None and report.four_eyes is FourEyes.OTHER_UNIT
    involved = [extract.requested_by] if extract is not None else []
    reasons = [four_eyes(w, by, other_unit=other_unit) for w in [*involved, release.released_by]]
    reason = next((r for r in reasons if r is not None), None)
    if reason is not None:
        ctx.refuse(
            Forbidden(f"four-eyes rule: {reason} (or ran it)"),
            event=EventType.APPROVAL_REFUSED,
            by=by,
            refs=refs,
        )
    needed = review_rules(ctx, release, extract).review_votes
    vote = "release" if approve else "withhold"
    with ctx.store.unit_of_work() as uow:
        current = uow.get_release(release_id)
        if current is None or current.status != ReleaseStatus.PENDING_REVIEW:
            raise Conflict(f"release '{release_id}' is not pending review")
        votes = uow.votes(release_id)
        if any(Identity.parse(v.voter).same_actor(by) for v in votes):
            raise Conflict(
                "you have voted on this release already; the other reviewers' votes are shown "
                "to no one until every vote is in"
            )
        details: dict[str, Any] = {
            "note": note,
            "report_sha256": current.report_sha256,
            "sha256": current.sha256,
        }
        if len(votes) + 1 < needed:  # blind: the entry says a vote was cast, not which
            entry = uow.append_audit(
                AuditEvent(
                    EventType.RELEASE_VOTED,
                    by.label,
                    refs,
                    {**details, "votes": len(votes) + 1, "needed": needed},
                )
            )
            uow.add_vote(release_id, by.identity, vote, note, entry.recorded_at)
            return current
        cast = [{"voter": v.voter, "vote": v.vote, "note": v.note} for v in votes]
        cast.append({"voter": by.identity, "vote": vote, "note": note})
        released = all(v["vote"] == "release" for v in cast)  # one withhold withholds
        status = ReleaseStatus.RELEASED if released else ReleaseStatus.WITHHELD
        event = EventType.RELEASE_REVIEW_RELEASED if released else EventType.RELEASE_WITHHELD
        if needed > 1:
            details["votes"] = cast
        entry = uow.append_audit(AuditEvent(event, by.label, refs, details))
        uow.add_vote(release_id, by.identity, vote, note, entry.recorded_at)
        uow.set_release_status(release_id, status, by=by.label, at=entry.recorded_at, note=note)
        updated = uow.get_release(release_id)
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
    needed, and their own vote; never another reviewer's."""
    authorize(by, "release.review")
    with ctx.store.unit_of_work() as uow:
        votes = uow.votes(release.id)
        extract = uow.get_extract(release.extract_id)
    mine = next((v.vote for v in votes if Identity.parse(v.voter).same_actor(by)), None)
    needed = review_rules(ctx, release, extract).review_votes
    return {"votes": len(votes), "needed": needed, "mine": mine}
