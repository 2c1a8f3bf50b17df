"""The exact bytes of an audit entry: canonical JSON, with a random salt.

The leaf of the Merkle tree is the entry's body. Each body carries a random salt so that no
one can confirm a guessed event by hashing it, and a digest of the entry's subject index
(keyed hashes of the persons involved), so the index cannot be altered without detection.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from gateway.audit.events import AuditEvent
from gateway.domain.subjects import SubjectKeys


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def subjects_digest(subjects: Sequence[bytes]) -> str:
    """SHA-256 over the sorted subject keys: what the body commits to."""
    if isinstance(subjects, SubjectKeys):
        return subjects.digest()  # already sorted and packed: one call
    digest = hashlib.sha256()
    for key in sorted(subjects):
        digest.update(key)
    return digest.hexdigest()


def entry_body(
    index: int, recorded_at: str, event: AuditEvent, subjects: Sequence[bytes] = ()
) -> bytes:
    body: dict[str, Any] = {
        "index": index,
        "time": recorded_at,
        "type": event.type.value,
        "actor": event.actor,
        "refs": event.refs,
        "details": event.details,
        "salt": os.urandom(16).hex(),
    }
    if subjects:
        body["subjects"] = {"count": len(subjects), "digest": subjects_digest(subjects)}
    return canonical_json(body)
