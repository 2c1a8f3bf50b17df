"""The hash chain over audit entries.

``body`` is the canonical JSON (sorted keys, no spaces, UTF-8) of the entry's index, time,
type, actor, refs and details. The chain hash is

    h[i] = SHA-256("gateway-audit-v1" || h[i-1] || body[i]),  h[-1] = 32 zero bytes

so editing, deleting, reordering or inserting any entry changes every later hash. ``verify``
recomputes from the stored bytes (never trusting a stored hash) and also checks that the
indexed columns (type, actor, dataset, recipient) agree with the hashed body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.audit.events import AuditEntry, AuditEvent

GENESIS = bytes(32)
_DOMAIN = b"gateway-audit-v1"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_body(index: int, recorded_at: str, event: AuditEvent) -> bytes:
    return canonical_json(
        {
            "index": index,
            "time": recorded_at,
            "type": event.type.value,
            "actor": event.actor,
            "refs": event.refs,
            "details": event.details,
        }
    )


def chain_hash(previous: bytes, body: bytes) -> bytes:
    return hashlib.sha256(_DOMAIN + previous + body).digest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head: str
    first_bad_index: int | None = None
    problem: str | None = None


def verify(entries: Iterable[AuditEntry]) -> VerifyResult:
    """Recompute the chain over ``entries`` (in stored order); name the first entry that fails."""
    previous = GENESIS
    count = 0
    for expected_index, entry in enumerate(entries):
        count += 1
        problem = _check_entry(entry, expected_index, previous)
        if problem is not None:
            return VerifyResult(False, count, previous.hex(), entry.index, problem)
        previous = bytes.fromhex(entry.entry_hash)
    return VerifyResult(True, count, previous.hex())


def _check_entry(entry: AuditEntry, expected_index: int, previous: bytes) -> str | None:
    if entry.index != expected_index:
        return f"index {entry.index} found where {expected_index} was expected (gap or reorder)"
    try:
        body = json.loads(entry.body)
    except ValueError:
        return "body is not valid JSON"
    if canonical_json(body) != entry.body:
        return "body is not in canonical form"
    if body.get("index") != entry.index:
        return f"body says index {body.get('index')}"
    refs = body.get("refs", {})
    columns = {
        "type": (body.get("type"), entry.type),
        "actor": (body.get("actor"), entry.actor),
        "dataset": (refs.get("dataset"), entry.dataset),
        "recipient": (refs.get("recipient"), entry.recipient),
    }
    for name, (hashed, stored) in columns.items():
        if hashed != stored:
            return f"stored {name} does not match the hashed body"
    if chain_hash(previous, entry.body).hex() != entry.entry_hash:
        return "hash does not match (entry altered, or an earlier entry removed or inserted)"
    return None
