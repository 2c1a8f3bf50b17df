"""Who received data about this citizen: the DPO's lookup of every audit entry about one
person (GDPR art. 15), by CPR number, which is turned into the keyed subject in memory at once
and goes nowhere. Every lookup is itself an audit entry, keyed by the same subject, so a later
lookup of the same person also shows who looked before.

The console's answer page holds neither the CPR nor the subject in its address: only a sealed,
expiring reference to the subject, bound to the session that asked (:func:`reference`).
"""

from __future__ import annotations

import json
import time

import pyarrow as pa

from gateway.audit.events import AuditEntry, AuditEvent, EventType
from gateway.crypto.cookies import seal, unseal
from gateway.crypto.keys import Labels
from gateway.crypto.pseudonyms import internal_pseudonyms, subject_keys
from gateway.domain import cpr as cpr_rules
from gateway.domain.permissions import authorize
from gateway.domain.principals import Principal
from gateway.errors import InvalidRequest
from gateway.services.context import Context

REFERENCE_SECONDS = 300  # how long an answer page's sealed reference stays valid
_AAD = b"gateway console lookup answer v1"


def subject_key_of(ctx: Context, cpr: str) -> bytes:
    """The keyed subject index entry of a CPR, computed in memory (the CPR goes nowhere)."""
    normalised = cpr_rules.normalise(cpr.strip())
    if normalised is None or cpr_rules.birth_date(normalised) is None:
        raise InvalidRequest("not a valid CPR number")
    internal = internal_pseudonyms(pa.array([normalised]), ctx.keys.internal_pseudonym_key())
    return subject_keys(internal, ctx.keys.subject_index_key())[0]


def subject_lookup(ctx: Context, *, by: Principal, cpr: str) -> list[AuditEntry]:
    """Every entry whose data involved this person; the lookup is logged with the keyed subject,
    so a later lookup of the same person also shows who looked before."""
    authorize(by, "audit.subject-lookup")
    return subject_lookup_by_key(ctx, by=by, subject=subject_key_of(ctx, cpr))


def subject_lookup_by_key(ctx: Context, *, by: Principal, subject: bytes) -> list[AuditEntry]:
    """The same lookup by the keyed subject (the console's answer page holds only a sealed
    copy of it, never the CPR); audited like a lookup by CPR."""
    authorize(by, "audit.subject-lookup")
    found = ctx.store.subject_entries(subject)
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(
                EventType.AUDIT_SUBJECT_LOOKUP,
                by.label,
                {},
                {"subject_key": subject.hex(), "results": len(found)},
            ),
            subjects=[subject],
        )
    return found


def reference(ctx: Context, *, by: Principal, cpr: str, bound_to: str) -> str:
    """A sealed reference to the person's keyed subject, valid for a few minutes and only
    with ``bound_to`` (the asking session's secret): what an answer page's address may hold."""
    authorize(by, "audit.subject-lookup")
    body = {"k": subject_key_of(ctx, cpr).hex(), "exp": time.time() + REFERENCE_SECONDS}
    body["s"] = bound_to
    return seal(ctx.keys.derive(Labels.CONSOLE_ANSWER), json.dumps(body).encode(), _AAD)


def lookup_by_reference(
    ctx: Context, *, by: Principal, token: str, bound_to: str
) -> list[AuditEntry] | None:
    """The lookup a :func:`reference` names; None if it is not one, not for this session, or
    expired (the person asks again)."""
    authorize(by, "audit.subject-lookup")
    sealed = unseal(ctx.keys.derive(Labels.CONSOLE_ANSWER), token, _AAD)
    body = json.loads(sealed) if sealed else {}
    if body.get("s") != bound_to or body.get("exp", 0) < time.time():
        return None
    return subject_lookup_by_key(ctx, by=by, subject=bytes.fromhex(body["k"]))
