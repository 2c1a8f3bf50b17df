"""Verifying a stored log at the speed of hashing: the native kernel, fed by a reader thread.

:func:`verify_stored` checks what :func:`gateway.audit.verify.verify_log` checks (canonical
bodies at contiguous indexes, stored leaf hashes, the search columns against the hashed
bodies, every signed checkpoint's root, truncation, saved checkpoints, the subject index) and
two things more: the stored time column, and the level-0 tree nodes that the log's tiles are
served from. A reader thread streams, per entry, the body and one string holding every stored
copy of what the body says (leaf hash, level-0 node, type, actor, dataset, recipient, time:
``gateway.storage.sql_store.Snapshot.entry_rows``), so a row costs three Python objects; the
kernel (:mod:`gateway.audit._tlog_kernel`) checks each body's canonical form, index and copies,
hashes it and folds the tree with the GIL released, while the reader fetches the next batch. A
body the kernel cannot decide (a float, an escaped value) is checked here, exactly, in Python.

Without the kernel (no C compiler at install) the Python verifier is used instead.
"""

from __future__ import annotations

import importlib
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType

from gateway.audit.encoding import canonical_json
from gateway.audit.merkle import EMPTY_ROOT, leaf_hash, node_hash
from gateway.audit.verify import (
    VerifyResult,
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


SEP, NUL = "\x1f", "\x1e"  # between the stored copies in a row's meta string; a NULL
META = ("leaf hash", "level-0 node", "type", "actor", "dataset", "recipient", "time")
Batch = tuple[int, int, list[bytes], list[str]]  # first and last index, bodies, metas


def verify_stored(
    batches: Iterable[Batch],
    notes: Iterable[str],
    verifier: NoteVerifier,
    *,
    subjects: Iterable[tuple[int, list[bytes]]],
    since: Sequence[str] = (),
    subtree_for_proofs: Callable[[int], Callable[[int, int], bytes]] | None = None,
) -> VerifyResult:
    assert _native is not None
    reader = _Reader(batches)
    declared: dict[int, str] = {}
    state = bytearray(8 + 64 * 32)
    count, checked, last_good = 0, 0, 0
    roots: dict[int, bytes] = {}
    try:
        checkpoints = _checkpoints(dict.fromkeys([*notes, *since]), verifier)
        sizes = sorted(checkpoints)
        position = 0
        for first, last, bodies, metas in reader:
            if first != count or last != first + len(bodies) - 1:  # unique and ascending
                raise _Failure(
                    count,
                    f"the stored indexes from {count} are not contiguous "
                    "(an entry is missing, inserted or moved)",
                )
            leaves = _checked_leaves(first, bodies, metas, declared)
            end = first + len(bodies)
            wanted = []
            while position < len(sizes) and sizes[position] <= end:
                wanted.append(sizes[position])
                position += 1
            got = _native.fold(state, leaves, wanted)
            for i, at in enumerate(wanted):
                root = got[32 * i : 32 * i + 32]
                roots[at] = root
                if root != checkpoints[at].root:
                    raise _Failure(
                        last_good,
                        f"entries {last_good}..{at - 1} do not match the signed checkpoint "
                        f"for size {at}",
                    )
                last_good = at
                checked += 1
            count = end
        if position < len(sizes):
            raise _Failure(
                count,
                f"the log has {count} entries but a checkpoint for {sizes[-1]} entries was "
                "signed: entries were cut off",
            )
        _check_subjects(subjects, declared)
        root = _root(state, count)
        proven = prove_saved(since, verifier, count, root, subtree_for_proofs)
    except _Failure as failure:
        reader.stop()
        return VerifyResult(
            False, count, checked, _root(state, count).hex(), failure.index, failure.problem
        )
    return VerifyResult(True, count, checked, root.hex(), proven_since=proven)


def _checked_leaves(
    first: int, bodies: list[bytes], metas: list[str], declared: dict[int, str]
) -> bytes:
    """The batch's leaf hashes, every entry checked (natively, or here where the kernel
    defers); the subject digests the bodies declare go into ``declared``."""
    assert _native is not None
    out = bytearray(32 * len(bodies))
    flags = bytearray(len(bodies))
    done = 0
    while done < len(bodies):
        view, marks = memoryview(out)[32 * done :], memoryview(flags)[done:]
        passed, reason = _native.check_entries(
            bodies[done:], metas[done:], first + done, view, marks
        )
        done += passed
        if reason is None:
            break
        if reason != "defer":
            raise _Failure(first + done, reason)
        leaf, body = _python_check(first + done, bodies[done], metas[done])
        out[32 * done : 32 * done + 32] = leaf
        flags[done] = "subjects" in body
        done += 1
    position = flags.find(1)
    while position >= 0:  # only the entries that declare subjects are parsed here
        body = json.loads(bodies[position])
        declared[first + position] = str(body["subjects"].get("digest"))
        position = flags.find(1, position + 1)
    return bytes(out)


def _python_check(index: int, body: bytes, meta: str) -> tuple[bytes, dict[str, object]]:
    """The exact check of one entry that the kernel deferred."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise _Failure(index, "the stored body is not JSON") from None
    if canonical_json(parsed) != body:
        raise _Failure(index, "the stored body is not in canonical form")
    if not isinstance(parsed, dict) or parsed.get("index") != index:
        raise _Failure(index, "the hashed body says another index")
    stored = [None if v == NUL else v for v in meta.split(SEP)]
    leaf = leaf_hash(body)
    if len(stored) != len(META) or stored[0] != leaf.hex():
        raise _Failure(index, "the stored leaf hash does not match the body")
    refs = parsed.get("refs") or {}
    said = [parsed.get("type"), parsed.get("actor"), refs.get("dataset"), refs.get("recipient")]
    if stored[2:] != [*said, parsed.get("time")]:
        raise _Failure(index, "the stored search columns do not match the hashed body")
    if stored[1] != leaf.hex():
        raise _Failure(index, "the stored tree node does not match the entry's leaf hash")
    return leaf, parsed


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


def batches_of(rows: Iterable[Sequence[tuple[int, bytes, str]]]) -> Iterator[Batch]:
    """Batches of (index, body, meta) rows as the kernel takes them (columns)."""
    for batch in rows:
        if batch:
            _, bodies, metas = zip(*batch, strict=True)
            listed = list(bodies)
            if not isinstance(listed[0], bytes):  # a driver's memoryview
                listed = [bytes(b) for b in listed]
            yield batch[0][0], batch[-1][0], listed, list(metas)
