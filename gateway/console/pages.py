"""The console's pages, each answering one question, each on the same services as the API
(so permissions, four eyes and the audit entries are the API's own)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.reviewing import checked_cells
from gateway.console.web import (
    check_csrf,
    principal,
    render,
    router,
    runtime,
    save,
    security_headers,
    session_of,
)
from gateway.domain import identifiers
from gateway.domain.audit_query import AuditQuery
from gateway.domain.permissions import authorize, permits
from gateway.domain.principals import Identity, Principal
from gateway.errors import GatewayError
from gateway.services.audit import trail as audit_service
from gateway.services.audit.filters import CATEGORIES, RANGES, relative_range
from gateway.services.deliveries import reads as deliveries
from gateway.services.releases import extracts, pulls, reviews

PAGE = 50


@router.get("/", response_class=HTMLResponse)
def queue(request: Request, done: str | None = None, error: str | None = None) -> Response:
    by = principal(request)
    ctx = runtime(request).context
    authorize(by, "extract.list")
    pending = [e for e in extracts.list_extracts(ctx, by=by) if e.status == "pending-approval"]
    items = []
    weighs_quality = permits(by.roles, "delivery.quality", owner=False)
    for record in pending:
        decision = extracts.decide(ctx, record.recipient, record.spec).as_dict()
        requester = Identity.parse(record.requested_by)
        inputs = (
            {
                d.dataset: deliveries.month_quality(
                    ctx, by=by, dataset=d.dataset, months=record.spec.months
                )
                for d in record.spec.datasets
                if d.dataset in ctx.catalogue.datasets
            }
            if weighs_quality
            else None
        )
        asked = dt.datetime.fromisoformat(record.created_at.replace("Z", "+00:00"))
        age = max(0, (ctx.clock() - asked).days)
        items.append(
            {
                "record": record,
                "decision": decision,
                "requester": requester,
                "inputs": inputs,
                "age": age,
            }
        )
    held = []
    reviewing = permits(by.roles, "release.list", owner=False)
    for release in reviews.releases_in(ctx, by=by) if reviewing else []:
        votes = reviews.vote_status(ctx, by=by, release=release)
        held.append(
            {"release": release, "outputs": checked_cells(ctx, by, release), "votes": votes}
        )
    decided = _decided(ctx, by, done) if reviewing else None
    return render(
        request,
        "queue.html",
        by=by,
        items=items,
        held=held,
        done=done,
        decided=decided,
        error=error,
    )


def _decided(ctx: Any, by: Principal, done: str | None) -> dict[str, Any] | None:
    """After a decision on a specification: its outcome. After a review's last vote: its
    outcome and every vote with its note (open now)."""
    if done and identifiers.is_valid(identifiers.EXTRACT_ID, done):
        try:
            record = extracts.get_extract(ctx, by=by, extract_id=done)
        except GatewayError:
            return None
        return {"extract": done, "status": str(record.status), "note": record.decision_note}
    if not done or not identifiers.is_valid(identifiers.RELEASE_ID, done):
        return None
    try:
        release = pulls.get_release(ctx, by=by, release_id=done)
        if release.status not in ("released", "withheld"):
            return None
        votes = reviews.vote_status(ctx, by=by, release=release)
    except GatewayError:
        return None
    return {"release": release.id, "status": str(release.status), "ballots": votes.get("ballots")}


async def _decide(request: Request, action: str, target: str) -> Response:
    by = principal(request)
    form = await request.form()
    check_csrf(request, form)
    ctx = runtime(request).context
    note = str(form.get("note", "")).strip() or None
    try:
        if action in ("approve", "reject", "return"):
            extracts.decide_extract(
                ctx,
                by=by,
                extract_id=target,
                approve=action == "approve",
                note=note,
                send_back=action == "return",
            )
        else:
            reviews.review_release(
                ctx, by=by, release_id=target, approve=action == "release", note=note
            )
    except GatewayError as exc:
        response = queue(request, error=exc.detail)
        response.status_code = exc.status
        return response
    return security_headers(RedirectResponse(f"/console/?done={target}", status_code=303))


@router.post("/extracts/{extract_id}/{action}")
async def decide_extract(request: Request, extract_id: str, action: str) -> Response:
    identifiers.identifier("extract_id", extract_id, identifiers.EXTRACT_ID)
    if action not in ("approve", "reject", "return"):
        return render(request, "error.html", 404, message="no such action")
    return await _decide(request, action, extract_id)


@router.post("/releases/{release_id}/{action}")
async def review_release(request: Request, release_id: str, action: str) -> Response:
    identifiers.identifier("release_id", release_id, identifiers.RELEASE_ID)
    if action not in ("release", "withhold"):
        return render(request, "error.html", 404, message="no such action")
    return await _decide(request, action, release_id)


def _query(params: dict[str, str], limit: int, offset: int) -> AuditQuery:
    since, until = relative_range(params.get("range") or None, dt.date.today())
    category = params.get("category") or ""
    return AuditQuery(
        event_types=CATEGORIES.get(category, ()),
        actor=params.get("actor") or None,
        dataset=params.get("dataset") or None,
        recipient=params.get("recipient") or None,
        since=params.get("since") or since,
        until=params.get("until") or until,
        limit=limit,
        offset=offset,
    )


FILTERS = ("range", "since", "until", "category", "dataset", "recipient", "actor")


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, page: str = "") -> Response:
    """The search page: the filters of the last search (kept in the session, never in the
    address, so no filter reaches the browser's history) and its results."""
    by = principal(request)
    authorize(by, "audit.search")
    at = int(page) if page.isdigit() and len(page) <= 6 else 0  # bounded: an SQL offset
    params = dict(session_of(request).state.query)
    entries: list[dict[str, Any]] = []
    total, error = 0, None
    if params:
        try:
            found, total = audit_service.search_page(
                runtime(request).context, by=by, query=_query(params, PAGE, at * PAGE)
            )
            entries = [audit_service.entry_json(e) for e in found]
        except GatewayError as exc:
            error, params = exc.detail, {}
    return _audit_page(request, by, params, entries, total, at, error)


def _audit_page(
    request: Request,
    by: Any,
    params: dict[str, str],
    entries: list[dict[str, Any]],
    total: int,
    page: int,
    error: str | None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "audit.html",
        status,
        by=by,
        params={**params, "search": "1" if params else ""},
        entries=entries,
        total=total,
        page=page,
        pages=(total + PAGE - 1) // PAGE,
        categories=list(CATEGORIES),
        ranges=RANGES,
        error=error,
    )


@router.post("/audit", response_class=HTMLResponse)
async def search(request: Request) -> Response:
    """A search posted from the form: its filters are checked, kept in the session and the
    browser sent on to the results (303). A refused filter is named, never shown again."""
    by = principal(request)
    form = await request.form()
    check_csrf(request, form)
    authorize(by, "audit.search")
    params = {k: str(form.get(k, "")).strip() for k in FILTERS if str(form.get(k, "")).strip()}
    try:
        audit_service.search_page(runtime(request).context, by=by, query=_query(params, 1, 0))
    except GatewayError as exc:
        return _audit_page(request, by, {}, [], 0, 0, exc.detail, exc.status)
    session = session_of(request)
    session.state.query = params or {"range": ""}
    response = RedirectResponse("/console/audit", status_code=303)
    return security_headers(save(response, request, session))


@router.get("/audit.csv")
def audit_csv(request: Request) -> Response:
    by = principal(request)
    query = _query(dict(session_of(request).state.query), 1000, 0)
    found, _ = audit_service.search_page(runtime(request).context, by=by, query=query)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["index", "time", "type", "actor", "refs", "details"])
    for entry in found:
        body = audit_service.entry_json(entry)
        writer.writerow(
            [
                body["index"],
                body["time"],
                body["type"],
                body["actor"],
                json.dumps(body["refs"], ensure_ascii=False),
                json.dumps(body["details"], ensure_ascii=False),
            ]
        )
    response = Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
    return security_headers(response)


