"""What the storage-limitation routes answer (``gateway/api/routes/retention.py``), as the
OpenAPI document states it; the same conventions as :mod:`gateway.api.schemas`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gateway.api.schemas import Answer


class PlanItem(Answer):
    kind: str = Field(description="delivery or release")
    id: str
    state: str = Field(
        description="current, superseded, held, withdrawn (deliveries); a release's status; "
        "or erased"
    )
    due: str | None = Field(description="The first day it may no longer be kept")
    rule: str | None = Field(description="The retention rule that makes it due")
    reason: str = Field(description="The rule in words, or why there is none")
    citation: str | None
    held_by: list[str] = Field(description="Legal holds that delay its erasure")
    erased_at: str | None


class RetentionPlan(Answer):
    on: str
    summary: dict[str, Any]
    items: list[PlanItem]


class SweepResult(Answer):
    on: str
    erased: list[dict[str, Any]]
    resumed: int = Field(description="Erasures an interrupted sweep had begun, finished now")
    held: int = Field(description="Due, but delayed by a legal hold")
    deletion_requests: int
    reminders: int


class Erasures(Answer):
    erasures: list[dict[str, Any]]


class LegalHold(Answer):
    id: str
    reason: str
    placed_by: str
    placed_at: str
    scope: str
    standing: bool
    dataset: str | None = None
    source: str | None = None
    period_from: str | None = None
    period_to: str | None = None
    release: str | None = None
    lift_requested_by: str | None = None
    lift_requested_at: str | None = None
    lift_reason: str | None = None
    lifted_by: str | None = None
    lifted_at: str | None = None


class LegalHolds(Answer):
    holds: list[LegalHold]


class DeletionRequest(Answer):
    id: str
    recipient: str
    grant: str
    releases: list[str]
    due: str
    requested_at: str
    reminders: int
    reminded_at: str | None = None
    confirmed_by: str | None = None
    confirmed_at: str | None = None
    note: str | None = None
    overdue: bool


class DeletionRequests(Answer):
    requests: list[DeletionRequest]


class RecordApproval(Answer):
    version: int
    created_at: str
    approved_by: str
    policy_hash: str
    sha256: str
    audit_index: int


class RecordApprovals(Answer):
    approvals: list[RecordApproval]
