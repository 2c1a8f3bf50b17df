"""A search of the audit trail, as legal staff and the DPO ask it: by event type (or a category
of them), actor, dataset, recipient and time, a page at a time. The console, the CLI and the API
build one; the store answers it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class AuditQuery:
    event_type: str | None = None
    event_types: tuple[str, ...] = ()  # any of these (a category: "refusals of any kind")
    actor: str | None = None
    dataset: str | None = None
    recipient: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 100
    offset: int = 0
