"""Two console pages read from the audit trail through the audited search: what each source
delivered per month (accepted, rejected and why, refused), and what each recipient was released
(under which decision, with which content hash and checker status)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from gateway.console.web import principal, render, router, runtime
from gateway.domain.audit_query import AuditQuery
from gateway.domain.permissions import authorize, permits
from gateway.services.audit import trail as audit_service
from gateway.services.audit.filters import CATEGORIES
from gateway.services.releases import impact as releases_impact

LIMIT = 1000  # entries per page; the page says when there are more


def _entries(request: Request, category: str) -> tuple[list[dict[str, Any]], int]:
    by = principal(request)
    authorize(by, "audit.search")
    params = request.query_params
    query = AuditQuery(
        event_types=CATEGORIES[category],
        dataset=params.get("dataset") or None,
        recipient=params.get("recipient") or None,
        limit=LIMIT,
    )
    found, total = audit_service.search_page(runtime(request).context, by=by, query=query)
    return [audit_service.entry_json(e) for e in found], total


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(request: Request) -> Response:
    entries, total = _entries(request, "deliveries")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        refs = entry["refs"]
        groups[(refs.get("source", "?"), refs.get("period", "?"))].append(entry)
    ordered = sorted(groups.items(), key=lambda item: (item[0][0], item[0][1]), reverse=False)
    return render(
        request,
        "ledger.html",
        by=principal(request),
        heading="deliveries.title",
        groups=[(f"{source} - {period}", rows) for (source, period), rows in ordered],
        total=total,
        shown=len(entries),
        impact=permits(principal(request).roles, "delivery.impact", owner=False),
    )


@router.get("/impact", response_class=HTMLResponse)
def impact(request: Request, delivery: str = "") -> Response:
    """Which recipients and releases hold data from one delivery (a breach question)."""
    by = principal(request)
    answer = releases_impact.of_delivery(runtime(request).context, by=by, delivery_id=delivery)
    return render(request, "impact.html", by=by, answer=answer)


@router.get("/releases", response_class=HTMLResponse)
def releases(request: Request) -> Response:
    entries, total = _entries(request, "releases")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        groups[entry["refs"].get("recipient", "?")].append(entry)
    return render(
        request,
        "ledger.html",
        by=principal(request),
        heading="releases.title",
        groups=sorted(groups.items()),
        total=total,
        shown=len(entries),
    )
