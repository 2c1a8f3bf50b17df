"""How a release's Spark job goes, read from Spark's status tracker while it runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Progress = Callable[[int, int, int], None]


class Watch:
    """Tells ``report`` how a job group's Spark jobs go (tasks finished, tasks planned, jobs
    finished), every half second while it runs and once at its end, from a daemon thread
    that reads Spark's status tracker."""

    def __init__(self, context: Any, group: str, report: Progress | None) -> None:
        self._context = context
        self._group = group
        self._report = report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spark-progress", daemon=True)

    def __enter__(self) -> Watch:
        if self._report is not None:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._report is not None:
            self._stop.set()
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._tell()
        self._tell()

    def _tell(self) -> None:
        assert self._report is not None
        try:
            tracker = self._context.statusTracker()
            done = planned = finished = 0
            for job in tracker.getJobIdsForGroup(self._group):
                info = tracker.getJobInfo(job)
                if info is None:
                    continue
                finished += info.status == "SUCCEEDED"
                for stage in info.stageIds:
                    found = tracker.getStageInfo(stage)
                    if found is not None:
                        done += found.numCompletedTasks
                        planned += found.numTasks
            self._report(done, planned, finished)
        except Exception:
            return
