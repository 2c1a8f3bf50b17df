"""The pages behind every problem ``type``: ``/problems/<code>``, one per kind of error the
gateway answers with, saying what it means and what to do. Public (they describe the API, not
anyone's data), plain HTML, served by the gateway itself."""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gateway.errors import GatewayError, problem_type

router = APIRouter(include_in_schema=False)

# code -> (what it means, what to do)
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "internal-error": (
        "Something failed inside the gateway that it did not expect. Nothing partial was kept.",
        "Retry once; if it persists, give the operators the request id from the answer.",
    ),
    "configuration-error": (
        "The gateway, or a part it needs, is not configured as it should be.",
        "Operators: the detail names the setting; see docs/operations.md.",
    ),
    "invalid-policy-files": (
        "The legal-basis policy files could not be loaded; the gateway refuses to run on them.",
        "Run 'gateway policy check' and correct the files it names.",
    ),
    "key-unavailable": (
        "Key material the gateway needs is missing or is not the key its data was made with.",
        "Operators: restore the master key from its own backup (keys/README.md).",
    ),
    "not-authenticated": (
        "No valid bearer token: missing, expired, from an issuer the gateway does not trust, "
        "or naming an organisation or role its issuer may not. The detail names the check.",
        "Get a new token ('gateway login', or your client key file) and try again.",
    ),
    "forbidden": (
        "Your organisation or role may not do this, or not to this object (four eyes, "
        "ownership). The attempt is in the audit trail.",
        "Ask someone who may; the permission table is in the API documentation.",
    ),
    "policy-denied": (
        "The legal-basis policy refuses the request. The answer carries the full decision: "
        "every rule, why, and its legal citation.",
        "Change the request to what a grant allows, or ask legal staff about a new grant.",
    ),
    "disclosure-refused": (
        "Disclosure control refused the aggregate: a table would reveal too little about too "
        "few people. The answer names the tables and rules, not the cells.",
        "Coarsen the table (fewer dimensions, longer periods) and run it again.",
    ),
    "not-found": (
        "There is no such object, or none you may see.",
        "Check the identifier; lists of your own objects are in the API.",
    ),
    "conflict": (
        "The object is not in a state that allows this (already decided, not yet approved, "
        "inputs not yet delivered...). The detail says which.",
        "Wait for, or do, the step the detail names first.",
    ),
    "erased": (
        "The content was erased (crypto-shredded) when its retention rule ran out: no key opens "
        "it any more. Its record, its receipt and the audit entries about it stay and verify; "
        "the detail says when and under which rule.",
        "Nothing can bring it back. If you still need the data, ask its source for a new "
        "delivery under a rule that lets the hub keep it.",
    ),
    "invalid-request": (
        "The request is malformed: a field has the wrong form, a name is not in the catalogue "
        "(the detail suggests the nearest), or a value is not allowed. Values are never echoed.",
        "Correct the fields named in 'errors'. A body that is not JSON in UTF-8 is answered "
        "with this problem too.",
    ),
    "delivery-rejected": (
        "The delivery does not match its dataset's schema; nothing of it was stored. The answer "
        "names rows, columns and problem codes (the first 100, and the count), never values.",
        "Correct the file and push it again.",
    ),
    "integrity-error": (
        "Stored data failed verification (a hash or signature does not match).",
        "Operators: run 'gateway audit verify' and follow docs/operations.md.",
    ),
    "proof-failed": (
        "A Merkle proof does not verify against the checkpoint it was checked with (the "
        "detail names the failed check, e.g. the sizes asked for do not fit the log).",
        "Ask for a proof between sizes the log has; if a proof you were given fails, keep it: "
        "it is evidence, and tell the DPO.",
    ),
    "note-invalid": (
        "A signed checkpoint (note) does not verify with the key it was checked against.",
        "Check that you hold the log's verifier key (audit/README.md); keep the note and tell "
        "the DPO.",
    ),
    "tile-invalid": (
        "A tile or entry bundle of the audit log (C2SP tlog-tiles) is malformed or does not "
        "fit the tree it was fetched for.",
        "Fetch it again from the log's prefix; if it still fails, keep it with the checkpoint "
        "it was fetched for: it is evidence, and tell the DPO.",
    ),
    "unavailable": (
        "A part the gateway needs (the database, the identity provider's keys) is away for now.",
        "Retry after the number of seconds in Retry-After.",
    ),
    "not-ready": (
        "The gateway is starting or lost its database or keys; it serves nothing until ready.",
        "Retry after the number of seconds in Retry-After.",
    ),
    "storage-full": (
        "There was no space to store the work; nothing partial was kept and nothing committed "
        "was lost.",
        "Retry later; operators free or add space.",
    ),
    "method-not-allowed": (
        "The path exists, but not with this HTTP method. The Allow header lists the methods "
        "that do; the gateway answers this before looking at any token.",
        "Use one of the methods in Allow (the API documentation lists each route's).",
    ),
    "body-too-large": (
        "The request body is larger than the gateway accepts for this kind of request.",
        "Send a smaller body; deliveries have their own, larger limit.",
    ),
    "request-timeout": (
        "The request body stopped arriving, or took longer than the gateway waits.",
        "Send the body again without pausing.",
    ),
}


def codes() -> set[str]:
    """Every problem code the gateway can answer with (its error classes and the pages'
    own: readiness and internal errors)."""
    found: set[str] = {"not-ready", "internal-error", "invalid-request"}
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        kind = pending.pop()
        found.add(kind.code)
        pending.extend(kind.__subclasses__())
    return found


def _titles() -> dict[str, str]:
    titles: dict[str, str] = {"not-ready": "Not ready"}
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        kind = pending.pop()
        titles[kind.code] = kind.title
        pending.extend(kind.__subclasses__())
    return titles


@router.get("/problems/{code}", response_class=HTMLResponse)
def problem_page(code: str) -> HTMLResponse:
    explanation = EXPLANATIONS.get(code)
    if explanation is None:
        return HTMLResponse("<!doctype html><title>Unknown problem</title>", status_code=404)
    meaning, action = explanation
    title = html.escape(_titles().get(code, code))
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><main><h1>{title}</h1><p><code>{html.escape(problem_type(code))}</code>"
        f"</p><h2>What it means</h2><p>{html.escape(meaning)}</p><h2>What to do</h2>"
        f"<p>{html.escape(action)}</p></main></body></html>"
    )
    return HTMLResponse(page)
