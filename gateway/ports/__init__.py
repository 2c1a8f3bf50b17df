"""The ports: the interfaces (Protocols, and the values they take and give) through which the
services use storage, blobs, the work area and the witnesses.

This floor lies below both the services, which depend on the ports, and the adapters in
:mod:`gateway.storage`, which implement them; neither imports the other. Each adapter proves
that it satisfies its port to mypy (``gateway/storage/conformance.py``).
"""

from gateway.ports.blobs import BlobStore
from gateway.ports.cosigning import Cosigning
from gateway.ports.store import LogSnapshot, Store, UnitOfWork
from gateway.ports.work_area import LeftBehind, WorkArea

__all__ = [
    "BlobStore",
    "Cosigning",
    "LeftBehind",
    "LogSnapshot",
    "Store",
    "UnitOfWork",
    "WorkArea",
]
