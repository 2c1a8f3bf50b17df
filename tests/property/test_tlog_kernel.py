"""The verification kernel accepts an entry exactly when the Python verifier would: bodies in
Python's canonical JSON whose stored copies agree; anything it cannot decide it defers."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit import fast_verify
from gateway.audit.encoding import canonical_json
from gateway.audit.merkle import MemoryTree, leaf_hash

pytestmark = pytest.mark.skipif(
    fast_verify._native is None and os.environ.get("GATEWAY_REQUIRE_NATIVE") != "1",
    reason="the verification kernel is not built here",
)
kernel: Any = fast_verify._native

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=12)
values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10)


def test_the_kernel_is_built_where_required() -> None:
    assert kernel is not None, "gateway.audit._tlog_kernel did not build"


def entry(index: int, details: Any, actor: str, dataset: str | None) -> dict[str, Any]:
    refs = {} if dataset is None else {"dataset": dataset}
    return {
        "actor": actor,
        "details": details,
        "index": index,
        "refs": refs,
        "salt": "00",
        "time": "2026-11-27T00:00:00.000000Z",
        "type": "delivery.accepted",
    }


def row(body: dict[str, Any], raw: bytes, index: int = 0) -> tuple[Any, ...]:
    """The entry's row as the driver returns it (audit_entries' column order)."""
    refs = body["refs"]
    return (
        index,
        body["time"],
        body["type"],
        body["actor"],
        refs.get("dataset"),
        refs.get("recipient"),
        raw,
        leaf_hash(raw).hex(),
    )


def run(rows: list[tuple[Any, ...]], nodes: bytes | None = None) -> tuple[int, str | None]:
    if nodes is None:
        nodes = b"".join(bytes.fromhex(r[7]) for r in rows)
    out, flags = bytearray(32 * len(rows)), bytearray(len(rows))
    result: tuple[int, str | None] = kernel.check_entries(rows, 0, nodes, out, flags)
    return result


@settings(max_examples=300, deadline=None)
@given(values, names, st.none() | names)
def test_canonical_entries_pass_or_are_deferred(
    details: Any, actor: str, dataset: str | None
) -> None:
    body = entry(0, details, actor, dataset)
    raw = canonical_json(body)
    done, reason = run([row(body, raw)])
    assert (done, reason) == (1, None) or reason == "defer"


@settings(max_examples=400, deadline=None)
@given(values, st.binary(min_size=1, max_size=3), st.integers(0, 400))
def test_an_accepted_body_is_exactly_canonical(details: Any, noise: bytes, at: int) -> None:
    raw = canonical_json(entry(0, details, "a", None))
    at = at % len(raw)
    mutated = raw[:at] + noise + raw[at + len(noise) :]
    try:
        parsed = json.loads(mutated)
        canonical = isinstance(parsed, dict) and canonical_json(parsed) == mutated
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = False
    body = parsed if canonical else entry(0, details, "a", None)
    if canonical and not (isinstance(body.get("refs"), dict) and "type" in body):
        return
    try:
        stored = row(body, mutated)
    except (KeyError, TypeError, AttributeError):
        return
    if not all(isinstance(v, str | None) for v in stored[1:6]):
        return
    done, _ = run([stored])
    if done == 1:
        assert canonical, mutated


def test_every_stored_copy_is_compared() -> None:
    body = entry(0, {"rows": 3}, "sds/client:x[source]", "lpr")
    raw = canonical_json(body)
    good = row(body, raw)
    assert run([good]) == (1, None)
    columns = "the stored search columns do not match the hashed body"
    for position, value, reason in (
        (0, 1, "the stored indexes are not contiguous"),
        (1, "2026-11-28T00:00:00.000000Z", columns),
        (2, "delivery.rejected", columns),
        (3, "sds/client:y[source]", columns),
        (4, "ssr", columns),
        (4, None, columns),
        (5, "star", columns),
        (7, "0" * 64, "the stored leaf hash does not match the body"),
    ):
        changed = list(good)
        changed[position] = value
        assert run([tuple(changed)], bytes.fromhex(good[7])) == (0, reason), position
    assert run([good], bytes(32)) == (
        0,
        "the stored tree node does not match the entry's leaf hash",
    )
    assert run([good], b"") == (0, "the stored tree node does not match the entry's leaf hash")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=300), st.data())
def test_the_fold_gives_every_root(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MemoryTree()
    for leaf in leaves:
        tree.append(leaf)
    sizes = sorted(data.draw(st.sets(st.integers(1, len(leaves)))))
    cut = data.draw(st.integers(0, len(leaves)))
    state = bytearray(8 + 64 * 32)
    roots = kernel.fold(state, b"".join(leaves[:cut]), [s for s in sizes if s <= cut])
    roots += kernel.fold(state, b"".join(leaves[cut:]), [s for s in sizes if s > cut])
    assert [roots[32 * i : 32 * i + 32] for i in range(len(sizes))] == [tree.root(s) for s in sizes]
