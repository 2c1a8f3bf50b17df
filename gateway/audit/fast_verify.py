"""Verifying a stored log at the speed of hashing: the native kernel, fed by a reader thread.

:func:`verify_stored` checks what :func:`gateway.audit.verify.verify_log` checks (canonical
bodies at contiguous indexes, stored leaf hashes, the search columns against the hashed
bodies, every signed checkpoint's root, truncation, saved checkpoints, the subject index) and
two things more: the stored time column, and the level-0 tree nodes that the log's tiles are
served from. The work is spread so that reading rows, the slowest part, never waits:

* a reader thread fetches ``audit_entries`` rows as the driver returns them (plain tuples;
  SQLite hands text over as bytes);
* this thread fetches the same indexes' level-0 nodes as one value on a connection of its
  own, and hands rows and nodes to the kernel (:mod:`gateway.audit._tlog_kernel`), which
  checks each body's canonical form, index and stored copies, hashes it and folds the tree
  with the GIL released;
* a third thread checks the checkpoints' signatures (Ed25519 releases the GIL too); its
  verdict comes first, as in the Python verifier.

A body the kernel cannot decide (a float, an escaped value) is checked here, exactly, by the
Python verifier's own function. Without the kernel (no C compiler at install) the Python
verifier is used instead.
"""

from __future__ import annotations

import importlib
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.events import AuditEntry
from gateway.audit.merkle import EMPTY_ROOT, node_hash
from gateway.audit.verify import (
    VerifyResult,
    _check_entry,
    _check_subjects,
    _checkpoints,
    _Failure,
    prove_saved,
)
from gateway.crypto.notes import NoteVerifier

_native: ModuleType | None
try:  # built by pip install from _tlog_kernel.c when a C compiler is present
    _native = importlib.import_module("gateway.audit._tlog_kernel")
except ImportError:  # pragma: no cover - depends on the build machine
    _native = None

KERNEL = "native (OpenSSL SHA-256)" if _native else "python"


def available() -> bool:
    return _native is not None


Row = tuple[int, str, str, str, str | None, str | None, bytes, str]  # audit_entries' columns
Batch = list[Row]  # rows in index order


