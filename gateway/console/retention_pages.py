"""The DPO's storage-limitation page: what the hub keeps and until when, what is due, the legal
holds and what each delays (placed and lifted here, two persons to lift), the erasures with the
audit entries that prove them, recipients' deletions overdue; and the records of processing
(GDPR art. 30) as a page that prints. Every action goes through the retention services, so
permissions, the second person and the audit entries are the API's own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.web import check_csrf, principal, render, router, runtime, security_headers
from gateway.domain import identifiers
from gateway.domain.permissions import authorize, permits
from gateway.domain.principals import Identity
from gateway.errors import GatewayError
from gateway.services.retention import deletions, erasure, holds, plan, records

SOON = dt.timedelta(days=365)  # the page lists what goes within a year, and all that is held
SHOWN = 100


def _upcoming(items: list[dict[str, Any]], on: dt.date) -> list[dict[str, Any]]:
    """What goes within a year or is delayed by a hold, soonest first (erased ones apart)."""
    horizon = (on + SOON).isoformat()
    chosen = [
        i
        for i in items
        if i["state"] != "erased" and (i["held_by"] or (i["due"] and i["due"] <= horizon))
    ]
    return sorted(chosen, key=lambda i: (i["due"] or "9999", i["id"]))[:SHOWN]


@router.get("/retention", response_class=HTMLResponse)
def retention(request: Request, done: str | None = None, error: str | None = None) -> Response:
    by = principal(request)
    ctx = runtime(request).context
    current = plan.plan(ctx, by=by).as_dict()
    on = dt.date.fromisoformat(current["on"])
    standing = holds.holds(ctx, by=by) if permits(by.roles, "hold.list", owner=False) else []
    for hold in standing:  # the one who asked to lift cannot also confirm: say who must
        asked = hold["lift_requested_by"]
        hold["asked_by_me"] = bool(asked) and Identity.parse(asked).same_actor(by)
    delayed: dict[str, int] = {}
    for item in current["items"]:
        for hold_id in item["held_by"]:
            delayed[hold_id] = delayed.get(hold_id, 0) + 1
    requests = (
        deletions.requests(ctx, by=by) if permits(by.roles, "deletion.list", owner=False) else []
    )
    return render(
        request,
        "retention.html",
        status=200 if error is None else 409,
        by=by,
        summary=current["summary"],
        on=current["on"],
        upcoming=_upcoming(current["items"], on),
        holds=standing,
        delayed=delayed,
        erasures=erasure.erasures(ctx, by=by, limit=SHOWN),
        requests=requests,
        may_place=permits(by.roles, "hold.place", owner=False),
        may_lift=permits(by.roles, "hold.lift", owner=False),
        done=done if done in ("placed", "lift") else None,
        error=error,
    )


async def _act(request: Request, action: str, hold_id: str | None = None) -> Response:
    by = principal(request)
    form = await request.form()
    check_csrf(request, form)
    ctx = runtime(request).context

    def field(name: str) -> str | None:
        value = str(form.get(name, "")).strip()
        return value or None

    try:
        if hold_id is None:
            done = holds.place(
                ctx,
                by=by,
                reason=field("reason") or "",
                dataset=field("dataset"),
                source=field("source"),
                period_from=field("period_from"),
                period_to=field("period_to"),
                release=field("release"),
            )
        else:
            done = holds.lift(ctx, by=by, hold_id=hold_id, reason=field("reason"))
    except GatewayError as exc:
        response = retention(request, error=exc.detail)
        response.status_code = exc.status
        return response
    target = f"/console/retention?done={action}#hold-{done['id']}"
    return security_headers(RedirectResponse(target, status_code=303))


@router.post("/retention/holds")
async def place_hold(request: Request) -> Response:
    authorize(principal(request), "hold.place")
    return await _act(request, "placed")


@router.post("/retention/holds/{hold_id}/lift")
async def lift_hold(request: Request, hold_id: str) -> Response:
    identifiers.identifier("hold_id", hold_id, identifiers.HOLD_ID)
    return await _act(request, "lift", hold_id)


@router.get("/records", response_class=HTMLResponse)
def processing_records(request: Request) -> Response:
    """The records of processing as generated from the policies today: a page that prints."""
    by = principal(request)
    page = records.render(records.current(runtime(request).context, by=by), "html")
    return security_headers(HTMLResponse(page))
