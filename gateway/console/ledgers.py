"""The console's pages on what moved through the hub, in the domain's terms: what each source
delivered month by month (versions, quality; refusals from the audit trail), what each
recipient was released (status, grant, inputs, pulls, the checker's report), and which
releases hold data from one delivery (a breach question)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from gateway.console.reviewing import checked_cells
from gateway.console.web import principal, render, router, runtime
from gateway.domain import identifiers
from gateway.domain.audit_query import AuditQuery
from gateway.domain.builds import BuildState
from gateway.domain.permissions import authorize, permits
from gateway.services.audit import trail as audit_service
from gateway.services.audit.filters import CATEGORIES
from gateway.services.deliveries import overview as deliveries_overview
from gateway.services.releases import builds, pulls
from gateway.services.releases import impact as releases_impact
from gateway.services.releases import overview as releases_overview

LIMIT = 1000  # entries per page; the page says when there are more


def _entries(
    request: Request, category: str, only: tuple[str, ...] = ()
) -> tuple[list[dict[str, Any]], int]:
    by = principal(request)
    authorize(by, "audit.search")
    params = request.query_params
    query = AuditQuery(
        event_types=only or CATEGORIES[category],
        dataset=params.get("dataset") or None,
        recipient=params.get("recipient") or None,
        limit=LIMIT,
    )
    found, total = audit_service.search_page(runtime(request).context, by=by, query=query)
    return [audit_service.entry_json(e) for e in found], total


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(request: Request, source: str = "") -> Response:
    """Each source's datasets month by month: the current version, rows, persons, quality,
    and the month's other deliveries (held, replaced, withdrawn, erased); then the refused
    and rejected attempts, which stored nothing, from the audit trail."""
    by = principal(request)
    ctx = runtime(request).context
    chosen = source if source in ctx.catalogue.sources else None
    months = deliveries_overview.by_month(ctx, by=by, source=chosen)
    sources: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for month in months:
        sources[month["source"]].append(month)
    refusals: list[dict[str, Any]] = []
    total = 0
    if permits(by.roles, "audit.search", owner=False):
        refusals, total = _entries(request, "refusals", ("delivery.rejected", "delivery.refused"))
    return render(
        request,
        "deliveries.html",
        by=by,
        sources=sorted(sources.items()),
        names=ctx.catalogue.sources,
        chosen=chosen or "",
        refusals=refusals,
        refused_total=total,
        impact=permits(by.roles, "delivery.impact", owner=False),
    )


@router.get("/impact", response_class=HTMLResponse)
def impact(request: Request, delivery: str = "") -> Response:
    """Which recipients and releases hold data from one delivery (a breach question)."""
    by = principal(request)
    answer = releases_impact.of_delivery(runtime(request).context, by=by, delivery_id=delivery)
    return render(request, "impact.html", by=by, answer=answer)


@router.get("/releases", response_class=HTMLResponse)
def releases(request: Request, recipient: str = "") -> Response:
    """Each recipient's releases: kind, status, grant and purpose, inputs, persons, whether
    collected, and a link to the checker's report where there is one."""
    by = principal(request)
    ctx = runtime(request).context
    chosen = recipient if recipient in ctx.catalogue.recipients else None
    groups = releases_overview.by_recipient(ctx, by=by, recipient=chosen)
    seen = builds.recent_builds(ctx, by=by) if permits(by.roles, "extract.list", owner=True) else []
    running = [b for b in seen if chosen is None or b.recipient == chosen]
    return render(
        request,
        "releases.html",
        by=by,
        groups=groups,
        builds=running,
        names={r.id: r.name for r in ctx.catalogue.recipients.values()},
        refresh=any(b.state is BuildState.RUNNING for b in running),
        recipients=sorted(ctx.catalogue.recipients.values(), key=lambda r: r.name),
        chosen=chosen or "",
        reports=permits(by.roles, "release.report", owner=False),
    )


@router.get("/releases/{release_id}/report", response_class=HTMLResponse)
def release_report(request: Request, release_id: str) -> Response:
    """The output checker's report of one aggregate release, table by table and cell by cell."""
    by = principal(request)
    identifiers.identifier("release_id", release_id, identifiers.RELEASE_ID)
    ctx = runtime(request).context
    release = pulls.get_release(ctx, by=by, release_id=release_id)
    return render(
        request, "report.html", by=by, release=release, tables=checked_cells(ctx, by, release)
    )
