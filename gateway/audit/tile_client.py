"""A client of a tiled log: proofs computed from fetched tiles, trusting nothing but keys.

It fetches ``<prefix>/checkpoint`` and the tiles a proof needs, and computes the inclusion or
consistency proof itself (:class:`gateway.audit.tiles.TileHashes`); the hub's proof endpoints
are never asked. A checkpoint counts only if the trust policy accepts it (the log's signature
and the witnesses' quorum), and a proof computed from tiles verifies against its signed root
only if the tiles were the log's. ``monitor`` keeps the last trusted checkpoint in a file and
checks that each new one extends it: a log that rolled back or forked is caught there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from gateway.audit.proof_bundle import ProofBundle
from gateway.audit.tiles import Tile, TileCache, TileHashes, decode_bundle
from gateway.audit.trust_policy import TrustPolicy
from gateway.errors import IntegrityError
from gateway.files import write_atomic


class TileClient:
    def __init__(self, prefix: str, http: httpx.Client | None = None, token: str | None = None):
        self.prefix = prefix.rstrip("/")
        self.http = http or httpx.Client(timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.cache = TileCache(1024)

    def __enter__(self) -> TileClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def checkpoint(self, policy: TrustPolicy, size: int | None = None) -> tuple[str, Checkpoint]:
        """The log's checkpoint (``/checkpoint``: with witnesses, the latest witnessed one),
        or the one signed for ``size`` (the gateway's historical checkpoints), if the policy
        accepts it."""
        path = "/checkpoint" if size is None else f"/v1/audit/checkpoints/{size}"
        answer = self.http.get(f"{self.prefix}{path}")
        answer.raise_for_status()
        note = answer.text
        checkpoint, _ = policy.check(note)
        return note, checkpoint

    def tile(self, tile: Tile) -> bytes:
        answer = self.http.get(f"{self.prefix}/{tile.path()}", headers=self.headers)
        answer.raise_for_status()
        return answer.content

    def hashes(self, size: int) -> TileHashes:
        return TileHashes(self.tile, size, self.cache)

    def entry(self, index: int, size: int) -> bytes:
        """Entry ``index`` from its entry bundle (needs an auditor's token), checked against
        the level-0 tile it must hash to."""
        first = index - index % 256
        width = min(256, size - first)
        bundle = decode_bundle(self.tile(Tile(0, first // 256, width, entries=True)))
        if len(bundle) != width:
            raise IntegrityError(f"the entry bundle holds {len(bundle)} entries, want {width}")
        entry = bundle[index - first]
        if leaf_hash(entry) != self.hashes(size)(index, index + 1):
            raise IntegrityError(f"entry {index} does not hash to its level-0 tile")
        return entry

    def prove(self, index: int, policy: TrustPolicy, entry: bytes | None = None) -> ProofBundle:
        """A tlog-proof of entry ``index`` in the latest trusted checkpoint, computed from
        tiles and verified before it is returned."""
        note, checkpoint = self.checkpoint(policy)
        if not 0 <= index < checkpoint.size:
            raise IntegrityError(f"entry {index} is not in the log's {checkpoint.size} entries")
        body = entry if entry is not None else self.entry(index, checkpoint.size)
        proof = inclusion_proof(self.hashes(checkpoint.size), index, checkpoint.size)
        verify_inclusion(index, checkpoint.size, leaf_hash(body), proof, checkpoint.root)
        return ProofBundle(index, tuple(proof), note, body)


@dataclass(frozen=True)
class MonitorResult:
    old_size: int
    new_size: int
    note: str


def monitor(
    client: TileClient, policy: TrustPolicy, state: Path, size: int | None = None
) -> MonitorResult:
    """Fetch the latest trusted checkpoint (or the one of ``size``) and prove, from tiles,
    that it extends the one in ``state``; then keep it there. Raises :class:`IntegrityError`
    for a log that shrank or whose history differs (a rollback or a split view)."""
    note, new = client.checkpoint(policy, size)
    old_size = 0
    if state.exists():
        saved = json.loads(state.read_text())
        old, _ = policy.check(saved["note"])
        old_size = old.size
        if new.origin != old.origin:
            raise IntegrityError(f"the log's origin changed from {old.origin} to {new.origin}")
        if new.size < old.size:
            raise IntegrityError(
                f"the log shrank: it showed {old.size} entries before and {new.size} now "
                "(rolled back); keep both checkpoints as evidence"
            )
        if old.size:
            proof = consistency_proof(client.hashes(new.size), old.size, new.size)
            try:
                verify_consistency(old.size, new.size, old.root, new.root, proof)
            except IntegrityError as exc:
                raise IntegrityError(
                    f"the log's tree of {new.size} does not extend the one of {old.size} seen "
                    f"before ({exc.detail}): the log shows another history; keep both "
                    "checkpoints as evidence"
                ) from None
    write_atomic(state, json.dumps({"note": note}).encode())
    return MonitorResult(old_size, new.size, note)
