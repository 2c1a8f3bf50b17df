"""C2SP tlog-proof: one entry's offline-verifiable proof of logging, witnessed.

::

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry's exact bytes>      (when the holder may see them)
    index <N>
    <base64 hash>...                               (the inclusion proof, leaf side first)

    <the checkpoint, with the log's signature and the witnesses' cosignatures>

Verifying needs only a trust policy (the log's and the witnesses' public keys and the quorum)
and the entry's bytes (from ``extra``, or supplied by the verifier): hash the entry as an RFC
9162 leaf, check the log's signature and the quorum of cosignatures, and check the inclusion
proof against the checkpoint's root. ``extra`` is not authenticated on its own: it counts only
because its hash is what the proof binds to the signed root.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from gateway.audit.merkle import leaf_hash, verify_inclusion
from gateway.audit.trust_policy import TrustPolicy
from gateway.errors import IntegrityError

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class ProofBundle:
    index: int
    proof: tuple[bytes, ...]
    checkpoint: str  # the signed note, cosignatures included
    extra: bytes | None = None

    def text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint


def parse_bundle(text: str) -> ProofBundle:
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise IntegrityError("not a tlog-proof: no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise IntegrityError(f"not a tlog-proof: the first line is not '{HEADER}'")
    position, extra = 1, None
    try:
        if len(lines) > 1 and lines[1].startswith("extra "):
            extra = base64.b64decode(lines[1][6:], validate=True)
            position = 2
        if len(lines) <= position or not lines[position].startswith("index "):
            raise IntegrityError("not a tlog-proof: no 'index' line")
        number = lines[position][6:]
        if not number.isdigit() or (number != "0" and number.startswith("0")):
            raise IntegrityError("the index is not a decimal without leading zeroes")
        proof = tuple(base64.b64decode(line, validate=True) for line in lines[position + 1 :])
    except binascii.Error:
        raise IntegrityError("a tlog-proof line is not base64") from None
    if any(len(h) != 32 for h in proof):
        raise IntegrityError("an inclusion proof hash is not 32 bytes")
    return ProofBundle(int(number), proof, checkpoint, extra)


@dataclass(frozen=True)
class CheckedBundle:
    index: int
    tree_size: int
    origin: str
    cosigned_by: dict[str, int]  # witness name -> cosignature timestamp
    entry: dict[str, Any]


def verify_bundle(
    bundle: ProofBundle, policy: TrustPolicy, entry: bytes | None = None
) -> CheckedBundle:
    """Raise :class:`IntegrityError` unless the bundle proves ``entry`` (default: its extra
    data) at its index in a checkpoint that ``policy`` trusts."""
    body = entry if entry is not None else bundle.extra
    if body is None:
        raise IntegrityError("the bundle carries no entry bytes ('extra'); supply the entry")
    if entry is not None and bundle.extra is not None and bundle.extra != entry:
        raise IntegrityError("the supplied entry differs from the bundle's extra data")
    checkpoint, cosigned = policy.check(bundle.checkpoint)
    verify_inclusion(
        bundle.index, checkpoint.size, leaf_hash(body), list(bundle.proof), checkpoint.root
    )
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    if isinstance(parsed, dict) and parsed.get("index", bundle.index) != bundle.index:
        raise IntegrityError("the entry's own index differs from the bundle's index")
    return CheckedBundle(
        bundle.index,
        checkpoint.size,
        checkpoint.origin,
        cosigned,
        parsed if isinstance(parsed, dict) else {},
    )
