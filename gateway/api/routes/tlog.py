"""The audit log as C2SP tlog-tiles, at the gateway's base URL (the log's prefix).

``/checkpoint`` (the latest, with the witnesses' cosignatures), ``/tile/<L>/<N>[.p/<W>]``
(hashes) need no token: they are hashes and signatures only, and anyone may check that the
log only grows. ``/tile/entries/<N>[.p/<W>]`` (the entries themselves) is for auditors: an
entry names organisations, datasets and counts. Tiles never change once they exist, so they
are served with a year's immutable caching; the checkpoint with none.
"""

from __future__ import annotations

import gzip

from fastapi import APIRouter, Path, Request, Response

from gateway.api.deps import Ctx, get_principal
from gateway.api.media import binary, text
from gateway.api.use_cases import use_case
from gateway.services.audit import trail as audit_service

router = APIRouter(tags=["audit log (C2SP tlog-tiles)"])
TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
MAX_SIZE = 2**53


@router.get(
    "/checkpoint",
    summary="The latest signed checkpoint with the witnesses' cosignatures (C2SP)",
    openapi_extra=use_case("audit.tiles"),
    response_class=Response,
    responses={200: text("A C2SP tlog-checkpoint signed note")},
)
def checkpoint(ctx: Ctx) -> Response:
    return Response(
        audit_service.latest_note(ctx), media_type=TEXT, headers={"Cache-Control": "no-cache"}
    )


@router.get(
    "/v1/audit/checkpoints/{size}",
    summary="The checkpoint signed for a tree of this size, with its cosignatures",
    openapi_extra=use_case("audit.tiles"),
    response_class=Response,
    responses={200: text("A C2SP tlog-checkpoint signed note")},
)
def historical(ctx: Ctx, size: int = Path(ge=0, le=MAX_SIZE)) -> Response:
    return Response(audit_service.historical_checkpoint(ctx, size), media_type=TEXT)


@router.get(
    "/tile/entries/{rest:path}",
    summary="An entry bundle: 256 entries, each a uint16 length and its bytes (auditors)",
    openapi_extra=use_case("audit.entry-bundles"),
    response_class=Response,
    responses={200: binary("Entries, each a big-endian uint16 length and its bytes", OCTETS)},
)
def entry_bundle(rest: str, ctx: Ctx, request: Request) -> Response:
    data = audit_service.tile(ctx, f"tile/entries/{rest}", by=get_principal(request))
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            gzip.compress(data, 6),
            media_type="application/octet-stream",
            headers={**IMMUTABLE, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return Response(data, media_type="application/octet-stream", headers=IMMUTABLE)


@router.get(
    "/tile/{level}/{rest:path}",
    summary="A hash tile: 256 (or, partial, 1-255) Merkle tree hashes at level 8 x L",
    openapi_extra=use_case("audit.tiles"),
    response_class=Response,
    responses={200: binary("Concatenated 32-byte SHA-256 hashes", OCTETS)},
)
def hash_tile(level: str, rest: str, ctx: Ctx) -> Response:
    data = audit_service.tile(ctx, f"tile/{level}/{rest}", by=None)
    return Response(data, media_type="application/octet-stream", headers=IMMUTABLE)
