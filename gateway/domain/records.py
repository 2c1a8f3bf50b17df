"""Plain records exchanged between services and storage (no ORM objects cross that line)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.domain.extracts import ExtractSpec, ExtractStatus


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    source: str
    dataset: str
    period: str
    sha256: str
    rows: int
    size_bytes: int
    blob_key: str
    received_at: str
    pushed_by: str
    audit_index: int
    vault_blob_key: str
    quality: str | None = None  # the quality report, JSON
    discarded_at: str | None = None  # withdrawn by its source while held for confirmation
    erased_at: str | None = None  # its content crypto-shredded under a retention rule

    def quality_report(self) -> dict[str, Any] | None:
        """The stored quality report (none for deliveries accepted before migration 0011)."""
        report: dict[str, Any] | None = json.loads(self.quality) if self.quality else None
        return report


class VersionAction:
    DELIVERED = "delivered"  # a new content for the month
    REINSTATED = "reinstated"  # an earlier content sent again: current once more
    WITHDRAWN = "withdrawn"  # the source withdrew the month's current delivery
    CONFIRMED = "confirmed"  # a delivery held for confirmation, confirmed by its source


@dataclass(frozen=True)
class DeliveryVersion:
    """One version of a dataset's month; the newest is what releases read (none if it is a
    withdrawal)."""

    dataset: str
    period: str
    version: int
    delivery_id: str | None
    action: str
    recorded_at: str
    recorded_by: str
    audit_index: int


@dataclass(frozen=True)
class ExtractRecord:
    id: str
    recipient: str
    requested_by: str
    spec: ExtractSpec
    status: ExtractStatus
    created_at: str
    audit_index: int
    decided_by: str | None = None
    decided_at: str | None = None
    decision_note: str | None = None


class ReleaseKind:
    MICRODATA = "microdata"
    AGGREGATE = "aggregate"
    REPORT = "report"


class ReleaseStatus:
    """A microdata release is released at once; an aggregate the checker marked ``review``
    waits for an approver, who releases or withholds it."""

    RELEASED = "released"
    PENDING_REVIEW = "pending-review"
    WITHHELD = "withheld"
    REFUSED = "refused"  # the checker failed it: its report waits for the approvers, nothing left


@dataclass(frozen=True)
class ReleaseRecord:
    id: str
    extract_id: str
    recipient: str
    rows: int
    persons: int | None  # aggregates: the published grand total (None if it is suppressed)
    sha256: str
    key_version: int
    identifier: str
    blob_key: str
    created_at: str
    released_by: str
    audit_index: int
    kind: str = ReleaseKind.MICRODATA
    status: str = ReleaseStatus.RELEASED
    sdc_status: str | None = None  # the output checker's pass/review for aggregates
    report_blob_key: str | None = None  # the checker's results.json, sealed
    report_sha256: str | None = None
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    review_note: str | None = None
    inputs: str | None = None  # JSON: the deliveries (and versions of their months) it read
    last_pulled_at: str | None = None  # the recipient's latest pull
    erased_at: str | None = None  # its content crypto-shredded under a retention rule


@dataclass(frozen=True)
class Vote:
    """One reviewer's vote on an aggregate held for review: ``release`` or ``withhold``."""

    voter: str  # the reviewer's identity (organisation[/unit]/kind:actor)
    vote: str
    note: str | None
    recorded_at: str
    salt: str | None = None  # opens the sealed commitment in the audit log


@dataclass(frozen=True)
class SessionRecord:
    """A console session as the gateway keeps it: the browser holds only a random id whose
    SHA-256 is ``id_hash``; ``sealed`` holds the tokens and form state, encrypted."""

    id_hash: str
    principal: str | None
    roles: str | None
    created_at: float
    last_seen_at: float
    expires_at: float
    sealed: str
    ended_at: float | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class ErasureRecord:
    """One erasure: begun (the row), then the data keys destroyed and the blobs deleted, then
    finished (``done_at``, with the audit entry that records it)."""

    kind: str  # delivery | release
    object_id: str
    rule: str
    due: str
    blob_keys: str  # JSON list
    started_at: str
    done_at: str | None = None
    audit_index: int | None = None

    def blob_key_list(self) -> list[str]:
        keys: list[str] = json.loads(self.blob_keys)
        return keys


@dataclass(frozen=True)
class DeletionRequest:
    """The hub's request that a recipient confirm it deleted its copies of the releases it
    pulled under a grant that has ended."""

    id: str
    recipient: str
    grant_id: str
    releases: str  # JSON list of release ids
    due: str
    created_at: str
    reminded_at: str | None = None
    reminders: int = 0
    confirmed_by: str | None = None
    confirmed_at: str | None = None
    note: str | None = None

    def release_ids(self) -> list[str]:
        ids: list[str] = json.loads(self.releases)
        return ids


@dataclass(frozen=True)
class RecordSnapshot:
    """An approved, frozen version of the records of processing."""

    version: int
    created_at: str
    approved_by: str
    policy_hash: str
    sha256: str
    body: str  # the record, JSON
    audit_index: int
