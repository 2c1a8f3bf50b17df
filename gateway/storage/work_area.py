"""Unfinished work on disk, owned by a live process, so that a crash leaves nothing unexplained.

Each process holds a *lease*: ``run/<token>.lease``, locked with ``flock`` for the life of the
process (the kernel drops the lock when the process dies, however it dies). Everything the
process has in flight lives under ``run/<token>/``:

* ``spool/``: sealed request bodies being received;
* ``pending/``: one empty *marker* per blob being written whose record is not yet committed
  (written and made durable before the blob itself, removed after the commit);
* ``abandoned/``: markers of operations that failed in this process, to be resolved by the
  next sweep (the blob is deleted only if no record refers to it).

A sweep (at start-up and periodically, :mod:`gateway.services.platform.janitor`) takes each
lease whose lock is free, i.e. whose process is gone: for every marker it asks the database
whether the blob is referenced and deletes the blob only if not; then it removes the spool and
the lease.
Partly written blob files (``.name.<token>.partial``) carry their writer's token and are
removed the same way. A committed blob is never deleted: the database is asked first.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.files import fsync_dir

LEASE = ".lease"
TOKEN_LENGTH = 32


def _marker_name(key: str) -> str:
    return key.replace("/", "~")  # blob keys hold [a-z0-9._/-] only


def _marker_key(name: str) -> str:
    return name.replace("~", "/")


@dataclass
class DeadOwner:
    """What a process that is gone left behind."""

    token: str
    markers: list[str] = field(default_factory=list)  # blob keys possibly uncommitted
    spool_files: int = 0


class WorkArea:
    """This process's lease and its in-flight files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # a sweeper may grab a brand-new lease before we lock it: retry
            self.token = uuid.uuid4().hex
            self._lease = open(root / f"{self.token}{LEASE}", "a+b")  # noqa: SIM115 - held
            try:
                fcntl.flock(self._lease.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                self._lease.close()
        else:
            raise RuntimeError(f"could not take a work lease in {root}")
        self.home = root / self.token
        self.pending = self.home / "pending"
        self.abandoned = self.home / "abandoned"
        self.spool = self.home / "spool"
        for folder in (self.pending, self.abandoned, self.spool):
            folder.mkdir(parents=True, exist_ok=True)
        fsync_dir(root)
        atexit.register(self.close)  # a normal exit leaves nothing for the sweep

    # -- this process's markers -----------------------------------------------------------
    def mark(self, *keys: str) -> None:
        """Record, durably, that blobs ``keys`` are about to be written."""
        for key in keys:
            (self.pending / _marker_name(key)).touch()
        fsync_dir(self.pending)

    def settle(self, *keys: str) -> None:
        """The blobs are committed (or were never written): forget them."""
        for key in keys:
            (self.pending / _marker_name(key)).unlink(missing_ok=True)

    def abandon(self, *keys: str) -> None:
        """The operation failed; whether its commit happened is for the next sweep to ask."""
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.pending / _marker_name(key), self.abandoned / _marker_name(key))

    def abandoned_keys(self) -> list[str]:
        return sorted(_marker_key(p.name) for p in self.abandoned.iterdir())

    def forget_abandoned(self, key: str) -> None:
        (self.abandoned / _marker_name(key)).unlink(missing_ok=True)

    def close(self) -> None:
        """End the lease (a clean shutdown). Markers of failed operations stay for the next
        sweep by another process (it asks the database before deleting anything)."""
        if self._lease.closed:
            return
        try:
            leftovers = any(self.pending.iterdir()) or any(self.abandoned.iterdir())
        except OSError:  # the volume is gone: nothing to tidy
            leftovers = True
        if leftovers:
            self._lease.close()  # the lease stays, free, for a sweeper
            return
        shutil.rmtree(self.home, ignore_errors=True)
        (self.root / f"{self.token}{LEASE}").unlink(missing_ok=True)
        self._lease.close()

    # -- other processes --------------------------------------------------------------------
    def live_tokens(self) -> set[str]:
        """Tokens whose lease is held by a live process (ours included)."""
        live = {self.token}
        for lease in self.root.glob(f"*{LEASE}"):
            token = lease.name[: -len(LEASE)]
            if token != self.token and not self._lock_free(lease):
                live.add(token)
        return live

    @staticmethod
    def _lock_free(path: Path) -> bool:
        try:
            with open(path, "a+b") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
        except BlockingIOError:
            return False
        except FileNotFoundError:
            return True

    @contextlib.contextmanager
    def dead_owner(self, token: str) -> Iterator[DeadOwner | None]:
        """Hold a dead owner's lease while its leftovers are cleaned; removed afterwards.
        Yields None if the owner turned out to be alive (or another sweeper has it)."""
        lease = self.root / f"{token}{LEASE}"
        home = self.root / token
        try:
            fh = open(lease, "a+b")  # noqa: SIM115 - closed below
        except OSError:
            yield None
            return
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            owner = DeadOwner(token)
            for folder in ("pending", "abandoned"):
                if (home / folder).is_dir():
                    owner.markers += [_marker_key(p.name) for p in (home / folder).iterdir()]
            if (home / "spool").is_dir():
                owner.spool_files = sum(1 for _ in (home / "spool").iterdir())
            yield owner
            shutil.rmtree(home, ignore_errors=True)
            lease.unlink(missing_ok=True)
        finally:
            fh.close()

    def dead_tokens(self) -> list[str]:
        """Owners with leftovers (a lease or a folder) and no live process."""
        live = self.live_tokens()
        found = {p.name[: -len(LEASE)] for p in self.root.glob(f"*{LEASE}")}
        found |= {p.name for p in self.root.iterdir() if p.is_dir()}
        return sorted(t for t in found - live if len(t) == TOKEN_LENGTH)
