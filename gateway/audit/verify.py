"""Verify the audit log from what is stored, trusting nothing but the checkpoint signing key.

1. Every entry is re-hashed from its stored bytes (never trusting a stored hash), its index
   must follow the previous one, its searchable columns must agree with the hashed body.
2. The tree is rebuilt in memory; at every signed checkpoint's size its root must equal the
   checkpoint's root. A mismatch is reported at the first entry after the last good checkpoint
   (the gateway signs a checkpoint per transaction, so that is normally the exact entry).
3. A checkpoint larger than the log means entries were cut off: reported at the first missing
   index. Checkpoints come from the database *and* the file kept outside it, and from any
   checkpoint a witness saved earlier (``since``), which must also be a prefix of today's log.
4. Each entry's subject index must match the digest its body commits to.

Because every checkpoint's root is recomputed from one tree, successive checkpoints are
consistent with each other by construction; for saved checkpoints a consistency proof to the
latest size is also generated and verified, as an external verifier would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.encoding import canonical_json, subjects_digest
from gateway.audit.events import AuditEntry
from gateway.audit.merkle import (
    MemoryTree,
    Subtree,
    consistency_proof,
    leaf_hash,
    verify_consistency,
)
from gateway.crypto.notes import NoteVerifier
from gateway.errors import IntegrityError


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    checkpoints: int
    root: str
    first_bad_index: int | None = None
    problem: str | None = None
    proven_since: list[int] = field(default_factory=list)


class _Failure(Exception):
    def __init__(self, index: int | None, problem: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem


def _checkpoints(notes: Iterable[str], verifier: NoteVerifier) -> dict[int, Checkpoint]:
    found: dict[int, Checkpoint] = {}
    for note in notes:
        try:
            checkpoint = Checkpoint.parse(verifier.open(note))
        except (IntegrityError, ValueError) as exc:
            raise _Failure(None, f"a checkpoint does not verify: {exc}") from None
        if checkpoint.origin != verifier.name:
            raise _Failure(None, f"a checkpoint is for another log '{checkpoint.origin}'")
        earlier = found.get(checkpoint.size)
        if earlier is not None and earlier.root != checkpoint.root:
            raise _Failure(None, f"two different signed roots for size {checkpoint.size}")
        found[checkpoint.size] = checkpoint
    return found


def _check_entry(entry: AuditEntry, expected: int) -> dict[str, object]:
    if entry.index != expected:
        raise _Failure(
            expected,
            f"index {entry.index} found where {expected} was expected "
            "(an entry is missing, inserted or moved)",
        )
    try:
        body = json.loads(entry.body)
    except ValueError:
        raise _Failure(entry.index, "the stored body is not JSON") from None
    if canonical_json(body) != entry.body:
        raise _Failure(entry.index, "the stored body is not in canonical form")
    if body.get("index") != entry.index:
        raise _Failure(entry.index, f"the hashed body says index {body.get('index')}")
    refs = body.get("refs", {})
    columns = {
        "type": (body.get("type"), entry.type),
        "actor": (body.get("actor"), entry.actor),
        "dataset": (refs.get("dataset"), entry.dataset),
        "recipient": (refs.get("recipient"), entry.recipient),
    }
    for name, (hashed, stored) in columns.items():
        if hashed != stored:
            raise _Failure(entry.index, f"the stored {name} does not match the hashed body")
    if leaf_hash(entry.body).hex() != entry.leaf_hash:
        raise _Failure(entry.index, "the stored leaf hash does not match the body")
    return dict(body)


def verify_log(
    entries: Iterable[AuditEntry],
    notes: Iterable[str],
    verifier: NoteVerifier,
    *,
    subjects: Iterable[tuple[int, list[bytes]]] | None = None,
    since: Sequence[str] = (),
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Check everything above; the result names the first entry that does not match.

    ``subjects`` None skips the subject-index check (an export does not carry the index)."""
    tree = MemoryTree()
    checked = 0
    proven: list[int] = []
    try:
        checkpoints = _checkpoints([*notes, *since], verifier)
        sizes = sorted(checkpoints)
        position, last_good = 0, 0
        declared: dict[int, str] = {}
        for expected, entry in enumerate(entries):
            body = _check_entry(entry, expected)
            committed = body.get("subjects")
            if isinstance(committed, dict):
                declared[entry.index] = str(committed.get("digest"))
            tree.append(bytes.fromhex(entry.leaf_hash))
            if progress is not None and tree.size % 10_000 == 0:
                progress(10_000)
            while position < len(sizes) and sizes[position] == tree.size:
                if tree.root() != checkpoints[tree.size].root:
                    raise _Failure(
                        last_good,
                        f"entries {last_good}..{tree.size - 1} do not "
                        f"match the signed checkpoint for size {tree.size}",
                    )
                last_good = tree.size
                position += 1
                checked += 1
        if position < len(sizes):
            raise _Failure(
                tree.size,
                f"the log has {tree.size} entries but a checkpoint for "
                f"{sizes[-1]} entries was signed: entries were cut off",
            )
        if subjects is not None:
            _check_subjects(subjects, declared)
        proven = prove_saved(since, verifier, tree.size, tree.root(), lambda _: tree.subtree)
    except _Failure as failure:
        return VerifyResult(
            False, tree.size, checked, tree.root().hex(), failure.index, failure.problem
        )
    return VerifyResult(True, tree.size, checked, tree.root().hex(), proven_since=proven)


def prove_saved(
    since: Sequence[str],
    verifier: NoteVerifier,
    size: int,
    root: bytes,
    subtree_for: Callable[[int], Subtree] | None,
) -> list[int]:
    """For each checkpoint saved earlier, generate and verify a consistency proof to today's
    tree (as an outside verifier would); the sizes proven."""
    proven = []
    for note in since:
        old = Checkpoint.parse(verifier.open(note))
        if old.size and size and subtree_for is not None:
            proof = consistency_proof(subtree_for(size), old.size, size)
            try:
                verify_consistency(old.size, size, old.root, root, proof)
            except IntegrityError as exc:
                raise _Failure(None, f"the saved checkpoint {old.size}: {exc.detail}") from None
        proven.append(old.size)
    return proven


def _check_subjects(found: Iterable[tuple[int, list[bytes]]], declared: dict[int, str]) -> None:
    seen: set[int] = set()
    for index, keys in found:
        if declared.get(index) != subjects_digest(keys):
            raise _Failure(index, "the subject index does not match the digest in the entry")
        seen.add(index)
    missing = sorted(set(declared) - seen)
    if missing:
        raise _Failure(missing[0], "the entry's subject index is missing")
