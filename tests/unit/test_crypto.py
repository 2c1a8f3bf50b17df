"""Keys, pseudonyms, envelope encryption and tokens, with published vectors where they exist."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import threading
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.crypto.envelope import (
    CHUNK_SIZE,
    HEADER_SIZE,
    OpeningReader,
    SealingWriter,
)
from gateway.crypto.keys import KeyRing, hkdf, init_key_folder, load_master_key
from gateway.crypto.pseudonyms import Hmac, internal_pseudonyms, recipient_pseudonyms
from gateway.crypto.spool import RECENT_CHUNKS, SealedSpool, UploadAborted
from gateway.errors import IntegrityError, KeyUnavailable


# -- published vectors ---------------------------------------------------------------------
def test_hmac_sha256_rfc4231_test_cases_1_and_2() -> None:
    # RFC 4231 section 4.2 and 4.3.
    assert Hmac(b"\x0b" * 20).digest(b"Hi There").hex() == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    assert Hmac(b"Jefe").digest(b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_hmac_long_key_rfc4231_test_case_6() -> None:
    key = b"\xaa" * 131  # longer than the block: hashed first
    message = b"Test Using Larger Than Block-Size Key - Hash Key First"
    assert Hmac(key).digest(message).hex() == (
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )


def test_hkdf_sha256_rfc5869_test_case_1() -> None:
    okm = hkdf(
        b"\x0b" * 22,
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        salt=bytes.fromhex("000102030405060708090a0b0c"),
        length=42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_aes_256_gcm_known_answers() -> None:
    # The GCM specification's test cases 13 and 14 (AES-256, zero key and IV).
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(bytes(32))
    assert aead.encrypt(bytes(12), b"", None).hex() == "530f8afbc74536b9a963b4f1c4cb738b"
    assert aead.encrypt(bytes(12), bytes(16), None).hex() == (
        "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
    )


# -- pseudonyms ----------------------------------------------------------------------------
@settings(max_examples=100)
@given(
    st.lists(st.from_regex(r"\A[0-9]{10}\Z"), min_size=1, max_size=50),
    st.binary(min_size=32, max_size=32),
)
def test_internal_pseudonyms_equal_the_reference_hmac(cprs: list[str], key: bytes) -> None:
    got = internal_pseudonyms(pa.array(cprs), key).to_pylist()
    assert got == [hmac.new(key, c.encode(), hashlib.sha256).digest() for c in cprs]


@settings(max_examples=100)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=50, unique=True))
def test_recipient_pseudonyms_differ_per_recipient_and_are_stable(internal: list[bytes]) -> None:
    ring = KeyRing(b"m" * 32)
    arr = pa.array(internal, pa.binary(32))
    a = recipient_pseudonyms(arr, ring.recipient_pseudonym_key("star-analyse", 1)).to_pylist()
    b = recipient_pseudonyms(arr, ring.recipient_pseudonym_key("star-statistik", 1)).to_pylist()
    again = recipient_pseudonyms(arr, ring.recipient_pseudonym_key("star-analyse", 1)).to_pylist()
    assert a == again
    assert not set(a) & set(b)
    assert len(set(a)) == len(internal)
    key = ring.recipient_pseudonym_key("star-analyse", 1)
    assert a[0] == hmac.new(key, internal[0], hashlib.sha256).digest()[:16].hex()


def test_key_versions_give_different_keys() -> None:
    ring = KeyRing(os.urandom(32))
    assert ring.recipient_pseudonym_key("r", 1) != ring.recipient_pseudonym_key("r", 2)
    assert ring.blob_kek(1) != ring.blob_kek(2)
    assert ring.internal_pseudonym_key() != ring.blob_kek(1)


# -- master key ----------------------------------------------------------------------------
def test_key_folder_is_created_once_and_never_overwritten(tmp_path: Path) -> None:
    created = init_key_folder(tmp_path / "keys")
    assert {p.name for p in created} == {"master.key"}
    first = load_master_key(tmp_path / "keys", None)
    assert init_key_folder(tmp_path / "keys") == []
    assert load_master_key(tmp_path / "keys", None) == first
    assert (tmp_path / "keys" / "master.key").stat().st_mode & 0o077 == 0


def test_missing_or_bad_master_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="gateway keys init"):
        load_master_key(tmp_path, None)
    (tmp_path / "master.key").write_text("not base64!")
    with pytest.raises(KeyUnavailable, match="not valid base64"):
        load_master_key(tmp_path, None)
    with pytest.raises(KeyUnavailable, match="32 bytes"):
        load_master_key(tmp_path, "AAAA")


# -- envelope ------------------------------------------------------------------------------
def _seal(data: bytes, key: bytes, blob_id: str = "b", chunk: int = CHUNK_SIZE) -> bytes:
    sink = io.BytesIO()
    w = SealingWriter(sink, blob_id=blob_id, kek=key, kek_version=1, chunk_size=chunk)
    w.write(data)
    w.close()
    return sink.getvalue()


def _open(sealed: bytes, key: bytes, blob_id: str = "b") -> bytes:
    return OpeningReader(io.BytesIO(sealed), blob_id=blob_id, kek_for=lambda _v: key).read()


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096 + 5])
def test_envelope_round_trip_and_random_access(size: int) -> None:
    key, data = os.urandom(32), os.urandom(size)
    sealed = _seal(data, key, chunk=4096)
    assert size < 16 or data not in sealed  # a short string can occur in ciphertext by chance
    reader = OpeningReader(io.BytesIO(sealed), blob_id="b", kek_for=lambda _v: key)
    assert reader.read() == data
    reader.seek(size // 2)
    assert reader.read(5000) == data[size // 2 : size // 2 + 5000]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3 * 64 + 7), max_size=12), st.sampled_from([bytes, memoryview]))
def test_envelope_is_the_same_however_the_writes_are_split(sizes: list[int], kind: type) -> None:
    # Writes smaller than, equal to and several times the chunk size, after a partial chunk.
    key = os.urandom(32)
    data = os.urandom(sum(sizes))
    sink = io.BytesIO()
    writer = SealingWriter(sink, blob_id="b", kek=key, kek_version=1, chunk_size=64)
    at = 0
    for size in sizes:
        assert writer.write(kind(data[at : at + size])) == size
        at += size
    writer.close()
    assert len(sink.getvalue()) == len(_seal(data, key, chunk=64))  # same chunk layout
    assert _open(sink.getvalue(), key) == data


def test_envelope_detects_tampering_truncation_swapping_and_wrong_keys() -> None:
    key, data = os.urandom(32), os.urandom(3 * 4096)
    sealed = _seal(data, key, chunk=4096)
    flipped = bytearray(sealed)
    flipped[HEADER_SIZE + 10] ^= 1
    with pytest.raises(IntegrityError, match="chunk 0"):
        _open(bytes(flipped), key)
    truncated = sealed[: HEADER_SIZE + 2 * (4096 + 16)]  # cut exactly at a chunk boundary
    with pytest.raises(IntegrityError):
        _open(truncated, key)
    with pytest.raises(IntegrityError, match="does not unwrap"):
        _open(sealed, key, blob_id="another-blob")
    with pytest.raises(IntegrityError, match="does not unwrap"):
        _open(sealed, os.urandom(32))


def test_sealed_spool_keeps_plaintext_off_the_disk(tmp_path: Path) -> None:
    spool = SealedSpool(tmp_path)
    secret = b"cpr\n0101701234\n" * 1000
    spool.write(secret)
    digest = spool.finish()
    assert digest == hashlib.sha256(secret).hexdigest()
    assert b"0101701234" not in Path(spool.path).read_bytes()
    with spool.open() as fh:
        assert fh.read() == secret
    spool.discard()
    assert not Path(spool.path).exists()


def test_a_spool_is_read_while_it_is_still_being_written(tmp_path: Path) -> None:
    spool = SealedSpool(tmp_path)
    body = os.urandom(3 * CHUNK_SIZE + 123)
    got: list[bytes] = []
    progress = threading.Event()

    def reader() -> None:
        with spool.open() as fh:
            got.append(fh.read(CHUNK_SIZE))  # the first chunk, before the body is complete
            progress.set()
            got.append(fh.read())  # the rest: waits for the end

    thread = threading.Thread(target=reader)
    thread.start()
    spool.write(body[: CHUNK_SIZE + 10])  # one whole chunk sealed, the rest held back
    assert progress.wait(10), "the first chunk was not readable before the end of the body"
    assert spool.size < len(body)
    spool.write(body[CHUNK_SIZE + 10 :])
    digest = spool.finish()
    thread.join(10)
    assert b"".join(got) == body and digest == hashlib.sha256(body).hexdigest()
    with spool.open() as fh:  # a reader that starts at the end: seeks, sizes, random access
        assert fh.seek(0, io.SEEK_END) == len(body)
        fh.seek(CHUNK_SIZE - 5)
        assert fh.read(10) == body[CHUNK_SIZE - 5 : CHUNK_SIZE + 5]
    spool.discard()


def test_readers_behind_the_recent_chunks_read_the_sealed_file(tmp_path: Path) -> None:
    spool = SealedSpool(tmp_path)
    body = os.urandom((RECENT_CHUNKS + 4) * CHUNK_SIZE + 77)
    spool.write(body)
    assert len(spool._recent) == RECENT_CHUNKS  # the newest chunks only: memory is bounded
    assert 0 not in spool._recent
    spool.finish()
    with spool.open() as fh:  # early chunks from the file, the recent ones from memory
        assert fh.read() == body
    with open(spool.path, "r+b") as raw:  # a chunk on disk altered: found when read from it
        raw.seek(HEADER_SIZE + 10)
        raw.write(b"\x00" * 8)
    with spool.open() as fh, pytest.raises(IntegrityError):
        fh.read(CHUNK_SIZE)
    spool.discard()
    assert not spool._recent


def test_readers_of_an_aborted_upload_fail_instead_of_seeing_a_short_file(
    tmp_path: Path,
) -> None:
    spool = SealedSpool(tmp_path)
    spool.write(os.urandom(CHUNK_SIZE + 1))
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            with spool.open() as fh:
                fh.read()
        except UploadAborted as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    spool.fail("the client went away")
    thread.join(10)
    assert len(errors) == 1 and "went away" in str(errors[0])
    with pytest.raises(UploadAborted):
        spool.sha256()
    spool.discard()
    assert not Path(spool.path).exists()
