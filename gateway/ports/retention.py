"""The storage-limitation part of a transaction (:class:`gateway.ports.UnitOfWork` includes it):
what there is to keep, erasures begun and finished, legal holds, recipients' deletion
requests, and frozen records of processing. Implemented by
:mod:`gateway.storage.retention_rows`."""

from __future__ import annotations

from typing import Any, Protocol

from gateway.domain.records import (
    DeletionRequest,
    DeliveryRecord,
    DeliveryVersion,
    ErasureRecord,
    RecordSnapshot,
    ReleaseRecord,
)
from gateway.domain.retention import Hold


class RetentionRows(Protocol):
    def all_deliveries(self) -> list[DeliveryRecord]: ...

    def all_versions(self) -> list[DeliveryVersion]:
        """Every version of every month, by dataset, month and version."""

    def all_releases(self) -> list[ReleaseRecord]: ...

    def mark_pulled(self, release_id: str, at: str) -> None: ...

    def discard_delivery(self, delivery_id: str, at: str) -> bool:
        """Mark a held delivery discarded by its source; False if it already was."""

    def begin_erasure(self, record: ErasureRecord) -> bool:
        """Record that an erasure begins; False if it was begun before."""

    def finish_erasure(self, kind: str, object_id: str, at: str) -> bool:
        """Mark the erasure finished and its object erased; False if it already was."""

    def set_erasure_entry(self, kind: str, object_id: str, audit_index: int) -> None: ...

    def unfinished_erasures(self) -> list[ErasureRecord]: ...

    def erasures(self, limit: int = 1000) -> list[ErasureRecord]:
        """Finished erasures, newest first."""

    def add_hold(self, hold: Hold) -> None: ...

    def holds(self, *, standing_only: bool = False) -> list[Hold]: ...

    def get_hold(self, hold_id: str) -> Hold | None: ...

    def update_hold(self, hold_id: str, **values: Any) -> None: ...

    def add_deletion_request(self, request: DeletionRequest) -> bool:
        """False if the recipient was already asked about this grant."""

    def deletion_requests(self, recipient: str | None = None) -> list[DeletionRequest]: ...

    def get_deletion_request(self, request_id: str) -> DeletionRequest | None: ...

    def confirm_deletion(self, request_id: str, *, by: str, at: str, note: str | None) -> None:
        """Raises :class:`gateway.errors.Conflict` if it was confirmed before."""

    def remind_deletion(self, request_id: str, at: str) -> None: ...

    def add_record_snapshot(
        self,
        *,
        created_at: str,
        approved_by: str,
        policy_hash: str,
        sha256: str,
        body: str,
        audit_index: int,
    ) -> int:
        """Freeze the next version of the records of processing; its number."""

    def record_snapshots(self) -> list[RecordSnapshot]: ...

    def get_record_snapshot(self, version: int) -> RecordSnapshot | None: ...
