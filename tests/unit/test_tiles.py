"""Tiles, cosignatures, trust policies and proof bundles: against the RFC 9162 vectors, the
in-memory tree, and the C2SP formats."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit import merkle
from gateway.audit.checkpoints import Checkpoint
from gateway.audit.merkle import MemoryTree, consistency_proof, inclusion_proof, leaf_hash
from gateway.audit.proof_bundle import ProofBundle, parse_bundle, verify_bundle
from gateway.audit.tiles import (
    WIDTH,
    Tile,
    TileError,
    TileHashes,
    decode_bundle,
    encode_bundle,
    index_path,
    parse_tile_path,
    tile_for,
)
from gateway.audit.trust_policy import PolicyError, parse_policy
from gateway.crypto.cosignature import CosignatureVerifier, Cosigner, split_note
from gateway.crypto.notes import NoteError, NoteSigner
from gateway.errors import IntegrityError
from tests.unit.test_merkle import tree_of, vectors


def tiles_of(tree: MemoryTree):  # type: ignore[no-untyped-def]
    def source(tile: Tile) -> bytes:
        level = tree.levels[8 * tile.level]
        return b"".join(level[tile.index * WIDTH : tile.index * WIDTH + tile.width])

    return source


def test_tiles_give_the_vectors_roots_and_proofs() -> None:
    tree = vectors()["tree"]
    memory = tree_of([bytes.fromhex(h) for h in tree["leaves_hex"]])
    for size, expected in tree["roots_by_size"].items():
        if int(size):
            assert TileHashes(tiles_of(memory), int(size))(0, int(size)).hex() == expected


def test_proofs_from_tiles_equal_the_trees_across_tile_boundaries() -> None:
    memory = tree_of([b"%d" % i for i in range(70_000)])
    for size in (1, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 70_000):
        tiles = TileHashes(tiles_of(memory), size)
        assert tiles(0, size) == memory.root(size)
        for index in {0, size // 3, size // 2, size - 1}:
            assert inclusion_proof(tiles, index, size) == inclusion_proof(
                memory.subtree, index, size
            )
            assert consistency_proof(tiles, index + 1, size) == consistency_proof(
                memory.subtree, index + 1, size
            )


def test_the_spec_example_of_a_tree_of_70000() -> None:
    """C2SP tlog-tiles: 273 full level-0 tiles, one of width 112, one full level-1 tile, one
    of width 17, and one level-2 tile of width 1."""
    assert tile_for(0, 272, 70_000) == Tile(0, 272, 256)
    assert tile_for(0, 273, 70_000) == Tile(0, 273, 112)
    assert tile_for(0, 274, 70_000) is None
    assert tile_for(1, 0, 70_000) == Tile(1, 0, 256)
    assert tile_for(1, 1, 70_000) == Tile(1, 1, 17)
    assert tile_for(2, 0, 70_000) == Tile(2, 0, 1)
    assert tile_for(1, 0, 256) == Tile(1, 0, 1)


@given(st.integers(0, 10**12), st.integers(0, 63), st.integers(1, 256), st.booleans())
def test_tile_paths_round_trip(index: int, level: int, width: int, entries: bool) -> None:
    tile = Tile(0 if entries else level, index, width, entries)
    assert parse_tile_path(tile.path()) == tile


def test_tile_paths_in_any_other_form_are_refused() -> None:
    assert index_path(1234067) == "x001/x234/067"
    for bad in (
        "tile/01/000",
        "tile/0/0",
        "tile/0/x000/001",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/07",
        "tile/64/000",
        "tile/0/x1/000",
        "tile/0/001/002",
        "tile/entries",
    ):
        with pytest.raises(ValueError):
            parse_tile_path(bad)


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    assert decode_bundle(encode_bundle(entries)) == entries


def test_entry_bundles_refuse_what_does_not_fit() -> None:
    with pytest.raises(TileError):
        encode_bundle([b"x" * 65_536])
    with pytest.raises(TileError):
        decode_bundle(b"\x00\x05abc")


LOG = NoteSigner.from_seed("example.dk/audit", b"\x02" * 32)


def signed(tree: MemoryTree, size: int) -> str:
    return LOG.sign(Checkpoint(LOG.name, size, tree.root(size)).text())


@pytest.mark.parametrize("algorithm", ["ml-dsa-44", "ed25519"])
def test_a_cosignature_verifies_with_its_key_only(algorithm: str) -> None:
    witness = Cosigner.generate("w1.example", algorithm)
    other = Cosigner.generate("w1.example", algorithm)
    note = signed(tree_of([b"a", b"b"]), 2)
    text, _ = split_note(note)
    line = witness.cosign(text, 1_700_000_000)
    verifier = CosignatureVerifier.from_vkey(witness.vkey)
    assert verifier.timestamp(text, [line.rstrip("\n")]) == 1_700_000_000
    assert CosignatureVerifier.from_vkey(other.vkey).timestamp(text, [line]) is None
    assert Cosigner.from_skey(witness.skey).vkey == witness.vkey
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[-1] ^= 1  # a flipped signature bit by the same key is a malformed note
    forged = f"\u2014 w1.example {base64.b64encode(bytes(blob)).decode()}"
    with pytest.raises(NoteError):
        verifier.timestamp(text, [forged])
    with pytest.raises(NoteError):
        CosignatureVerifier.from_vkey(LOG.vkey)  # a log key (0x01) is not a cosigner key


def test_policies_count_groups_and_refuse_malformed_files() -> None:
    w = [Cosigner.generate(f"w{i}.example") for i in range(3)]
    text = (
        f"# comment\nlog {LOG.vkey}\n"
        + "".join(f"witness W{i} {c.vkey} https://w{i}.example\n" for i, c in enumerate(w))
        + "group two 2 W0 W1 W2\ngroup all-of all two W2\nquorum all-of\n"
    )
    policy = parse_policy(text)
    assert policy.satisfied({"W0", "W2"}) and not policy.satisfied({"W0", "W1"})
    assert policy.witnesses["W1"].url == "https://w1.example"
    for bad in (
        f"log {LOG.vkey}\n",  # no quorum
        "quorum nobody\n",
        f"witness none {w[0].vkey}\nquorum none\n",
        f"witness A {w[0].vkey}\nwitness B {w[0].vkey}\nquorum A\n",  # one key twice
        f"witness A {w[0].vkey}\ngroup g 2 A\nquorum g\n",  # threshold above members
        f"witness A {w[0].vkey}\ngroup g any A A\nquorum g\n",
        "quorum none\nquorum none\n",
        "frobnicate\nquorum none\n",
    ):
        with pytest.raises(PolicyError):
            parse_policy(bad)


def test_a_bundle_verifies_offline_and_only_with_the_quorum() -> None:
    entries = [b'{"index":%d}' % i for i in range(5)]
    tree = tree_of(entries)
    w1, w2 = Cosigner.generate("w1.example"), Cosigner.generate("w2.example")
    note = signed(tree, 5)
    text, _ = split_note(note)
    cosigned = note + w1.cosign(text)
    policy = parse_policy(
        f"log {LOG.vkey}\nwitness a {w1.vkey}\nwitness b {w2.vkey}\ngroup g any a b\nquorum g\n"
    )
    bundle = ProofBundle(3, tuple(inclusion_proof(tree.subtree, 3, 5)), cosigned, entries[3])
    again = parse_bundle(bundle.text())
    assert again == bundle
    assert verify_bundle(again, policy).cosigned_by.keys() == {"a"}
    with pytest.raises(IntegrityError, match="quorum"):
        verify_bundle(ProofBundle(3, bundle.proof, note, entries[3]), policy)
    with pytest.raises(merkle.ProofError):
        verify_bundle(ProofBundle(2, bundle.proof, cosigned, entries[2]), policy)
    with pytest.raises(IntegrityError):
        verify_bundle(bundle, policy, b'{"index":4}')
    assert leaf_hash(entries[3]) == tree.levels[0][3]


def test_the_gateway_refuses_a_witness_policy_for_another_log(tmp_path: Path) -> None:
    from gateway.errors import ConfigurationError
    from gateway.services.audit.witnessing import load_policy

    other = NoteSigner.from_seed("other.example/audit", b"\x03" * 32)
    path = tmp_path / "witness-policy.txt"
    assert load_policy(path, LOG.vkey) is None  # no file: no witnesses
    path.write_text(f"log {other.vkey}\nquorum none\n")
    with pytest.raises(ConfigurationError, match="not a 'log' line"):
        load_policy(path, LOG.vkey)
    path.write_text(f"log {LOG.vkey}\nquorum nobody\n")
    with pytest.raises(ConfigurationError, match="line 2"):
        load_policy(path, LOG.vkey)
    path.write_text(f"log {LOG.vkey}\nquorum none\n")
    assert load_policy(path, LOG.vkey) is not None


def test_appended_lines_never_follow_a_torn_one(tmp_path: Path) -> None:
    """A crash mid-append (the witness's evidence, the checkpoint file) leaves a last line
    without its newline; the next append cuts it first, so the file holds whole lines only."""
    from gateway.files import append_line

    path = tmp_path / "evidence.jsonl"
    assert append_line(path, b'{"a":1}\n') == 0
    with open(path, "ab") as fh:
        fh.write(b'{"b":')  # the torn write
    assert append_line(path, b'{"c":3}\n') == len(b'{"b":')
    assert path.read_bytes() == b'{"a":1}\n{"c":3}\n'
