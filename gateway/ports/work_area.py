"""The work area port: a process's lease and its in-flight files, so that what a crashed
process left behind can be found and cleaned. Implemented by :mod:`gateway.storage.work_area`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol


class LeftBehind(Protocol):
    """What a process that is gone left in its work area."""

    markers: list[str]
    spool_files: int


class WorkArea(Protocol):
    """This process's lease and in-flight files (:mod:`gateway.storage.work_area`)."""

    token: str
    spool: Path

    def mark(self, *keys: str) -> None:
        """Record, durably, that blobs ``keys`` are about to be written."""

    def settle(self, *keys: str) -> None: ...

    def abandon(self, *keys: str) -> None: ...

    def abandoned_keys(self) -> list[str]: ...

    def forget_abandoned(self, key: str) -> None: ...

    def live_tokens(self) -> set[str]: ...

    def dead_tokens(self) -> list[str]: ...

    def dead_owner(self, token: str) -> AbstractContextManager[LeftBehind | None]:
        """Hold a dead owner's lease while its leftovers are cleaned; None if it is alive."""
