"""The native HMAC kernel gives byte for byte what Python's hmac gives, on every Arrow layout
it reads (strings, binary, fixed-size binary, sliced arrays, many threads), and refuses
buffers that do not hold what the call says instead of reading past them."""

from __future__ import annotations

import hashlib
import hmac
import os

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.crypto import pseudonyms as ps
from gateway.dataplane.persons import InternalPseudonymiser

native = pytest.mark.skipif(
    ps._native is None and os.environ.get("GATEWAY_REQUIRE_NATIVE") != "1",
    reason="the native HMAC kernel is not built on this machine (setup.py)",
)


def test_the_native_kernel_is_built_where_required() -> None:
    # CI sets GATEWAY_REQUIRE_NATIVE=1: a silent fallback to Python there would leave the
    # kernel untested and the benchmarks slower than documented.
    if os.environ.get("GATEWAY_REQUIRE_NATIVE") == "1":
        assert ps._native is not None, "gateway.crypto._hmac_kernel did not build"
    assert ps.HMAC_KERNEL.startswith("native" if ps._native else "python")


def _reference(key: bytes, values: list[bytes]) -> list[bytes]:
    return [hmac.new(key, v, hashlib.sha256).digest() for v in values]


keys = st.binary(min_size=0, max_size=100)  # past 64 bytes the key is hashed first


@native
@settings(max_examples=300, deadline=None)
@given(keys, st.lists(st.binary(max_size=80), max_size=50), st.integers(0, 5), st.booleans())
def test_variable_width_values_equal_hmac(
    key: bytes, values: list[bytes], skip: int, as_text: bool
) -> None:
    array = pa.array(values, pa.binary())
    if as_text:
        values = [v.hex().encode() for v in values]
        array = pa.array([v.decode() for v in values], pa.string())
    sliced = array.slice(min(skip, len(values)))
    got = ps.native_digests(key, sliced).to_pylist()
    assert got == _reference(key, values[min(skip, len(values)) :])
    assert got == ps.python_digests(key, sliced).to_pylist()


@native
@settings(max_examples=200, deadline=None)
@given(keys, st.lists(st.binary(min_size=32, max_size=32), max_size=50), st.integers(0, 5))
def test_fixed_width_values_and_hex_prefixes_equal_hmac(
    key: bytes, values: list[bytes], skip: int
) -> None:
    array = pa.array(values, pa.binary(32)).slice(min(skip, len(values)))
    expected = _reference(key, values[min(skip, len(values)) :])
    assert ps.native_digests(key, array).to_pylist() == expected
    assert ps.native_digests(key, array, hex_bytes=16).to_pylist() == [
        d[:16].hex() for d in expected
    ]


@native
def test_large_arrays_split_over_threads_equal_hmac() -> None:
    values = [f"{i:010d}".encode() for i in range(100_003)]  # several threads' shares
    got = ps.native_digests(b"key", pa.array(values, pa.binary()))
    sample = range(0, len(values), 997)
    assert [got[i].as_py() for i in sample] == _reference(b"key", [values[i] for i in sample])


@native
def test_buffers_that_do_not_hold_the_values_are_refused() -> None:
    kernel = ps._native
    assert kernel is not None
    with pytest.raises(ValueError, match="shorter"):
        kernel.hmac_sha256(b"k", b"0123456789", None, 2, 10, 1, 0)  # 2 values need 20 bytes
    offsets = pa.array([0, 5, 50], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="outside"):
        kernel.hmac_sha256(b"k", b"0123456789", offsets, 2, 0, 1, 0)  # 50 is past the end
    backwards = pa.array([0, 6, 4], pa.int32()).buffers()[1]
    with pytest.raises(ValueError, match="outside"):
        kernel.hmac_sha256(b"k", b"0123456789", backwards, 2, 0, 1, 0)
    with pytest.raises(ValueError, match="shorter than count"):
        kernel.hmac_sha256(b"k", b"0123456789", offsets, 5, 0, 1, 0)
    with pytest.raises(ValueError, match="null"):
        ps.native_digests(b"k", pa.array(["0101701234", None]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.from_regex(r"\A[0-9]{10}\Z"), min_size=1, max_size=40))
def test_python_fallback_gives_the_same_pseudonyms(cprs: list[str]) -> None:
    array = pa.array(cprs)
    internal = ps.internal_pseudonyms(array, b"i" * 32)
    recipient = ps.recipient_pseudonyms(internal, b"r" * 32).to_pylist()
    batch = InternalPseudonymiser(b"i" * 32)(array)
    kernel = ps._native
    try:
        ps._native = None  # as on a machine where the kernel was not built
        assert ps.internal_pseudonyms(array, b"i" * 32).equals(internal)
        assert ps.recipient_pseudonyms(internal, b"r" * 32).to_pylist() == recipient
        assert InternalPseudonymiser(b"i" * 32)(array).equals(batch)
    finally:
        ps._native = kernel
