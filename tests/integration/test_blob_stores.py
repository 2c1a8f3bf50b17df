"""One contract for every blob store: the local folder and an S3-compatible server."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gateway.errors import NotFound
from gateway.ports import BlobStore
from gateway.services.platform import keys as key_service
from gateway.storage.blobs import LocalBlobStore
from tests.conftest import Synthetic, new_bucket, running_gateway
from tests.integration.test_extracts_api import LINKED, push_all, release_for
from tests.integration.test_policy_scenarios import OPERATOR


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    from gateway.storage.s3_blobs import S3BlobStore

    endpoint = request.getfixturevalue("s3_endpoint")
    return S3BlobStore.connect(new_bucket(endpoint), "gw/", endpoint)


def test_written_blobs_appear_only_when_the_write_completes(store: BlobStore) -> None:
    with store.create("deliveries/lpr/2016-11/a.gwb") as fh:
        fh.write(b"x" * 100_000)
    with pytest.raises(RuntimeError), store.create("deliveries/lpr/2016-11/b.gwb") as fh:
        fh.write(b"partial")
        raise RuntimeError("the writer failed")
    assert store.exists("deliveries/lpr/2016-11/a.gwb")
    assert not store.exists("deliveries/lpr/2016-11/b.gwb")
    assert list(store.keys("deliveries/")) == ["deliveries/lpr/2016-11/a.gwb"]
    with store.open("deliveries/lpr/2016-11/a.gwb") as fh:
        fh.seek(50_000)
        assert fh.read(10) == b"x" * 10


def test_update_in_place_delete_and_missing(store: BlobStore) -> None:
    with store.create("releases/r/1.gwb") as fh:
        fh.write(b"0123456789")
    with store.open_for_update("releases/r/1.gwb") as fh:
        fh.seek(0)
        fh.write(b"ab")
    with store.open("releases/r/1.gwb") as fh:
        assert fh.read() == b"ab23456789"
    store.delete("releases/r/1.gwb")
    assert not store.exists("releases/r/1.gwb")
    with pytest.raises(NotFound):
        store.open("releases/r/1.gwb")
    with pytest.raises(ValueError, match="invalid blob key"):
        store.exists("../escape")


def test_the_whole_flow_on_s3(tmp_path: Path, s3_endpoint: str, synthetic: Synthetic) -> None:
    bucket = new_bucket(s3_endpoint)
    with running_gateway(tmp_path / "var", s3_bucket=bucket, s3_endpoint_url=s3_endpoint) as gw:
        push_all(gw, synthetic)
        release, table = release_for(gw, "star-analyse", LINKED)
        assert not (tmp_path / "var" / "blobs").exists()  # nothing on the local disk
        result = key_service.rotate_blob_kek(gw.runtime.context, by=OPERATOR)
        pushed = len(synthetic.files) - 1  # prescriptions are refused
        assert result.rewrapped == 2 * pushed + 1  # each delivery and its vault, the release
        from gateway.domain.principals import Role

        pulled = gw.client.get(
            f"/v1/releases/{release['id']}/content", headers=gw.auth("star-analyse", Role.RECIPIENT)
        )
        assert pq.read_table(io.BytesIO(pulled.content)).equals(table)


def test_shred_destroys_the_key_then_the_blob(store: BlobStore) -> None:
    """Crypto-shredding (the retention sweep's step): a sealed blob opens before; after, it is
    gone, and nothing under its key opens, on either store; a second shred finds nothing."""
    from gateway.crypto.envelope import OpeningReader, SealingWriter

    kek = b"k" * 32
    key = "deliveries/lpr/2016-11/dlv-shred.gwb"
    with store.create(key) as fh, SealingWriter(fh, blob_id=key, kek=kek, kek_version=1) as w:
        w.write(b"PAR1" + b"x" * 300_000)
    with store.open(key) as fh:
        assert OpeningReader(fh, blob_id=key, kek_for=lambda _v: kek).read(4) == b"PAR1"
    assert store.shred(key)
    assert not store.exists(key) and list(store.keys("deliveries/")) == []
    with pytest.raises(NotFound):
        store.open(key)
    assert not store.shred(key)
