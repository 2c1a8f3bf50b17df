"""Signing checkpoints, and the append-only checkpoint file kept outside the database.

Before signing a checkpoint for a new tree size, the signer proves the new tree consistent
with the last checkpoint in its own file: it never signs two checkpoints that contradict each
other, even if the database was rewritten behind its back. The file (JSON Lines, one signed
note per line) can be copied off the machine and given to witnesses.

Signing and recording happen under one lock (a thread lock and ``flock`` on a lock file beside
the checkpoint file), taken while the database's audit lock is held and released only after the
note is in the file: so the file is always in size order, and each signing is checked against
the true last note. A note is recorded after its transaction committed; if the file cannot be
written then (a full volume), the committed work stands, the failure is logged, and the next
recording first cuts any torn last line, so the file never holds half a note for long. Readers
tolerate a torn last line (and say so); a bad line anywhere else is an integrity failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import structlog

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.merkle import Subtree, consistency_proof, verify_consistency
from gateway.crypto.notes import NoteSigner
from gateway.errors import IntegrityError
from gateway.files import append_line

log = structlog.get_logger("gateway.audit")


class Checkpointer:
    def __init__(self, signer: NoteSigner, file: Path) -> None:
        self.signer = signer
        self.file = file
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Held from signing to recording: one signer at a time, across processes."""
        with self._thread_lock:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.file.with_name(self.file.name + ".lock"), "a+b") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @property
    def origin(self) -> str:
        return self.signer.name

    def last(self) -> Checkpoint | None:
        """The newest checkpoint in the file (read from its tail, not the whole file)."""
        if not self.file.exists():
            return None
        with open(self.file, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - 65536))
            tail = fh.read()
        complete = tail[: tail.rfind(b"\n") + 1]  # a torn last line is not a note
        lines = [line for line in complete.splitlines() if line.strip()]
        if size > 65536:
            lines = lines[1:]  # the first line read may be cut at its start
        if not lines:
            return None if size <= 65536 else self._last_by_scan()
        return _parse_line(lines[-1], where="last line")

    def _last_by_scan(self) -> Checkpoint | None:
        notes = self.notes()
        return Checkpoint.parse(notes[-1].split("\n\n")[0] + "\n") if notes else None

    def sign(self, size: int, root: bytes, subtree: Subtree, time: str) -> str:
        """Sign (origin, size, root) after proving it extends the last recorded checkpoint."""
        last = self.last()
        if last is not None:
            if last.size > size:
                raise IntegrityError(
                    f"refusing to sign: the log has {size} entries but a checkpoint for "
                    f"{last.size} was signed before (entries were removed)"
                )
            if last.size > 0:
                proof = consistency_proof(subtree, last.size, size)
                try:
                    verify_consistency(last.size, size, last.root, root, proof)
                except IntegrityError as exc:
                    raise IntegrityError(
                        f"refusing to sign: the log is not an extension of checkpoint "
                        f"{last.size} ({exc.detail})"
                    ) from None
        text = Checkpoint(self.origin, size, root, (f"time {time}",)).text()
        return self.signer.sign(text)

    def record(self, note: str) -> bool:
        """Append a signed checkpoint to the file and sync it (call under :meth:`locked`,
        after the commit). A write failure is logged, not raised: the note is committed in
        the database, and the next recording catches the file up. True if recorded."""
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps({"note": note}, ensure_ascii=False).encode() + b"\n"
            if cut := append_line(self.file, line):
                log.warning(
                    "checkpoint file: torn last line removed", file=str(self.file), bytes=cut
                )
        except OSError as exc:
            log.error(
                "checkpoint file not written",
                file=str(self.file),
                error_type=type(exc).__name__,
                errno=exc.errno,
            )
            return False
        return True

    def notes(self) -> list[str]:
        """Every note in the file, in file order. A torn last line is skipped (and logged);
        a bad line before it raises :class:`IntegrityError` naming the line."""
        if not self.file.exists():
            return []
        with open(self.file, "rb") as fh:
            data = fh.read()
        lines = data.split(b"\n")
        torn = lines.pop()  # after the last newline: empty, or a torn line
        if torn.strip():
            log.warning("checkpoint file: torn last line ignored", file=str(self.file))
        notes = []
        for number, line in enumerate(lines, start=1):
            if line.strip():
                notes.append(_note_of(line, where=f"line {number}"))
        return notes


def _note_of(line: bytes, *, where: str) -> str:
    try:
        note = json.loads(line)["note"]
    except (ValueError, KeyError, TypeError):
        raise IntegrityError(f"the checkpoint file's {where} is not a recorded note") from None
    if not isinstance(note, str):
        raise IntegrityError(f"the checkpoint file's {where} is not a recorded note")
    return note


def _parse_line(line: bytes, *, where: str) -> Checkpoint:
    note = _note_of(line, where=where)
    try:
        return Checkpoint.parse(note.split("\n\n")[0] + "\n")
    except ValueError:
        raise IntegrityError(f"the checkpoint file's {where} is not a checkpoint") from None
