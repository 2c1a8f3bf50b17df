"""Legal holds: an auditor (the national audit office during an inspection, say) or the DPO
places a hold on a dataset, a source, a range of months or a release, with a reason; nothing
it covers is erased while it stands (the plan shows what it delays). Lifting takes two
persons: one asks, with a reason; another confirms. Each step is an audit entry.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.audit.events import AuditEvent, EventType
from gateway.domain import identifiers
from gateway.domain.permissions import authorize
from gateway.domain.principals import Identity, Principal
from gateway.domain.retention import Hold
from gateway.errors import Conflict, Forbidden, InvalidRequest, NotFound
from gateway.services.context import Context

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def view(hold: Hold) -> dict[str, Any]:
    return {**hold.__dict__, "scope": hold.scope(), "standing": hold.standing}


def holds(ctx: Context, *, by: Principal) -> list[dict[str, Any]]:
    authorize(by, "hold.list")
    with ctx.store.unit_of_work() as uow:
        return [view(h) for h in uow.holds()]


def place(
    ctx: Context,
    *,
    by: Principal,
    reason: str,
    dataset: str | None = None,
    source: str | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
    release: str | None = None,
) -> dict[str, Any]:
    """Place a hold; it must name at least one of dataset, source, months or release, each of
    which must exist (a hold on a misspelt dataset would hold nothing)."""
    authorize(by, "hold.place")
    text = identifiers.free_text("reason", reason)
    if not text or len(text.strip()) < 5:
        raise InvalidRequest(
            "a hold needs a reason (at least a few words)",
            errors=[{"field": "reason", "problem": "missing"}],
        )
    catalogue = ctx.catalogue
    if dataset is not None and dataset not in catalogue.datasets:
        raise InvalidRequest(f"no dataset '{identifiers.identifier('dataset', dataset)}'")
    if source is not None and source not in catalogue.sources:
        raise InvalidRequest(f"no source '{identifiers.identifier('source', source)}'")
    for name, value in (("period_from", period_from), ("period_to", period_to)):
        if value is not None and not _PERIOD.fullmatch(value):
            raise InvalidRequest(
                f"{name} is not a month: expected YYYY-MM",
                errors=[{"field": name, "problem": "format"}],
            )
    if release is not None:
        identifiers.identifier("release", release, identifiers.RELEASE_ID)
        with ctx.store.unit_of_work() as uow:
            if uow.get_release(release) is None:
                raise InvalidRequest(f"no release '{release}'")
    if not any((dataset, source, period_from, period_to, release)):
        raise InvalidRequest(
            "a hold must name what it covers: a dataset, a source, months or a release"
        )
    hold = Hold(
        identifiers.new_id("hold"),
        text,
        by.label,
        ctx.stamp(),
        dataset,
        source,
        period_from,
        period_to,
        release,
    )
    with ctx.store.unit_of_work() as uow:
        uow.add_hold(hold)
        uow.append_audit(
            AuditEvent(
                EventType.HOLD_PLACED,
                by.label,
                {"hold": hold.id, **({"dataset": dataset} if dataset else {})},
                {"scope": hold.scope(), "reason": text},
            )
        )
    return view(hold)


def lift(ctx: Context, *, by: Principal, hold_id: str, reason: str | None) -> dict[str, Any]:
    """The first call asks to lift (with a reason); the second, by another person, lifts.
    The one who asked cannot also confirm."""
    authorize(by, "hold.lift")
    identifiers.identifier("hold_id", hold_id, identifiers.HOLD_ID)
    text = identifiers.free_text("reason", reason)
    with ctx.store.unit_of_work() as uow:
        hold = uow.get_hold(hold_id)
    if hold is None:
        raise NotFound(f"no legal hold '{hold_id}'")
    if not hold.standing:
        raise Conflict(f"legal hold '{hold_id}' was lifted on {hold.lifted_at}")
    at = ctx.stamp()
    with ctx.store.unit_of_work() as uow:
        if hold.lift_requested_by is None:
            if not text:
                raise InvalidRequest("say why the hold may be lifted (reason)")
            uow.update_hold(
                hold_id, lift_requested_by=by.label, lift_requested_at=at, lift_reason=text
            )
            event, details = EventType.HOLD_LIFT_REQUESTED, {"reason": text, "asked_by": by.label}
        else:
            if Identity.parse(hold.lift_requested_by).same_actor(by):
                raise Forbidden(
                    "a second person must confirm lifting a legal hold; you asked for it"
                )
            uow.update_hold(hold_id, lifted_by=by.label, lifted_at=at)
            event = EventType.HOLD_LIFTED
            details = {"asked_by": hold.lift_requested_by, "reason": hold.lift_reason or ""}
        uow.append_audit(AuditEvent(event, by.label, {"hold": hold_id}, details))
        changed = uow.get_hold(hold_id)
    assert changed is not None
    return view(changed)
