"""The background subject indexer: moves large entries' subject keys into the lookup index.

A delivery's receipt does not wait for its persons to be written one B-tree row each (see
:mod:`gateway.storage.subject_index`); this thread does that afterwards, one short transaction
per chunk, so a push's SQLite write lock is held for milliseconds, not a second. Lookups are
complete whether or not it has caught up; it only makes them cheaper. It is woken after every
accepted delivery and also looks on its own every ``interval`` seconds (another process may
have written the set, or this one may have restarted).
"""

from __future__ import annotations

import threading

import structlog

from gateway.ports import Store

log = structlog.get_logger("gateway.subject-indexer")


class SubjectIndexer:
    def __init__(self, store: Store, interval: float = 5.0) -> None:
        self._store = store
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.moved = 0  # keys indexed since start (for tests and metrics)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="subject-indexer", daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """A delivery was accepted: look for work now."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the chunk in hand and stop (what is left is picked up at the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and (moved := self._store.index_subjects()):
                    self.moved += moved
            except Exception as exc:  # a database hiccup must not kill the thread; retry later
                log.warning("subject indexing postponed", error_type=type(exc).__name__)
            self._wake.wait(self._interval)
            self._wake.clear()
