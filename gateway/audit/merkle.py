"""RFC 9162 (Certificate Transparency v2) Merkle trees over SHA-256.

leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right),
empty tree = SHA-256(""). Proof hashes are ordered from the leaf to the root.

Proof *generation* works over any ``Subtree`` function that returns MTH(D[start:end]): the
database's node table for the live log, or :class:`MemoryTree` for verification and tests.
Proof *verification* needs nothing but the proof (RFC 9162 sections 2.1.3.2 and 2.1.4.2), with
the semantics of transparency-dev/merkle's verifier, which the vectors in shared/ pin down.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from gateway.errors import IntegrityError

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Subtree = Callable[[int, int], bytes]  # (start, end) -> MTH(D[start:end]), start < end


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (requires n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class ProofError(IntegrityError):
    """A proof does not verify; the message says which check failed, with both values."""

    code = "proof-failed"
    title = "The proof does not verify"


# -- generation ------------------------------------------------------------------------------
def root(subtree: Subtree, size: int) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree(0, size)


def inclusion_proof(subtree: Subtree, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]). Requires 0 <= index < size."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(subtree: Subtree, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]). Requires 0 < old_size <= new_size."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    proof: list[bytes] = []
    start, end, whole = 0, new_size, True
    m = old_size
    while m != end:
        k = split_point(end - start)
        if m - start <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start += k
            whole = False
    if not whole:
        proof.append(subtree(start, end))
    proof.reverse()
    return proof


class MemoryTree:
    """Leaf hashes and every complete subtree, in memory: for verification and tests."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    def append(self, leaf_hash_: bytes) -> None:
        self.levels[0].append(leaf_hash_)
        index, level = len(self.levels[0]) - 1, 0
        while index & 1:
            if len(self.levels) == level + 1:
                self.levels.append([])
            row = self.levels[level]
            self.levels[level + 1].append(node_hash(row[index - 1], row[index]))
            index >>= 1
            level += 1

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def subtree(self, start: int, end: int) -> bytes:
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self.levels[width.bit_length() - 1][start // width]
        k = split_point(width)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        return root(self.subtree, self.size if size is None else size)


# -- verification ------------------------------------------------------------------------------
def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Raises :class:`ProofError` unless ``proof`` shows leaf hash ``leaf`` at ``index``."""
    if index >= size or index < 0:
        raise ProofError(f"index {index} is beyond the tree size {size}")
    if len(leaf) != 32:
        raise ProofError(f"leaf hash has {len(leaf)} bytes, want 32")
    calculated = _root_from_inclusion(index, size, leaf, proof)
    if calculated != expected_root:
        raise ProofError(f"calculated root {calculated.hex()} != expected {expected_root.hex()}")


def _root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"proof has {len(proof)} hashes, more than the tree allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"proof has {len(proof)} hashes, fewer than the tree needs")
    return r


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raises :class:`ProofError` unless the tree of ``old_size`` is a prefix of ``new_size``."""
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if old_size == new_size:
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if old_root != new_root:
            raise ProofError(
                f"equal sizes with different roots {old_root.hex()} / {new_root.hex()}"
            )
        return
    if not proof:
        raise ProofError("empty proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the trees need")
    if fr != old_root:
        raise ProofError(f"calculated old root {fr.hex()} != expected {old_root.hex()}")
    if sr != new_root:
        raise ProofError(f"calculated new root {sr.hex()} != expected {new_root.hex()}")
