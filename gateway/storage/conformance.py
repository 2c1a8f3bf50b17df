"""Each adapter satisfies its port, proved by mypy (``make check``) as pypi/warehouse proves
its services with ``verifyClass``: every function below returns an implementation where its
port is expected, so a method missing, renamed, or of another signature fails the type check.
A runtime test (``tests/unit/test_ports.py``) compares the members and signatures as well.

Nothing calls these functions; importing this module costs nothing but the adapters.
"""

from __future__ import annotations

from gateway.ports import BlobStore, LeftBehind, LogSnapshot, Store, UnitOfWork, WorkArea
from gateway.storage.blobs import LocalBlobStore
from gateway.storage.s3_blobs import S3BlobStore
from gateway.storage.sql_store import Snapshot, SqlStore
from gateway.storage.unit_of_work import SqlUnitOfWork
from gateway.storage.work_area import DeadOwner
from gateway.storage.work_area import WorkArea as LocalWorkArea


def store(implementation: SqlStore) -> Store:
    return implementation


def unit_of_work(implementation: SqlUnitOfWork) -> UnitOfWork:
    return implementation


def log_snapshot(implementation: Snapshot) -> LogSnapshot:
    return implementation


def local_blobs(implementation: LocalBlobStore) -> BlobStore:
    return implementation


def s3_blobs(implementation: S3BlobStore) -> BlobStore:
    return implementation


def work_area(implementation: LocalWorkArea) -> WorkArea:
    return implementation


def left_behind(implementation: DeadOwner) -> LeftBehind:
    return implementation


# Every port and the implementations that must satisfy it (read by tests/unit/test_ports.py).
IMPLEMENTATIONS: dict[type, tuple[type, ...]] = {
    Store: (SqlStore,),
    UnitOfWork: (SqlUnitOfWork,),
    LogSnapshot: (Snapshot,),
    BlobStore: (LocalBlobStore, S3BlobStore),
    WorkArea: (LocalWorkArea,),
    LeftBehind: (DeadOwner,),
}
