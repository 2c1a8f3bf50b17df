"""Whether this process can serve, and the figures operators watch: the database answers and
the keys are loaded; the log's size and the age of its newest entry; which native kernels run
(the pseudonym HMAC, the log's verification); how far each witness has cosigned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.audit import fast_verify
from gateway.crypto.pseudonyms import HMAC_KERNEL
from gateway.domain.audit_query import AuditQuery
from gateway.services.context import Context

log = structlog.get_logger("gateway.health")


def ready(ctx: Context) -> bool:
    """The database answers and the pseudonym key can be derived."""
    try:
        ctx.store.ping()
        ctx.keys.internal_pseudonym_key()
    except Exception as exc:
        log.warning("not ready", error_type=type(exc).__name__)
        return False
    return True


def details(ctx: Context) -> dict[str, Any]:
    """For operators: the log's size, the policy set in force, the kernels, the witnesses."""
    return {
        "audit_entries": ctx.store.audit_size(),
        "policy_hash": ctx.catalogue.policy_hash,
        "pseudonym_kernel": HMAC_KERNEL,  # native, or the slower Python fallback
        "audit_kernel": fast_verify.KERNEL,
        "witnesses": ctx.witnessing.report() if ctx.witnessing is not None else {},
    }


@dataclass(frozen=True)
class Figures:
    """What the metrics say about the log and this process."""

    audit_size: int
    last_entry_age: float | None  # seconds since the newest entry was recorded
    ready: bool
    witnesses: dict[str, dict[str, object]] | None


def figures(ctx: Context) -> Figures:
    size = ctx.store.audit_size()
    age = None
    if size:
        newest = ctx.store.search_audit(AuditQuery(offset=size - 1, limit=1))
        if newest:
            stamp = dt.datetime.fromisoformat(newest[0].recorded_at.replace("Z", "+00:00"))
            age = (dt.datetime.now(dt.UTC) - stamp).total_seconds()
    try:
        ctx.store.ping()
        alive = True
    except Exception:
        alive = False
    witnesses = ctx.witnessing.report() if ctx.witnessing is not None else None
    return Figures(size, age, alive, witnesses)
