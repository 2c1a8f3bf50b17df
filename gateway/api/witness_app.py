"""The witness over HTTP: ``POST <prefix>/add-checkpoint`` and ``GET <prefix>/<origin
hash>/checkpoint``, as C2SP tlog-witness defines them. No authentication: the log's signature
on the checkpoint is the only credential the protocol has. Bodies are bounded (a checkpoint
and 63 proof lines fit in a few kilobytes)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.services.audit.transparency import Answer, open_witness

MAX_BODY = 64 * 1024


def _response(answer: Answer) -> Response:
    return PlainTextResponse(answer.body, status_code=answer.status, media_type=answer.content_type)


def create_witness_app(folder: Path) -> Starlette:
    witness = open_witness(folder)

    async def add_checkpoint(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return PlainTextResponse("request body too large\n", status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("request body too large\n", status_code=413)
        return _response(await run_in_threadpool(witness.add_checkpoint, body))  # fsyncs

    async def checkpoint(request: Request) -> Response:
        origin_hash = request.path_params["origin_hash"]
        if len(origin_hash) != 64 or any(c not in "0123456789abcdef" for c in origin_hash):
            return PlainTextResponse("not a lower-case hex SHA-256\n", status_code=404)
        return _response(witness.latest(origin_hash))

    async def identity(_: Request) -> Response:
        return PlainTextResponse(witness.cosigner.vkey + "\n")

    app = Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{origin_hash}/checkpoint", checkpoint, methods=["GET"]),
            Route("/", identity, methods=["GET"]),
        ]
    )
    app.state.witness = witness
    return app
