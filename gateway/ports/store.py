"""The database port: one transaction (:class:`UnitOfWork`), the store that opens them and
reads the audit log (:class:`Store`), and one consistent read of the log
(:class:`LogSnapshot`). Implemented by :mod:`gateway.storage.sql_store` on SQLite and
PostgreSQL.

Each method says how it fails; none returns an ORM object.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from gateway.audit.events import AuditEntry, AuditEvent
from gateway.audit.merkle import Subtree
from gateway.audit.tiles import Tile
from gateway.domain.audit_query import AuditQuery
from gateway.domain.builds import BuildRecord
from gateway.domain.disclosure.ledger import LedgerCells, LedgerTable
from gateway.domain.extracts import ExtractStatus
from gateway.domain.records import (
    DeliveryRecord,
    DeliveryVersion,
    ExtractRecord,
    ReleaseRecord,
    SessionRecord,
    Vote,
)
from gateway.ports.retention import RetentionRows

T = TypeVar("T")


class UnitOfWork(RetentionRows, Protocol):
    """One transaction. Everything written through it commits together, audit entries included."""

    def append_audit(self, event: AuditEvent, subjects: Sequence[bytes] = ()) -> AuditEntry:
        """Append at the next index after the current head (appends are serialised), with the
        keyed subject index of the persons involved. The transaction signs a checkpoint."""

    def find_delivery(self, dataset: str, period: str, sha256: str) -> DeliveryRecord | None: ...

    def get_delivery(self, delivery_id: str) -> DeliveryRecord | None: ...

    def add_delivery(self, record: DeliveryRecord) -> None:
        """Raises :class:`gateway.errors.Conflict` if the same content for the period exists."""

    def latest_deliveries(self, dataset: str, periods: list[str]) -> list[DeliveryRecord]:
        """The current version's delivery of ``dataset`` for each of ``periods`` that has one
        (a withdrawn month has none)."""

    def versions_of(self, dataset: str, period: str) -> list[DeliveryVersion]:
        """Every version of the month, oldest first."""

    def previous_delivery(self, dataset: str, period: str) -> DeliveryRecord | None:
        """The current delivery of the latest month before ``period`` that has one."""

    def add_version(
        self,
        dataset: str,
        period: str,
        delivery_id: str | None,
        action: str,
        at: str,
        by: str,
        audit_index: int,
    ) -> int:
        """Record the month's next version (its number); in the audited transaction."""

    def add_extract(self, record: ExtractRecord) -> None: ...

    def get_extract(self, extract_id: str) -> ExtractRecord | None: ...

    def list_extracts(self, recipient: str | None) -> list[ExtractRecord]: ...

    def set_extract_status(
        self, extract_id: str, status: ExtractStatus, *, by: str, at: str, note: str | None
    ) -> None: ...

    def add_release(self, record: ReleaseRecord) -> None: ...

    def get_release(self, release_id: str) -> ReleaseRecord | None: ...

    def list_releases(self, extract_id: str) -> list[ReleaseRecord]: ...

    def releases_by_status(self, status: str) -> list[ReleaseRecord]:
        """Every release in ``status`` (e.g. the approvers' review queue), oldest first."""

    def set_release_status(
        self, release_id: str, status: str, *, by: str, at: str, note: str | None
    ) -> None: ...

    def add_vote(
        self,
        release_id: str,
        voter: str,
        vote: str,
        note: str | None,
        at: str,
        salt: str | None = None,
    ) -> None:
        """A reviewer's vote on a held aggregate (one per reviewer: a second is refused)."""
        ...

    def change_vote(
        self, release_id: str, voter: str, vote: str, note: str | None, at: str, salt: str
    ) -> None:
        """A reviewer's changed vote, when the votes are open and conflict."""

    def votes(self, release_id: str) -> list[Vote]:
        """The votes so far, oldest first (for the service only: never shown to a reviewer
        before every vote is in)."""
        ...

    def put_build(self, record: BuildRecord) -> None:
        """Write a release build's row (its first, or its newest state)."""

    def builds_of(self, extract_id: str) -> list[BuildRecord]:
        """A specification's builds, newest first."""

    def recent_builds(self, since: str) -> list[BuildRecord]:
        """Builds running now, and those that ended since ``since``, newest first."""

    def interrupt_builds(self, live: Collection[str], at: str) -> int:
        """Mark running builds whose process's token is not in ``live`` interrupted."""

    def add_session(self, record: SessionRecord) -> None: ...

    def get_session(self, id_hash: str) -> SessionRecord | None: ...

    def touch_session(self, id_hash: str, *, sealed: str, seen: float, expires: float) -> None:
        """Write a live session's state back (an ended session stays ended)."""

    def end_sessions(
        self,
        *,
        at: float,
        reason: str,
        id_hash: str | None = None,
        principal: str | None = None,
        organisation: str | None = None,
    ) -> list[str]:
        """End the live sessions that match; the principals whose sessions ended."""
        ...

    def live_sessions(self, now: float) -> list[SessionRecord]: ...

    def forget_sessions(self, before: float) -> int:
        """Delete rows of sessions that ended or expired before ``before``."""
        ...

    def add_ledger_table(self, recipient: str, table: LedgerTable) -> None:
        """Record one released table (every cell, hidden ones too) in the disclosure ledger."""

    def ledger_cells(self, source: str, scopes: Sequence[str] | None) -> LedgerCells:
        """Every recorded cell of ``source`` in ``scopes`` (None: all), for any recipient."""
        ...

    def ledger_tables(
        self, source: str, basis: str, scopes: Sequence[str] | None
    ) -> list[LedgerTable]:
        """Every recorded table of ``source`` computed from the same data (``basis``)."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class LogSnapshot(Protocol):
    """The audit log as of one instant: what :func:`gateway.audit.verify.verify_log` reads."""

    def audit_entries(self) -> Iterator[AuditEntry]: ...

    def checkpoint_notes(self) -> list[str]: ...

    def subjects_by_entry(self) -> Iterator[tuple[int, list[bytes]]]: ...

    def entry_rows(self, batch: int = 20_000) -> Iterator[list[Any]]:
        """Entry rows in index order as plain tuples, in batches (for the verification
        kernel)."""

    def level0_nodes(self, first: int, last: int) -> bytes:
        """The level-0 tree nodes of indexes ``first..last``, concatenated."""

    def tiles(self, size: int) -> Subtree:
        """MTH over the tiles of a tree of ``size``, read in this snapshot."""


class Store(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A transaction: committed when the block ends normally, rolled back on an exception."""

    def audit_entries(self, start: int = 0) -> Iterator[AuditEntry]:
        """Every audit entry from ``start`` in index order, streamed."""

    def search_audit(self, query: AuditQuery) -> list[AuditEntry]: ...

    def count_audit(self, query: AuditQuery) -> int:
        """How many entries the query's filters match (ignoring limit and offset)."""
        ...

    def audit_size(self) -> int: ...

    def snapshot(self) -> AbstractContextManager[LogSnapshot]:
        """One consistent read of entries, checkpoints and subject index."""

    def blob_referenced(self, key: str) -> bool:
        """Whether a committed record refers to blob ``key`` (the sweep deletes nothing else)."""

    def ping(self) -> None:
        """Raises if the database does not answer."""

    def latest_checkpoint(self) -> str | None:
        """The newest signed checkpoint (a C2SP signed note), or None for an empty log."""

    def checkpoint_notes(self) -> list[str]: ...

    def with_subtree(self, fn: Callable[[Subtree], T]) -> T:
        """Run ``fn`` with MTH(D[start:end]) over one consistent read of the tree."""

    def read_tile(self, tile: Tile) -> bytes:
        """A C2SP tlog-tiles tile or entry bundle; NotFound if the log does not hold it."""

    def checkpoint_at(self, size: int) -> str | None:
        """The signed checkpoint of a tree of ``size`` (every audited transaction signs one)."""

    def cosignatures(self, size: int) -> list[tuple[str, str]]:
        """(witness name, cosignature line) recorded for the checkpoint of ``size``."""

    def latest_cosigned(self, witness: str) -> int:
        """The largest checkpoint size ``witness`` cosigned (0: none)."""

    def cosigned_sizes(self, at_least: int = 0, limit: int = 20) -> list[int]:
        """The largest checkpoint sizes (at least ``at_least``) any witness cosigned, largest
        first (recorded by any worker)."""

    def add_cosignature(self, size: int, witness: str, line: str) -> None: ...

    def subject_entries(self, subject: bytes) -> list[AuditEntry]: ...

    def subjects_by_entry(self) -> Iterator[tuple[int, list[bytes]]]: ...

    def index_subjects(self, *, all_pending: bool = False) -> int:
        """Move subject keys of large entries into the lookup index (background work; lookups
        are complete before and after)."""