def verify_stored(
    batches: Iterable[Batch],
    nodes_of: Callable[[int, int], bytes],
    notes: Iterable[str],
    verifier: NoteVerifier,
    *,
    subjects: Iterable[tuple[int, list[bytes]]],
    since: Sequence[str] = (),
    subtree_for_proofs: Callable[[int], Callable[[int, int], bytes]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    assert _native is not None
    reader = _Reader(batches)
    unique = list(dict.fromkeys([*notes, *since]))
    signatures = _Signatures(unique, verifier)  # checked on the other core meanwhile
    declared: dict[int, str] = {}
    state = bytearray(8 + 64 * 32)
    count, checked, last_good = 0, 0, 0
    try:
        claimed = _claimed_roots(unique)
        sizes = sorted(claimed)
        position = 0
        for rows in reader:
            first = count
            nodes = nodes_of(first, first + len(rows) - 1)  # while the reader reads on
            leaves = _checked_leaves(first, rows, nodes, declared)
            end = first + len(rows)
            wanted = []
            while position < len(sizes) and sizes[position] <= end:
                wanted.append(sizes[position])
                position += 1
            got = _native.fold(state, leaves, wanted)
            for i, at in enumerate(wanted):
                if got[32 * i : 32 * i + 32] not in claimed[at]:
                    raise _Failure(
                        last_good,
                        f"entries {last_good}..{at - 1} do not match the signed checkpoint "
                        f"for size {at}",
                    )
                last_good = at
                checked += 1
            count = end
            if progress is not None:
                progress(len(rows))
        if position < len(sizes):
            raise _Failure(
                count,
                f"the log has {count} entries but a checkpoint for {sizes[-1]} entries was "
                "signed: entries were cut off",
            )
        signatures.result()  # a note that does not verify outranks what its root showed
        _check_subjects(subjects, declared)
        root = _root(state, count)
        proven = prove_saved(since, verifier, count, root, subtree_for_proofs)
    except _Failure as failure:
        reader.stop()
        reported = failure
        try:
            signatures.result()
        except _Failure as unsigned:  # reported first, as the Python verifier does
            reported = unsigned
        return VerifyResult(
            False, count, checked, _root(state, count).hex(), reported.index, reported.problem
        )
    return VerifyResult(True, count, checked, root.hex(), proven_since=proven)


def _claimed_roots(notes: list[str]) -> dict[int, set[bytes]]:
    """The roots the notes state per size, before their signatures are checked (by
    :class:`_Signatures`, whose verdict comes first): a note that does not parse is left to
    it."""
    claimed: dict[int, set[bytes]] = {}
    for note in notes:
        try:
            checkpoint = Checkpoint.parse(note.rpartition("\n\n")[0] + "\n")
        except ValueError:
            continue
        claimed.setdefault(checkpoint.size, set()).add(checkpoint.root)
    return claimed


class _Signatures:
    """Every checkpoint's signature, origin and uniqueness, checked by the Python verifier's
    own function in a thread (Ed25519 verification releases the GIL)."""

    def __init__(self, notes: list[str], verifier: NoteVerifier) -> None:
        self._failure: _Failure | None = None
        self._thread = threading.Thread(target=self._run, args=(notes, verifier), daemon=True)
        self._thread.start()

    def _run(self, notes: list[str], verifier: NoteVerifier) -> None:
        try:
            _checkpoints(notes, verifier)
        except _Failure as failure:
            self._failure = failure

    def result(self) -> None:
        self._thread.join()
        if self._failure is not None:
            raise self._failure


def _checked_leaves(first: int, rows: list[Row], nodes: bytes, declared: dict[int, str]) -> bytes:
    """The batch's leaf hashes, every entry checked (natively, or here where the kernel
    defers); the subject digests the bodies declare go into ``declared``."""
    assert _native is not None
    out = bytearray(32 * len(rows))
    flags = bytearray(len(rows))
    done = 0
    while done < len(rows):
        view, marks = memoryview(out)[32 * done :], memoryview(flags)[done:]
        passed, reason = _native.check_entries(
            rows[done:], first + done, nodes[32 * done :], view, marks
        )
        done += passed
        if reason is None:
            break
        if reason != "defer":
            raise _Failure(first + done, _REASONS.get(reason, reason))
        node = nodes[32 * done : 32 * done + 32]
        leaf, body = _python_check(first + done, rows[done], node)
        out[32 * done : 32 * done + 32] = leaf
        flags[done] = "subjects" in body
        done += 1
    position = flags.find(1)
    while position >= 0:  # only the entries that declare subjects are parsed here
        parsed = json.loads(rows[position][6])
        declared[first + position] = str(parsed["subjects"].get("digest"))
        position = flags.find(1, position + 1)
    return bytes(out)


_REASONS = {
    "the stored indexes are not contiguous": "the stored indexes are not contiguous (an entry "
    "is missing, inserted or moved)"
}


def _python_check(index: int, row: Row, node: bytes) -> tuple[bytes, dict[str, Any]]:
    """The exact check of one entry that the kernel deferred: the Python verifier's, and the
    time column and the level-0 node besides."""
    try:  # SQLite hands text columns over as bytes (text_factory), to spare a decode per value
        columns: list[Any] = [
            v.decode() if isinstance(v, bytes) and i != 6 else v for i, v in enumerate(row)
        ]
    except UnicodeDecodeError:
        raise _Failure(index, "the stored search columns do not match the hashed body") from None
    entry = AuditEntry(*columns)
    body = _check_entry(entry, index)
    if body.get("time") != entry.recorded_at:
        raise _Failure(index, "the stored search columns do not match the hashed body")
    leaf = bytes.fromhex(entry.leaf_hash)
    if node != leaf:
        raise _Failure(index, "the stored tree node does not match the entry's leaf hash")
    return leaf, body


class _Reader:
    """Batches fetched by a thread of their own, two ahead, while the kernel works."""

    def __init__(self, batches: Iterable[Batch]) -> None:
        self._queue: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(batches,), daemon=True)
        self._thread.start()

    def _run(self, batches: Iterable[Batch]) -> None:
        try:
            for batch in batches:
                while not self._stopped.is_set():
                    try:
                        self._queue.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stopped.is_set():
                    return
            self._queue.put(None)
        except BaseException as exc:  # raised in the consumer
            self._queue.put(exc)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._stopped.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                continue


def _root(state: bytearray, count: int) -> bytes:
    """The root of the ``count`` leaves folded into ``state`` (its compact range)."""
    if count == 0:
        return EMPTY_ROOT
    k = bin(count).count("1")
    hashes = [bytes(state[8 + 32 * i : 8 + 32 * i + 32]) for i in range(k)]
    root = hashes[-1]
    for h in reversed(hashes[:-1]):
        root = node_hash(h, root)
    return root