@router.get("/audit/{index}/proof.json")
def proof(request: Request, index: int) -> Response:
    by = principal(request)
    material = audit_service.proof_material(runtime(request).context, index, by=by)
    response = Response(
        json.dumps(material, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="proof-{index}.json"'},
    )
    return security_headers(response)


class _Verification:
    """One verification run in the background per process; the page polls (meta refresh)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = False
        self.started = 0.0
        self.result: dict[str, Any] | None = None

    def start(self, run: Any) -> None:
        with self.lock:
            if self.running:
                return
            self.running, self.started, self.result = True, time.time(), None

        def work() -> None:
            try:
                outcome = dict(run().__dict__)
            except GatewayError as exc:
                outcome = {"ok": False, "problem": exc.detail}
            with self.lock:
                self.running, self.result = False, outcome

        threading.Thread(target=work, name="console-verify", daemon=True).start()


VERIFICATION = _Verification()


@router.get("/integrity", response_class=HTMLResponse)
def integrity(request: Request) -> Response:
    by = principal(request)
    authorize(by, "audit.verify")
    ctx = runtime(request).context
    checkpoint = audit_service.latest_checkpoint(ctx)
    return render(
        request,
        "integrity.html",
        by=by,
        checkpoint=checkpoint,
        witnesses=audit_service.witness_health(ctx),
        last=audit_service.last_verification(ctx),
        running=VERIFICATION.running,
        result=VERIFICATION.result,
        elapsed=int(time.time() - VERIFICATION.started) if VERIFICATION.running else 0,
    )


@router.post("/integrity/verify")
async def run_verification(request: Request) -> Response:
    by: Principal = principal(request)
    check_csrf(request, await request.form())
    authorize(by, "audit.verify")
    ctx = runtime(request).context
    VERIFICATION.start(lambda: audit_service.verify_recorded(ctx, by=by))
    return integrity(request)


@router.get("/grants", response_class=HTMLResponse)
def grants(request: Request, recipient: str = "", dataset: str = "", state: str = "") -> Response:
    """The legal bases, one section per recipient, filtered by recipient, dataset and state
    (in force, expiring within 60 days, expired or revoked); details fold away."""
    by = principal(request)
    authorize(by, "catalogue.read")
    catalogue = runtime(request).context.catalogue
    today = runtime(request).context.today()
    groups: dict[str, list[dict[str, Any]]] = {}
    for grant in sorted(catalogue.grants, key=lambda g: (g.recipient, g.dataset, g.id)):
        revoked = grant.revoked is not None and grant.revoked <= today
        expired = grant.valid_to is not None and grant.valid_to < today
        expiring = (
            not revoked
            and grant.valid_to is not None
            and today <= grant.valid_to <= today + dt.timedelta(days=60)
        )
        shown = "revoked" if revoked else "expired" if expired else "expiring" if expiring else ""
        if (recipient and grant.recipient != recipient) or (dataset and grant.dataset != dataset):
            continue
        if (state == "in-force" and (revoked or expired)) or (state == "ended" and not shown):
            continue
        if state == "expiring" and not expiring:
            continue
        groups.setdefault(grant.recipient, []).append({"grant": grant, "state": shown})
    names = catalogue.recipients
    return render(
        request,
        "grants.html",
        by=by,
        groups=[
            (names[r].name if r in names else r, r, rows)
            for r, rows in sorted(
                groups.items(), key=lambda i: names[i[0]].name if i[0] in names else i[0]
            )
        ],
        recipients=sorted(catalogue.recipients.values(), key=lambda r: r.name),
        datasets=sorted(catalogue.datasets.values(), key=lambda d: d.id),
        chosen={"recipient": recipient, "dataset": dataset, "state": state},
        total=sum(len(rows) for rows in groups.values()),
        policy_hash=catalogue.policy_hash,
    )
