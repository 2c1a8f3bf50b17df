"""The Merkle tree against the published vectors and a slow reference implementation."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit import merkle
from gateway.audit.merkle import MemoryTree, ProofError

SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"
VECTORS = SHARED / "merkle_vectors.json"


def vectors() -> dict:  # type: ignore[type-arg]
    return json.loads(VECTORS.read_text())


def reference_mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH, literally: slow and obviously right (for testing only)."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return merkle.leaf_hash(leaves[0])
    k = merkle.split_point(len(leaves))
    return merkle.node_hash(reference_mth(leaves[:k]), reference_mth(leaves[k:]))


def tree_of(leaves: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for leaf in leaves:
        tree.append(merkle.leaf_hash(leaf))
    return tree


def test_hasher_vectors() -> None:
    for v in vectors()["hasher_vectors"]:
        if v["kind"] == "empty":
            got = merkle.EMPTY_ROOT
        elif v["kind"] == "leaf":
            got = merkle.leaf_hash(bytes.fromhex(v["input_hex"]))
        else:
            got = merkle.node_hash(bytes.fromhex(v["left_hex"]), bytes.fromhex(v["right_hex"]))
        assert got.hex() == v["expected"], v["desc"]


def test_roots_for_every_size_0_to_8() -> None:
    tree = vectors()["tree"]
    leaves = [bytes.fromhex(h) for h in tree["leaves_hex"]]
    memory = tree_of(leaves)
    for size, expected in tree["roots_by_size"].items():
        assert memory.root(int(size)).hex() == expected
        assert reference_mth(leaves[: int(size)]).hex() == expected


def test_inclusion_vectors() -> None:
    for v in vectors()["inclusion_proofs"]:
        proof = [bytes.fromhex(p) for p in v["proof"]]
        args = (
            v["leaf_index"],
            v["tree_size"],
            bytes.fromhex(v["leaf_hash"]),
            proof,
            bytes.fromhex(v["root"]),
        )
        if v["want_error"]:
            with pytest.raises(ProofError):
                merkle.verify_inclusion(*args)
        else:
            merkle.verify_inclusion(*args)


def test_consistency_vectors() -> None:
    for v in vectors()["consistency_proofs"]:
        proof = [bytes.fromhex(p) for p in v["proof"]]
        args = (v["size1"], v["size2"], bytes.fromhex(v["root1"]), bytes.fromhex(v["root2"]), proof)
        if v["want_error"]:
            with pytest.raises(ProofError):
                merkle.verify_consistency(*args)
        else:
            merkle.verify_consistency(*args)


def test_transparency_dev_case_files_agree() -> None:
    files = sorted((SHARED / "transparency-dev-merkle").rglob("*.json"))
    assert len(files) == 196
    b64 = base64.b64decode
    for path in files:
        v = json.loads(path.read_text())
        try:
            if "leafIdx" in v:
                merkle.verify_inclusion(
                    v["leafIdx"],
                    v["treeSize"],
                    b64(v["leafHash"] or ""),
                    [b64(p) for p in v["proof"] or []],
                    b64(v["root"] or ""),
                )
            else:
                merkle.verify_consistency(
                    v["size1"],
                    v["size2"],
                    b64(v["root1"] or ""),
                    b64(v["root2"] or ""),
                    [b64(p) for p in v["proof"] or []],
                )
            ok = True
        except ProofError:
            ok = False
        assert ok != v["wantErr"], path


def test_real_certificate_transparency_inclusion() -> None:
    v = vectors()["real_world_ct_inclusion"]
    merkle.verify_inclusion(
        v["leaf_index"],
        v["tree_size"],
        bytes.fromhex(v["leaf_hash"]),
        [bytes.fromhex(p) for p in v["proof"]],
        bytes.fromhex(v["root"]),
    )


def test_every_generated_proof_up_to_130_leaves_verifies_and_matches_the_reference() -> None:
    leaves = [bytes([i]) for i in range(130)]
    tree = tree_of(leaves)
    for size in range(1, 131):
        root = tree.root(size)
        assert root == reference_mth(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(tree.subtree, index, size)
            merkle.verify_inclusion(index, size, merkle.leaf_hash(leaves[index]), proof, root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(tree.subtree, old, size)
            merkle.verify_consistency(old, size, tree.root(old), root, proof)


def _valid_subtree(start: int, end: int) -> bool:
    width = end - start
    return start == 0 or start == end or start % (1 << (width - 1).bit_length()) == 0


def test_accumulated_subtree_and_inclusion_digests() -> None:
    """draft-ietf-plants-merkle-tree-certs C.1: every valid subtree of a 130-leaf tree and every
    inclusion proof inside it, fed line by line into one SHA-256 (the vectors' own format).
    (Its subtree *consistency* proofs are a different algorithm from RFC 9162's and are not
    used by the gateway; the exhaustive test above covers RFC 9162 consistency proofs.)"""
    import hashlib

    acc = vectors()["accumulated_vectors"]
    tree = tree_of([bytes([i]) for i in range(130)])
    subtrees, inclusion = hashlib.sha256(), hashlib.sha256()
    for end in range(131):
        for start in range(end + 1):
            if not _valid_subtree(start, end):
                continue
            mth = merkle.EMPTY_ROOT if start == end else tree.subtree(start, end)
            subtrees.update(f"[{start}, {end}) {mth.hex()}\n".encode())
            for index in range(start, end):
                path = merkle.inclusion_proof(
                    lambda a, b, s=start: tree.subtree(s + a, s + b), index - start, end - start
                )
                line = f"{index} [{start}, {end})" + "".join(" " + p.hex() for p in path)
                inclusion.update(line.encode() + b"\n")
    assert subtrees.hexdigest() == acc["subtree_hashes"]["expected"]
    assert inclusion.hexdigest() == acc["inclusion_proofs"]["expected"]


def test_domain_separation() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70), st.data())
def test_tampered_proofs_fail(leaves: list[bytes], data: st.DataObject) -> None:
    tree = tree_of(leaves)
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(tree.subtree, index, size)
    leaf = merkle.leaf_hash(leaves[index])
    merkle.verify_inclusion(index, size, leaf, proof, tree.root())
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, leaf, bad, tree.root())
