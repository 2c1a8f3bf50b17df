"""Audit log figures: append throughput (single and batched), verify time, inclusion proofs.

Baselines, measured in the same run on the same machine:
* append: inserting the same entry bytes into a plain SQLite table (no tree, no signature);
* verify: hashing every stored entry once with SHA-256 (the least any verifier must do);
* inclusion proof: one primary-key SELECT of an entry.

Verification is what ``gateway audit verify`` runs (the native kernel and the database's own
column checks on two threads, :mod:`gateway.audit.fast_verify`); proofs are computed from the
log's tiles, as the server serves them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway.audit import fast_verify
from gateway.audit.checkpointer import Checkpointer
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.merkle import inclusion_proof
from gateway.audit.tiles import TileCache, TileHashes
from gateway.audit.verify import verify_log
from gateway.crypto.notes import NoteSigner, NoteVerifier
from gateway.storage.sql_store import SqlStore

SIGNER = NoteSigner.from_seed("bench.local/audit", b"\x11" * 32)


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        EventType.DELIVERY_ACCEPTED,
        "sundhedsdatastyrelsen[source]",
        {"dataset": "lpr", "delivery": f"dlv-{i:08d}", "period": "2016-11"},
        {"rows": 1000 + i % 997, "sha256": hashlib.sha256(str(i).encode()).hexdigest()},
    )


def _store(folder: Path) -> SqlStore:
    return SqlStore.open(
        f"sqlite:///{folder / 'audit.db'}", Checkpointer(SIGNER, folder / "checkpoints.jsonl")
    )


def _append(store: SqlStore, start: int, count: int, batch: int) -> float:
    began = time.perf_counter()
    done = 0
    while done < count:
        n = min(batch, count - done)
        with store.unit_of_work() as uow:
            for i in range(n):
                uow.append_audit(_event(start + done + i))
        done += n
    return time.perf_counter() - began


def _baseline_insert(folder: Path, bodies: list[bytes], batch: int) -> float:
    conn = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (idx INTEGER PRIMARY KEY, body BLOB)")
    began = time.perf_counter()
    for start in range(0, len(bodies), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?)",
            [(start + i, b) for i, b in enumerate(bodies[start : start + batch])],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


def run(entries: int = 1_000_000, single: int = 2_000, batch: int = 10_000) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        folder = Path(tmp)
        store = _store(folder)
        single_s = _append(store, 0, single, 1)
        bodies = [e.body for e in store.audit_entries()]
        base_single = _baseline_insert(folder, bodies, 1)
        rows.append(
            _row(
                "append, one entry per transaction (signed checkpoint each)",
                single / single_s,
                "entries/s",
                single / base_single,
            )
        )
        print(
            f"  appending {entries - single:,} more entries in batches of {batch:,} ...", flush=True
        )
        batched_s = _append(store, single, entries - single, batch)
        all_bodies = [e.body for e in store.audit_entries()]
        os.remove(folder / "baseline.db")
        base_batched = _baseline_insert(folder, all_bodies[single:], batch)
        rows.append(
            _row(
                f"append, batches of {batch:,} (one checkpoint per batch)",
                (entries - single) / batched_s,
                "entries/s",
                (entries - single) / base_batched,
            )
        )

        verifier = NoteVerifier.from_vkey(SIGNER.vkey)
        began = time.perf_counter()
        result = _verify(store, verifier)  # what 'gateway audit verify' runs
        verify_s = time.perf_counter() - began
        assert result.ok, result.problem
        began = time.perf_counter()
        for body in all_bodies:
            hashlib.sha256(b"\x00" + body).digest()
        hash_s = time.perf_counter() - began
        rows.append(
            {
                "figure": f"verify {entries:,} entries, {result.checkpoints:,} checkpoints "
                f"(kernel: {fast_verify.KERNEL})",
                "value": round(verify_s, 2),
                "unit": "s",
                "baseline": round(hash_s, 2),
                "ratio": round(verify_s / hash_s, 1),
                "target": "time <= 5 x the bare SHA-256 pass",
                "holds": verify_s <= 5 * hash_s,
            }
        )

        size = store.audit_size()
        samples = []
        tiles = TileCache(4096)  # as the server keeps them (gateway.services.context)
        for i in range(200):
            index = (i * 7919) % size
            began = time.perf_counter()
            inclusion_proof(TileHashes(store.read_tile, size, tiles), index, size)
            samples.append(time.perf_counter() - began)
        conn = sqlite3.connect(folder / "audit.db")
        base = []
        for i in range(200):
            began = time.perf_counter()
            conn.execute("SELECT body FROM audit_entries WHERE idx = ?", ((i * 7919) % size,))
            base.append(time.perf_counter() - began)
        conn.close()
        p50 = statistics.median(samples) * 1000
        rows.append(
            {
                "figure": f"inclusion proof in a tree of {size:,}, from tiles (p50, 200 "
                "entries spread over the log, tiles read from the database on first use)",
                "value": round(p50, 3),
                "unit": "ms",
                "baseline": round(statistics.median(base) * 1000, 3),
                "ratio": round(p50 / (statistics.median(base) * 1000), 1),
                "target": "p50 <= 1 ms",
                "holds": p50 <= 1.0,
            }
        )
        store.dispose()
    return rows


def _verify(store: SqlStore, verifier: NoteVerifier) -> Any:
    notes = [*store.checkpoint_notes(), *store.checkpointer.notes()]  # type: ignore[union-attr]
    with store.snapshot() as snap:
        if not fast_verify.available():
            return verify_log(
                snap.audit_entries(), notes, verifier, subjects=snap.subjects_by_entry()
            )
        return fast_verify.verify_stored(
            snap.entry_rows(),
            snap.level0_nodes,
            notes,
            verifier,
            subjects=snap.subjects_by_entry(),
        )


def _row(figure: str, value: float, unit: str, baseline: float) -> dict[str, Any]:
    """A throughput figure; ratio = value / baseline (1.0 = as fast as the bare baseline)."""
    return {
        "figure": figure,
        "value": round(value),
        "unit": unit,
        "baseline": round(baseline),
        "ratio": round(value / baseline, 4),
    }
