"""The services' view of the running gateway: catalogue, storage, blobs, keys and a clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn

from gateway.audit.checkpointer import Checkpointer
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.tiles import TileCache
from gateway.crypto.keys import KeyRing
from gateway.domain.catalogue import Catalogue
from gateway.domain.permissions import permits
from gateway.domain.principals import Principal, acts_as_person
from gateway.engines import EngineChoice
from gateway.errors import Forbidden, GatewayError
from gateway.ports import BlobStore, Cosigning, Store, WorkArea

BLOB_KEK_VERSION = "blob-kek-version"
RECIPIENT_KEY_VERSION = "pseudonym-key-version/"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Context:
    catalogue: Catalogue
    store: Store
    blobs: BlobStore
    keys: KeyRing
    checkpointer: Checkpointer
    work: WorkArea
    clock: Callable[[], dt.datetime] = field(default=_utc_now)
    witnessing: Cosigning | None = None  # None: no witness policy, the log's signature alone
    witness_wait: float = 2.0  # seconds a receipt waits for a witnessed checkpoint
    tiles: TileCache = field(default_factory=lambda: TileCache(4096))  # full tiles: 32 MiB
    engines: EngineChoice = field(default_factory=EngineChoice)  # local unless Spark is set

    @contextmanager
    def writing(self, *blob_keys: str) -> Iterator[None]:
        """Blobs ``blob_keys`` are written, and their record committed, inside this block.

        A durable marker names them first; the block ending normally forgets it. On any
        error the block's blobs are *not* deleted here (the commit may have happened, e.g. a
        connection lost during COMMIT): the sweep deletes them once the database says that
        no record refers to them. So an error path never deletes committed data, and a crash
        leaves nothing unexplained."""
        self.work.mark(*blob_keys)
        try:
            yield
        except BaseException:
            self.work.abandon(*blob_keys)
            raise
        self.work.settle(*blob_keys)

    def today(self) -> dt.date:
        return self.clock().date()

    def stamp(self) -> str:
        """Now as the records store their times (UTC, microseconds, ``Z``): what retention
        counts from (a withdrawal, a pull, an erasure, a hold)."""
        return self.clock().isoformat(timespec="microseconds").replace("+00:00", "Z")

    def _version(self, key: str) -> int:
        with self.store.unit_of_work() as uow:
            value = uow.get_meta(key)
        return int(value) if value else 1

    def blob_kek_version(self) -> int:
        """The key-encryption key version new blobs are sealed under (read per use, so a
        rotation by another process takes effect without a restart)."""
        return self._version(BLOB_KEK_VERSION)

    def recipient_key_version(self, recipient: str) -> int:
        """The pseudonym key version new releases for ``recipient`` use."""
        return self._version(RECIPIENT_KEY_VERSION + recipient)

    def refuse(
        self,
        error: GatewayError,
        *,
        event: EventType,
        by: Principal,
        refs: dict[str, str],
        details: dict[str, object] | None = None,
    ) -> NoReturn:
        """Record a refusal in the audit trail (its own transaction), then raise ``error``."""
        body: dict[str, object] = {"reason": error.detail, "status": error.status}
        body.update(details or {})
        with self.store.unit_of_work() as uow:
            entry = uow.append_audit(AuditEvent(event, by.label, refs, body))
        error.extra.setdefault("audit_index", entry.index)
        raise error

    def require_person(
        self, by: Principal, case: str, *, refs: dict[str, str], role: str, act: str
    ) -> None:
        """A decision (approve, vote) needs the use case's role and a person, never a machine
        client; each refusal is an ``approval.refused`` audit entry."""
        if not permits(by.roles, case, owner=False):
            self.refuse(
                Forbidden(f"{act} needs the '{role}' role"),
                event=EventType.APPROVAL_REFUSED,
                by=by,
                refs=refs,
            )
        if not acts_as_person(by):
            self.refuse(
                Forbidden(f"{act} is a person's act: a machine client cannot do it"),
                event=EventType.APPROVAL_REFUSED,
                by=by,
                refs=refs,
            )
