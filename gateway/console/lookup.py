"""The answer to a citizen's access request (GDPR art. 15): the CPR goes in a POSTed form
only, is turned into the keyed subject at once, and the answer page's address holds a sealed,
expiring reference, never the number; the answer is a printable letter
(:mod:`gateway.services.audit.access_answer`)."""

from __future__ import annotations

import time

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.web import (
    check_csrf,
    principal,
    render,
    router,
    runtime,
    security_headers,
    session_of,
)
from gateway.domain.permissions import authorize
from gateway.errors import GatewayError
from gateway.services.audit import access_answer, subjects
from gateway.services.audit import trail as audit_service


@router.get("/lookup", response_class=HTMLResponse)
def lookup_form(request: Request, answer: str | None = None) -> Response:
    """The form; with ``answer``, the answer to the lookup just posted. The answer's address
    holds a sealed, expiring reference to the keyed subject (bound to this session), never the
    CPR; each view is an audited lookup."""
    by = principal(request)
    authorize(by, "audit.subject-lookup")
    if answer is None:
        return render(request, "lookup.html", by=by, entries=None)
    found = subjects.lookup_by_reference(
        runtime(request).context, by=by, token=answer, bound_to=session_of(request).state.csrf
    )
    if found is None:
        return render(request, "lookup.html", 410, by=by, entries=None, expired=True)
    entries = [audit_service.entry_json(e) for e in found]
    letter = access_answer.answer(runtime(request).context, entries)
    return render(
        request, "lookup.html", by=by, entries=entries, letter=letter, answered=time.strftime("%F")
    )


@router.post("/lookup", response_class=HTMLResponse)
async def lookup(request: Request) -> Response:
    """The CPR arrives in the body only and is turned into the keyed subject at once; the
    browser is sent on (303) to the answer page, so its history keeps no form body with the
    number (Chrome keeps a POST's body to offer resubmission)."""
    by = principal(request)
    form = await request.form()
    check_csrf(request, form)
    authorize(by, "audit.subject-lookup")
    try:
        token = subjects.reference(
            runtime(request).context,
            by=by,
            cpr=str(form.get("cpr", "")),
            bound_to=session_of(request).state.csrf,
        )
    except GatewayError as exc:
        return render(request, "lookup.html", exc.status, by=by, entries=None, error=exc.detail)
    return security_headers(RedirectResponse(f"/console/lookup?answer={token}", 303))
