"""The sweep: remove what crashed or failed work left behind, and say what was removed.

Run at start-up and then periodically by every server process (and by ``gateway`` commands
that open the runtime). It removes, for processes that are gone (their work lease is free, see
:mod:`gateway.storage.work_area`):

* sealed spool files of request bodies;
* partly written blob files (``.partial``);
* blobs written for an operation whose record was never committed, found through the
  operation's marker; a blob is deleted only after the database says no record refers to it;

and, for this process, the blobs of operations that failed (``abandon``) once the database can
answer. Each sweep that removes anything logs one line with the counts; a sweep that cannot
reach the database leaves everything for the next one.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from gateway.engines import job_owner
from gateway.ports import BlobStore, Store, WorkArea

log = structlog.get_logger("gateway.janitor")
FORGET_SESSIONS = 7 * 86400  # ended console sessions' rows are kept a week, then forgotten


@dataclass
class SweepReport:
    owners: int = 0  # dead processes whose leftovers were cleaned
    spool_files: int = 0
    partial_files: int = 0
    spark_jobs: int = 0  # folders of sealed parts left by a Spark job whose process died
    orphan_blobs: list[str] = field(default_factory=list)
    kept_blobs: int = 0  # marked, but committed: kept
    sessions: int = 0  # console sessions that ended or expired a week ago, forgotten
    builds: int = 0  # release builds whose process stopped, marked interrupted

    @property
    def removed_anything(self) -> bool:
        return bool(
            self.owners
            or self.spool_files
            or self.partial_files
            or self.orphan_blobs
            or self.spark_jobs
            or self.builds
        )


def _settle_marked(store: Store, blobs: BlobStore, key: str, report: SweepReport) -> None:
    if store.blob_referenced(key):
        report.kept_blobs += 1
    elif blobs.exists(key):
        blobs.delete(key)
        report.orphan_blobs.append(key)


def sweep(
    store: Store, blobs: BlobStore, work: WorkArea, spark_dir: Path | None = None
) -> SweepReport:
    """One pass; raises (leaving everything in place) if the database does not answer."""
    report = SweepReport()
    for token in work.dead_tokens():
        with work.dead_owner(token) as owner:
            if owner is None:
                continue
            for key in owner.markers:
                _settle_marked(store, blobs, key, report)
            report.owners += 1
            report.spool_files += owner.spool_files
    for key in work.abandoned_keys():
        _settle_marked(store, blobs, key, report)
        work.forget_abandoned(key)
    live = work.live_tokens()
    with store.unit_of_work() as uow:
        report.sessions = uow.forget_sessions(time.time() - FORGET_SESSIONS)
        # The gateway's processes share this work area: a build whose process holds no lease
        # here stopped with it, and nothing of it was released.
        now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        report.builds = uow.interrupt_builds(live, now)
    for path, token in blobs.partials():
        if token not in live:
            path.unlink(missing_ok=True)
            report.partial_files += 1
    if spark_dir is not None and spark_dir.is_dir():
        for folder in spark_dir.iterdir():  # a dead process's Spark parts: sealed, never a release
            ran_by = job_owner(folder)
            if ran_by is not None and ran_by not in live:
                shutil.rmtree(folder, ignore_errors=True)
                report.spark_jobs += 1
    if report.removed_anything:
        log.warning(
            "removed what interrupted work left behind",
            processes=report.owners,
            spool_files=report.spool_files,
            partial_blob_files=report.partial_files,
            spark_job_folders=report.spark_jobs,
            interrupted_builds=report.builds,
            uncommitted_blobs=len(report.orphan_blobs),
            blobs=report.orphan_blobs[:20],
            committed_blobs_kept=report.kept_blobs,
        )
    return report


class Janitor:
    """Sweeps at start and then every ``interval`` seconds on a daemon thread."""

    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        work: WorkArea,
        interval: float,
        spark_dir: Path | None = None,
    ) -> None:
        self._args = (store, blobs, work, spark_dir)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep_once(self) -> SweepReport | None:
        try:
            return sweep(*self._args)
        except Exception as exc:  # the database or the volume is away: next time
            log.warning("sweep postponed", error_type=type(exc).__name__)
            return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="janitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sweep_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
