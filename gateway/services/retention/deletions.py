"""Recipients' deletion: when a grant ends (its ``valid_to`` passed, or it was revoked), the
recipient must confirm that it deleted its own copies of the releases it pulled under it.

The sweep asks (``retention.deletion-requested``: which releases, by when: the grant's
``recipient_deletion_days`` after its end), reminds the recipient each week from a week before
the deadline until it confirms (``retention.deletion-reminded``), and records the confirmation
(``retention.deletion-confirmed``: who, when, which releases). The DPO sees every request still
unconfirmed after its deadline. What the recipient does with its copies the hub cannot see:
the confirmation is the recipient's word, kept as evidence (docs/retention.md).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.audit.events import AuditEvent, EventType
from gateway.domain import identifiers
from gateway.domain.permissions import authorize, reaches_all
from gateway.domain.principals import Principal
from gateway.domain.records import DeletionRequest, ReleaseKind
from gateway.domain.retention import grant_end
from gateway.errors import NotFound
from gateway.services.context import Context

REMIND_EVERY = dt.timedelta(days=7)
ACTOR = "hub-operations/local:retention-sweep[operator]"


def follow_up(ctx: Context, *, on: dt.date) -> tuple[int, int]:
    """Ask for the deletions of grants that have ended, and remind where the deadline is
    near or past; how many requests were made and reminders sent."""
    requested = reminded = 0
    with ctx.store.unit_of_work() as uow:
        releases = [
            r
            for r in uow.all_releases()
            if r.kind == ReleaseKind.MICRODATA and r.last_pulled_at is not None
        ]
        extracts = {r.extract_id: uow.get_extract(r.extract_id) for r in releases}
    for grant in ctx.catalogue.grants:
        ends = grant_end(grant.valid_to, grant.revoked)
        if ends is None or ends > on or grant.retention is None:
            continue
        held = sorted(
            r.id
            for r in releases
            if r.recipient == grant.recipient
            and (spec := extracts.get(r.extract_id)) is not None
            and grant.dataset in {d.dataset for d in spec.spec.datasets}
            and r.created_at[:10] < ends.isoformat()
        )
        if not held:
            continue
        due = ends + dt.timedelta(days=grant.retention.recipient_deletion_days)
        request = DeletionRequest(
            identifiers.new_id("del"),
            grant.recipient,
            grant.id,
            json.dumps(held),
            due.isoformat(),
            ctx.stamp(),
        )
        with ctx.store.unit_of_work() as uow:
            if uow.add_deletion_request(request):
                uow.append_audit(
                    AuditEvent(
                        EventType.DELETION_REQUESTED,
                        ACTOR,
                        {"recipient": grant.recipient, "grant": grant.id, "request": request.id},
                        {"releases": held, "due": request.due, "grant_ended": ends.isoformat()},
                    )
                )
                requested += 1
    with ctx.store.unit_of_work() as uow:
        open_requests = [r for r in uow.deletion_requests() if r.confirmed_at is None]
    for request in open_requests:
        due = dt.date.fromisoformat(request.due)
        last = dt.date.fromisoformat(request.reminded_at[:10]) if request.reminded_at else None
        if on < due - REMIND_EVERY or (last is not None and on - last < REMIND_EVERY):
            continue
        with ctx.store.unit_of_work() as uow:
            uow.remind_deletion(request.id, ctx.stamp())
            uow.append_audit(
                AuditEvent(
                    EventType.DELETION_REMINDED,
                    ACTOR,
                    {"recipient": request.recipient, "request": request.id},
                    {"due": request.due, "overdue": on > due, "reminders": request.reminders + 1},
                )
            )
        reminded += 1
    return requested, reminded


def view(request: DeletionRequest, on: dt.date) -> dict[str, Any]:
    return {
        "id": request.id,
        "recipient": request.recipient,
        "grant": request.grant_id,
        "releases": request.release_ids(),
        "due": request.due,
        "requested_at": request.created_at,
        "reminders": request.reminders,
        "reminded_at": request.reminded_at,
        "confirmed_by": request.confirmed_by,
        "confirmed_at": request.confirmed_at,
        "note": request.note,
        "overdue": request.confirmed_at is None and on > dt.date.fromisoformat(request.due),
    }


def requests(ctx: Context, *, by: Principal) -> list[dict[str, Any]]:
    """A recipient's own requests; every request for auditors (the DPO)."""
    authorize(by, "deletion.list")
    recipient = None if reaches_all(by, "deletion.list") else by.subject
    with ctx.store.unit_of_work() as uow:
        found = uow.deletion_requests(recipient)
    return [view(r, ctx.today()) for r in found]


def confirm(ctx: Context, *, by: Principal, request_id: str, note: str | None) -> dict[str, Any]:
    """The recipient confirms it deleted every copy of the requested releases (audited)."""
    identifiers.identifier("request_id", request_id, identifiers.DELETION_ID)
    note = identifiers.free_text("note", note)
    with ctx.store.unit_of_work() as uow:
        request = uow.get_deletion_request(request_id)
    if request is None:
        raise NotFound(f"no deletion request '{request_id}'")
    authorize(by, "deletion.confirm", owner=request.recipient)
    at = ctx.stamp()
    with ctx.store.unit_of_work() as uow:
        uow.confirm_deletion(request_id, by=by.label, at=at, note=note)
        uow.append_audit(
            AuditEvent(
                EventType.DELETION_CONFIRMED,
                by.label,
                {"recipient": request.recipient, "grant": request.grant_id, "request": request_id},
                {"releases": request.release_ids(), "due": request.due, "note": note},
            )
        )
        confirmed = uow.get_deletion_request(request_id)
    assert confirmed is not None
    return view(confirmed, ctx.today())
