"""Signing checkpoints, and the append-only checkpoint file kept outside the database.

Before signing a checkpoint for a new tree size, the signer proves the new tree consistent
with the last checkpoint in its own file: it never signs two checkpoints that contradict each
other, even if the database was rewritten behind its back. The file (JSON Lines, one signed
note per line) can be copied off the machine and given to witnesses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.merkle import Subtree, consistency_proof, verify_consistency
from gateway.crypto.notes import NoteSigner
from gateway.errors import IntegrityError


class Checkpointer:
    def __init__(self, signer: NoteSigner, file: Path) -> None:
        self.signer = signer
        self.file = file

    @property
    def origin(self) -> str:
        return self.signer.name

    def last(self) -> Checkpoint | None:
        """The newest checkpoint in the file (read from its tail, not the whole file)."""
        if not self.file.exists():
            return None
        with open(self.file, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - 8192))
            lines = [line for line in fh.read().splitlines() if line.strip()]
        if not lines:
            return None
        note = json.loads(lines[-1])["note"]
        return Checkpoint.parse(note.split("\n\n")[0] + "\n")

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

    def record(self, note: str) -> None:
        """Append a signed checkpoint to the file and sync it."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"note": note}, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def notes(self) -> list[str]:
        if not self.file.exists():
            return []
        with open(self.file, encoding="utf-8") as fh:
            return [json.loads(line)["note"] for line in fh if line.strip()]
