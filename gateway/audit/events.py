"""Audit events: what happened, who did it, what it touched, and why it was decided.

The string values are stored in the database and inside hashed entries: changing one changes
the meaning of stored evidence, so values are only ever added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    DELIVERY_ACCEPTED = "delivery.accepted"
    DELIVERY_REJECTED = "delivery.rejected"
    DELIVERY_REFUSED = "delivery.refused"  # not allowed to push (wrong source, no basis)
    DELIVERY_REINSTATED = "delivery.reinstated"  # an earlier content sent again: current again
    DELIVERY_WITHDRAWN = "delivery.withdrawn"  # the source withdrew its month's current delivery
    DELIVERY_HELD = "delivery.held"  # stored, but waits for its source's confirmation
    DELIVERY_CONFIRMED = "delivery.confirmed"  # its source confirmed a held delivery
    EXTRACT_REQUESTED = "extract.requested"
    EXTRACT_REFUSED = "extract.refused"  # the policy said no at request time
    EXTRACT_APPROVED = "extract.approved"
    EXTRACT_REJECTED = "extract.rejected"
    EXTRACT_RETURNED = "extract.returned"
    APPROVAL_REFUSED = "approval.refused"  # e.g. self-approval
    RELEASE_CREATED = "release.created"
    RELEASE_REFUSED = "release.refused"  # the policy said no at release time
    RELEASE_PULLED = "release.pulled"
    RELEASE_HELD = "release.held-for-review"  # the disclosure checker said review
    RELEASE_REVIEW_RELEASED = "release.review-released"  # an approver released a held one
    RELEASE_WITHHELD = "release.withheld"  # an approver withheld a held one
    RELEASE_VOTED = "release.voted"  # a reviewer's sealed vote on a held one (more are needed)
    RELEASE_REVIEW_CONFLICTED = "release.review-conflicted"  # every vote in, they differ
    RELEASE_VOTE_CHANGED = "release.vote-changed"  # a reviewer changed a vote in a conflict
    ACCESS_REFUSED = "access.refused"  # an authenticated principal tried something not theirs
    POLICY_LOADED = "policy.loaded"  # the policy set in force changed (at start-up)
    KEYS_INITIALISED = "keys.initialised"
    KEY_ROTATED = "keys.rotated"  # a new version of a recipient key or the blob KEK
    KEYS_REWRAPPED = "keys.rewrapped"  # blob data keys re-wrapped under the new KEK
    AUDIT_SEARCHED = "audit.searched"  # an auditor searched the trail (filters recorded)
    AUDIT_SUBJECT_LOOKUP = "audit.subject-lookup"  # who looked up whom (keyed subject only)
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_VERIFIED = "audit.verified"  # someone verified the whole log (and what they found)
    CONSOLE_LOGIN = "console.login"  # a person logged in to the console (a session began)
    CONSOLE_LOGOUT = "console.logout"  # a person logged out (the session ended)
    SESSIONS_REVOKED = "sessions.revoked"  # an operator ended console sessions
    DELIVERY_DISCARDED = "delivery.discarded"  # its source withdrew a delivery while it was held
    RETENTION_ERASED = "retention.erased"  # content crypto-shredded under a retention rule
    HOLD_PLACED = "retention.hold-placed"  # a legal hold: nothing it covers is erased
    HOLD_LIFT_REQUESTED = "retention.hold-lift-requested"  # one person asks to lift a hold
    HOLD_LIFTED = "retention.hold-lifted"  # a second person lifted it
    DELETION_REQUESTED = "retention.deletion-requested"  # a recipient must confirm deletion
    DELETION_REMINDED = "retention.deletion-reminded"  # still unconfirmed: reminded
    DELETION_CONFIRMED = "retention.deletion-confirmed"  # the recipient confirmed it deleted
    RECORDS_APPROVED = "records.approved"  # a version of the records of processing, frozen


@dataclass(frozen=True)
class AuditEvent:
    """An event to append. ``refs`` identify objects (delivery, extract, dataset, recipient...);
    ``details`` carry counts, hashes and decisions. Neither may hold personal data."""

    type: EventType
    actor: str
    refs: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def dataset(self) -> str | None:
        return self.refs.get("dataset")

    @property
    def recipient(self) -> str | None:
        return self.refs.get("recipient")


@dataclass(frozen=True)
class AuditEntry:
    """A stored entry: its position, the exact bytes that are the Merkle leaf, and its hash."""

    index: int
    recorded_at: str
    type: str
    actor: str
    dataset: str | None
    recipient: str | None
    body: bytes
    leaf_hash: str  # hex of RFC 9162 SHA-256(0x00 || body)
