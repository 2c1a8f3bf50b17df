"""C2SP tlog-checkpoint bodies: origin, tree size, base64 root hash, optional extension lines."""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.rstrip("\n").split("\n")
        if len(lines) < 3 or not lines[1].isdigit():
            raise ValueError("not a checkpoint: origin, size and root lines expected")
        root = base64.b64decode(lines[2], validate=True)
        if len(root) != 32:
            raise ValueError("checkpoint root hash is not 32 bytes")
        return cls(lines[0], int(lines[1]), root, tuple(lines[3:]))
