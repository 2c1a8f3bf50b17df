"""Faults give clear answers and leave nothing behind: failed commits, a full disk, a torn or
unwritable checkpoint file, a database that stops, a database restored one commit back,
concurrent writers and the verifier, stalled uploads."""

from __future__ import annotations

import errno
import gc
import json
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.api.app import create_app
from gateway.domain.principals import Role
from gateway.errors import IntegrityError
from gateway.services.audit.trail import verify
from gateway.services.platform.janitor import sweep
from gateway.storage.sql_store import SqlUnitOfWork
from tests import pg
from tests.conftest import Gateway, Synthetic, make_settings, running_gateway
from tests.server import Server

SOURCE, LPR = "sundhedsdatastyrelsen", "lpr"


def _variant(synthetic: Synthetic, n: int) -> bytes:
    """The lpr delivery with its rows in another order: other content, same rows."""
    header, *rows = synthetic.bytes(LPR).decode().splitlines()
    k = n % max(1, len(rows))
    return ("\n".join([header, *rows[k:], *rows[:k]]) + "\n").encode()


def _blob_files(gw: Gateway) -> set[str]:
    root = gw.settings.resolved_blobs_dir
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_a_failed_commit_deletes_nothing_committed_and_leaves_nothing_after_the_sweep(
    gateway: Gateway, synthetic: Synthetic, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = gateway.push(SOURCE, LPR, _variant(synthetic, 0))
    assert first.status_code == 201
    committed = _blob_files(gateway)

    def full(self: SqlUnitOfWork, record: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(SqlUnitOfWork, "add_delivery", full)
    failed = gateway.push(SOURCE, LPR, _variant(synthetic, 1))
    assert failed.status_code == 507, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.headers["Retry-After"] and failed.headers["X-Request-ID"]
    monkeypatch.undo()
    assert committed <= _blob_files(gateway)  # the committed delivery is untouched
    ctx = gateway.runtime.context
    report = sweep(ctx.store, ctx.blobs, ctx.work)
    assert len(report.orphan_blobs) == 2  # the failed push's stored form and vault
    assert _blob_files(gateway) == committed
    again = gateway.push(SOURCE, LPR, _variant(synthetic, 0))
    assert again.status_code == 200 and again.json()["delivery_id"] == first.json()["delivery_id"]
    assert verify(ctx).ok


def _fill(volume: Path) -> Path:
    """Fill ``volume`` to the last byte; the filler file, to delete when space should return."""
    filler = volume / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue
    return filler


def test_a_full_checkpoint_volume_keeps_the_committed_delivery(
    tmp_path: Path, synthetic: Synthetic, small_volume: Path
) -> None:
    checkpoints = small_volume / "checkpoints.jsonl"
    with running_gateway(tmp_path / "var", checkpoint_file=checkpoints) as gw:
        assert gw.push(SOURCE, LPR, _variant(synthetic, 0)).status_code == 201
        filler = _fill(small_volume)  # the witness volume is full: its writes fail
        log_file = gw.settings.log_file
        assert log_file is not None
        for n in range(1, 40):  # the file's last page may still take a few notes
            r = gw.push(SOURCE, LPR, _variant(synthetic, n))
            assert r.status_code == 201, r.text  # committed: the receipt stands
            if "checkpoint file not written" in log_file.read_text():
                break
        else:
            pytest.fail("the full volume never refused a write")
        delivery, failed_at = r.json()["delivery_id"], n
        filler.unlink()
        with open(checkpoints, "ab") as fh:  # a torn last line, as a full disk can leave it
            fh.write(b'{"note": "gateway.local/audit\\n12')
        notes_before = len(gw.runtime.context.checkpointer.notes())
        assert verify(gw.runtime.context).ok  # a torn last line is tolerated, and said
        retry = gw.push(SOURCE, LPR, _variant(synthetic, failed_at))
        assert retry.status_code == 200 and retry.json()["delivery_id"] == delivery
        ctx = gw.runtime.context
        with ctx.store.unit_of_work() as uow:
            record = uow.get_delivery(delivery)
        assert record is not None and ctx.blobs.exists(record.blob_key)
        assert gw.push(SOURCE, LPR, _variant(synthetic, 99)).status_code == 201
        assert checkpoints.read_bytes().endswith(b"\n")
        assert len(gw.runtime.context.checkpointer.notes()) > notes_before
        assert verify(gw.runtime.context).ok
        assert "torn last line" in log_file.read_text()


def test_verify_reports_a_checkpoint_file_out_of_order(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    for n in range(3):
        gateway.push(SOURCE, LPR, _variant(synthetic, n))
    file = gateway.runtime.context.checkpointer.file
    lines = file.read_text().splitlines()
    file.write_text("\n".join([*lines[:-2], lines[-1], lines[-2]]) + "\n")
    result = verify(gateway.runtime.context)
    assert not result.ok and "follows a note of size" in (result.problem or "")
    file.write_text("\n".join([*lines[:1], "not json", *lines[1:]]) + "\n")
    result = verify(gateway.runtime.context)
    assert not result.ok and "line 2" in (result.problem or "")


def test_concurrent_writers_keep_the_file_in_order_and_verify_never_cries_wolf(
    gateway: Gateway, synthetic: Synthetic
) -> None:
    stop = threading.Event()
    verdicts: list[tuple[bool, str | None]] = []
    errors: list[str] = []

    def push(offset: int) -> None:
        for n in range(offset, offset + 8):
            r = gateway.push(SOURCE, LPR, _variant(synthetic, n))
            if r.status_code not in (200, 201):
                errors.append(r.text)

    def check() -> None:
        while not stop.is_set():
            result = verify(gateway.runtime.context)
            verdicts.append((result.ok, result.problem))

    checker = threading.Thread(target=check)
    pushers = [threading.Thread(target=push, args=(k * 100,)) for k in range(3)]
    checker.start()
    for t in pushers:
        t.start()
    for t in pushers:
        t.join()
    stop.set()
    checker.join()
    assert not errors
    assert verdicts and all(ok for ok, _ in verdicts), [p for ok, p in verdicts if not ok][:3]
    sizes = [
        int(json.loads(line)["note"].split("\n")[1])
        for line in gateway.runtime.context.checkpointer.file.read_text().splitlines()
    ]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)


def test_a_database_one_commit_behind_its_checkpoint_file_is_refused_at_start(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    data = tmp_path / "var"
    with running_gateway(data) as gw:
        assert gw.push(SOURCE, LPR, _variant(synthetic, 0)).status_code == 201
        copy = sqlite3.connect(tmp_path / "older.db")
        with sqlite3.connect(data / "gateway.db") as live:
            live.backup(copy)  # the database as of this commit
        copy.close()
        assert gw.push(SOURCE, LPR, _variant(synthetic, 1)).status_code == 201
    for suffix in ("", "-wal", "-shm"):
        (data / f"gateway.db{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "older.db", data / "gateway.db")
    with pytest.raises(IntegrityError) as refused:
        create_app(make_settings(data))
    assert "lost committed entries" in refused.value.detail
    # The synchronous setting that makes a commit durable before its note is written.
    with sqlite3.connect(tmp_path / "older.db") as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    with running_gateway(tmp_path / "fresh") as gw, gw.runtime.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_a_power_cut_between_commit_and_note_is_survived(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    """With a commit durable before its note is written, what a power cut can leave is a
    database that is at most ahead of the checkpoint file: the gateway starts, signs on, and
    the log verifies."""
    data = tmp_path / "var"
    with running_gateway(data) as gw:
        assert gw.push(SOURCE, LPR, _variant(synthetic, 0)).status_code == 201
        file = gw.runtime.context.checkpointer.file
        before = file.read_bytes()
        assert gw.push(SOURCE, LPR, _variant(synthetic, 1)).status_code == 201
    file.write_bytes(before)  # the last note never reached the disk
    with running_gateway(data) as gw:
        assert gw.push(SOURCE, LPR, _variant(synthetic, 2)).status_code == 201
        assert verify(gw.runtime.context).ok


def test_postgresql_stopped_answers_503_and_the_gateway_recovers(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    server = pg.start_or_skip()
    try:
        url = server.url(server.new_database())
        with running_gateway(tmp_path / "var", database_url=url) as gw:
            assert gw.push(SOURCE, LPR, _variant(synthetic, 0)).status_code == 201
            server.pause()
            ready = gw.client.get("/readyz")
            assert ready.status_code == 503 and ready.headers["Retry-After"]
            assert ready.json() == {
                "type": "/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": "the database or the keys are not available; retry later",
            }
            down = gw.push(SOURCE, LPR, _variant(synthetic, 1))
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            assert down.headers["Retry-After"]
            auditor = gw.auth("dpo@star.dk", Role.AUDITOR)
            assert gw.client.get("/v1/audit/entries", headers=auditor).status_code == 503
            server.resume()
            deadline = time.monotonic() + 30
            while gw.client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert gw.push(SOURCE, LPR, _variant(synthetic, 1)).status_code == 201
            assert verify(gw.runtime.context).ok
            log = gw.settings.log_file.read_text() if gw.settings.log_file else ""
            assert "Traceback" not in log
    finally:
        server.stop()
        # Connections the outage broke are dropped by the pool; collect them here, not in
        # whichever test the garbage collector happens to run in next.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs (root only: where it cannot be mounted the drill is skipped)."""
    mount = tmp_path / "volume"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_answers_507_and_recovers_when_space_returns(
    small_volume: Path, synthetic: Synthetic
) -> None:
    with running_gateway(small_volume / "var") as gw:
        assert gw.push(SOURCE, LPR, _variant(synthetic, 0)).status_code == 201
        filler = _fill(small_volume)
        statuses = {gw.push(SOURCE, LPR, _variant(synthetic, n)).status_code for n in (1, 2)}
        assert statuses == {507}, statuses
        filler.unlink()
        ctx = gw.runtime.context
        sweep(ctx.store, ctx.blobs, ctx.work)
        assert gw.push(SOURCE, LPR, _variant(synthetic, 1)).status_code == 201
        assert verify(ctx).ok
        partial = list(gw.settings.resolved_blobs_dir.rglob(".*"))
        assert partial == []
        for line in gw.runtime.context.checkpointer.file.read_bytes().splitlines():
            json.loads(line)


def test_a_stalled_upload_is_cut_off_and_frees_its_slot(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    server = Server(
        tmp_path / "var",
        {"GATEWAY_BODY_IDLE_SECONDS": "1", "GATEWAY_MAX_CONCURRENT_INGESTS": "1"},
    )
    server.start()
    try:
        token = server.token(SOURCE, Role.SOURCE)
        stalled = []
        for _ in range(4):  # four clients that open a push and send nothing
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(
                (
                    f"POST /v1/sources/{SOURCE}/datasets/{LPR}/deliveries?period=2016-11 HTTP/1.1"
                    f"\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000\r\n"
                    "\r\npartial"
                ).encode()
            )
            stalled.append(s)
        started = time.monotonic()
        r = httpx.post(
            f"{server.url}/v1/sources/{SOURCE}/datasets/{LPR}/deliveries",
            params={"period": "2016-11"},
            content=synthetic.bytes(LPR),
            headers=server.auth(SOURCE, Role.SOURCE),
            timeout=60,
        )
        assert r.status_code == 201, r.text
        assert time.monotonic() - started < 20
        for s in stalled:
            s.settimeout(10)
            answer = s.recv(4096).decode(errors="replace")
            assert answer.startswith("HTTP/1.1 408"), answer[:200]
            s.close()
        spool = [p for p in (server.data / "run").rglob("spool/*") if p.is_file()]
        assert spool == []
    finally:
        server.stop()


def test_a_dead_processs_spark_parts_are_swept_and_a_live_ones_kept(
    gateway: Gateway,
) -> None:
    """A gateway that died during a Spark job leaves the job's sealed parts in its folder;
    the sweep removes them (they never were a release), and never a live process's."""
    ctx = gateway.runtime.context
    spark_dir = ctx.engines.work_dir
    live = spark_dir / f"job-{ctx.work.token}-{'a' * 16}"
    dead = spark_dir / f"job-{'0' * 32}-{'b' * 16}"
    for folder in (live, dead):
        folder.mkdir(parents=True)
        (folder / "part-00000.gwb").write_bytes(b"GWB1 sealed")
    report = sweep(ctx.store, ctx.blobs, ctx.work, spark_dir)
    assert report.spark_jobs == 1 and not dead.exists() and live.is_dir()


def test_a_dead_processs_build_is_marked_interrupted_and_a_live_ones_left_running(
    gateway: Gateway,
) -> None:
    """A gateway that died while building a release leaves the build's row "running"; the
    sweep marks it interrupted (nothing of it was released), never a live process's."""
    from gateway.domain.builds import BuildRecord, BuildState

    ctx = gateway.runtime.context
    now = ctx.stamp()
    rows = {
        owner: BuildRecord(
            f"bld-{owner[:8]}",
            "ext-swept",
            "star-analyse",
            "spark",
            BuildState.RUNNING,
            now,
            now,
            owner,
        )
        for owner in (ctx.work.token, "0" * 32)
    }
    with ctx.store.unit_of_work() as uow:
        for record in rows.values():
            uow.put_build(record)
    report = sweep(ctx.store, ctx.blobs, ctx.work, ctx.engines.work_dir)
    with ctx.store.unit_of_work() as uow:
        states = {b.owner: b.state for b in uow.builds_of("ext-swept")}
    assert report.builds == 1
    assert states == {ctx.work.token: BuildState.RUNNING, "0" * 32: BuildState.INTERRUPTED}
