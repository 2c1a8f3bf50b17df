"""Ingestion: sources push deliveries; the body is spooled sealed, never as plaintext."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.api import metrics, schemas
from gateway.api.deps import Ctx, CurrentPrincipal, get_runtime
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.errors import BodyTooLarge, DeliveryRejected, GatewayError
from gateway.services.deliveries import ingest as deliveries
from gateway.services.deliveries import reads, uploads
from gateway.services.deliveries import versions as delivery_versions
from gateway.services.releases import impact as releases_impact

router = APIRouter(prefix="/v1", tags=["deliveries"])
# The body is streamed, not parsed by FastAPI, so the OpenAPI document is told its forms here.
DELIVERY_BODY = {
    "required": True,
    "description": "The delivery: CSV with a header line (comma or semicolon), or Parquet.",
    "content": {
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
    },
}


@router.post(
    "/sources/{source}/datasets/{dataset}/deliveries",
    status_code=201,
    summary="Push a delivery (CSV or Parquet body)",
    openapi_extra=use_case("delivery.push", requestBody=DELIVERY_BODY),
    responses={
        200: {"description": "The same content was delivered before: its receipt"},
        403: {"description": "Not this source's dataset, or no legal basis"},
        422: {"description": "Validation problems by row and column; nothing stored"},
    },
)
async def push(
    source: str,
    dataset: str,
    request: Request,
    response: Response,
    ctx: Ctx,
    by: CurrentPrincipal,
    period: str = Query(..., description="The month the delivery covers, YYYY-MM"),
    confirm: bool = Query(
        False,
        description="The source means it: a delivery with no rows, far fewer rows or persons "
        "than the month's current version, or mostly dated outside its month becomes current "
        "at once instead of waiting (held) for POST /v1/deliveries/{id}/confirm.",
    ),
) -> dict[str, Any]:
    settings = get_runtime(request).settings
    # Spooled in this process's work area: a crash leaves it to the sweep, never unexplained.
    spool = uploads.receive(ctx)
    label = dataset if dataset in ctx.catalogue.datasets else "unknown"  # metric labels
    # The delivery is processed while its body arrives: the push reads the spool as it grows.
    started = threading.Event()  # set once the push has an ingestion thread
    pushing = asyncio.ensure_future(
        _counted(
            _ingest_limiter(request),
            started,
            label,
            deliveries.push_delivery,
            ctx,
            by=by,
            source=source,
            dataset=dataset,
            period=period,
            upload=spool,
            confirm=confirm,
        )
    )
    try:
        try:
            async for chunk in request.stream():
                if pushing.done():
                    break  # refused before the end (no legal basis, wrong source): stop reading
                spool.write(chunk)
                if spool.size > settings.max_delivery_bytes:
                    raise BodyTooLarge(
                        "the delivery is larger than the limit of "
                        f"{settings.max_delivery_bytes} bytes"
                    )
            else:
                spool.finish()
        except BaseException:
            # The body will not be whole: readers fail, the file goes now (not when a queued
            # push would have got its turn), and a push still waiting for a slot is cancelled.
            spool.discard()
            if not started.is_set():
                pushing.cancel()  # still waiting for a slot: it never starts
            with contextlib.suppress(BaseException):
                await pushing  # a running one stops at the next chunk it needs, and cleans up
            raise
        receipt = await pushing
    finally:
        spool.discard()
    if receipt.duplicate:
        response.status_code = 200
        metrics.DELIVERIES.labels(label, "duplicate").inc()
    else:
        request.app.state.workers.deliveries_arrived()  # its persons, into the lookup index
        metrics.DELIVERIES.labels(label, "accepted").inc()
        metrics.DELIVERY_ROWS.labels(label).inc(receipt.rows)
    return receipt.as_dict()


async def _counted(
    limiter: anyio.CapacityLimiter,
    started: threading.Event,
    label: str,
    fn: Any,
    *args: Any,
    **kwargs: Any,
) -> deliveries.Receipt:
    """Run the push off the event loop on the ingestion threads (not the shared pool that
    other requests use), counting refused and rejected pushes by dataset. ``started`` is set
    when the push has its thread (from then on it runs to its end and cleans up itself)."""

    def run() -> deliveries.Receipt:
        started.set()
        return fn(*args, **kwargs)  # type: ignore[no-any-return]

    try:
        receipt: deliveries.Receipt = await anyio.to_thread.run_sync(run, limiter=limiter)
    except DeliveryRejected:
        metrics.DELIVERIES.labels(label, "rejected").inc()
        raise
    except GatewayError:
        metrics.DELIVERIES.labels(label, "refused").inc()
        raise
    return receipt


def _ingest_limiter(request: Request) -> anyio.CapacityLimiter:
    """The process's bound on deliveries in progress (created in the event loop, once)."""
    state = request.app.state
    if getattr(state, "ingest_limiter", None) is None:
        state.ingest_limiter = anyio.CapacityLimiter(
            get_runtime(request).settings.max_concurrent_ingests
        )
    limiter: anyio.CapacityLimiter = state.ingest_limiter
    return limiter


@router.get(
    "/deliveries/{delivery_id}",
    summary="A delivery's status and counts, its version, and its month's versions",
    openapi_extra=use_case("delivery.read"),
    response_model=None,
    responses=answer(schemas.Delivery, "The delivery, its version and the month's history"),
)
def get(delivery_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return reads.show(ctx, by=by, delivery_id=delivery_id)


@router.get(
    "/deliveries/{delivery_id}/quality",
    summary="A delivery's quality report (its source and approvers)",
    openapi_extra=use_case("delivery.quality"),
    response_model=None,
    responses=answer(schemas.DeliveryQuality, "The quality report"),
)
def quality(delivery_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return reads.get_quality(ctx, by=by, delivery_id=delivery_id)


@router.get(
    "/deliveries/{delivery_id}/impact",
    summary="Which recipients and releases hold data from this delivery (auditors)",
    openapi_extra=use_case("delivery.impact"),
    response_model=None,
    responses=answer(schemas.Impact, "The delivery and every release that read it"),
)
def impact(delivery_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return releases_impact.of_delivery(ctx, by=by, delivery_id=delivery_id)


class WithdrawalNote(BaseModel):
    note: str | None = Field(None, max_length=2000, description="Why (no CPR); audited")


@router.post(
    "/deliveries/{delivery_id}/withdraw",
    summary="Withdraw the month's current delivery (its source): new releases no longer read it",
    openapi_extra=use_case("delivery.withdraw"),
    response_model=None,
    responses=answer(schemas.Withdrawal, "Withdrawn; the month has no current delivery"),
)
def withdraw(
    delivery_id: str, ctx: Ctx, by: CurrentPrincipal, body: WithdrawalNote | None = None
) -> dict[str, Any]:
    note = body.note if body else None
    return delivery_versions.withdraw(ctx, by=by, delivery_id=delivery_id, note=note)


@router.post(
    "/deliveries/{delivery_id}/confirm",
    summary="Confirm one's own delivery held for confirmation: it becomes the month's current",
    openapi_extra=use_case("delivery.confirm"),
    response_model=None,
    responses=answer(schemas.Confirmation, "Confirmed; the month's current version"),
)
def confirm(delivery_id: str, ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return delivery_versions.confirm_held(ctx, by=by, delivery_id=delivery_id)
