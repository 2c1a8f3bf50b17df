"""The witnesses port: getting the log's checkpoints cosigned. Implemented by
:mod:`gateway.services.audit.witnessing` (a C2SP tlog-witness client)."""

from __future__ import annotations

from typing import Protocol


class Cosigning(Protocol):
    """The log's witnesses (:mod:`gateway.services.audit.witnessing`)."""

    def poke(self) -> None:
        """New checkpoints were signed: submit them now."""

    def cosigned_note(self, size: int) -> str | None:
        """The checkpoint of ``size`` with the cosignatures recorded for it."""

    def trusted_checkpoint(self, min_size: int, wait: float) -> str | None:
        """A checkpoint of at least ``min_size`` that meets the quorum, waiting up to
        ``wait`` seconds; None if none does in time."""

    def latest_trusted(self) -> str | None:
        """The largest checkpoint whose cosignatures meet the quorum; None if there is none."""

    def report(self) -> dict[str, dict[str, object]]:
        """Per witness: the largest size it cosigned, its last error, whether it saw the log
        roll back (for operators)."""
