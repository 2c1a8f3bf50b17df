"""Following a release while it is built: its requester from the command line, approvers and
the DPO in the console.

A build's row is written when the engine is chosen, rewritten with Spark's progress (at most
twice a second) and once more when it ends. Progress is a convenience: a row that cannot be
written never stops the build (the release and its audit entry are what count). A build whose
process stopped is marked interrupted by the janitor, so no build stays "running" forever.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import structlog

from gateway.domain import identifiers
from gateway.domain.builds import BuildRecord, BuildState
from gateway.domain.permissions import authorize, reaches_all
from gateway.domain.principals import Principal
from gateway.services.context import Context

_log = structlog.get_logger("gateway.builds")
RECENT_SECONDS = 24 * 3600  # ended builds the console still shows
_EVERY = 0.5  # seconds between two progress rows


class BuildTracker:
    """Writes one build's row as it goes (see the module's docstring)."""

    def __init__(self, ctx: Context, *, extract_id: str, recipient: str) -> None:
        self._ctx = ctx
        now = ctx.stamp()
        self.record = BuildRecord(
            identifiers.new_id("bld"),
            extract_id,
            recipient,
            "local",
            BuildState.RUNNING,
            now,
            now,
            ctx.work.token,
        )
        self._written = 0.0

    def started(self, engine: str) -> None:
        self._put(engine=engine)

    def progress(self, done: int, total: int, jobs: int) -> None:
        """Spark's tasks finished of those planned so far, and its jobs finished."""
        if time.monotonic() - self._written < _EVERY:
            return
        try:
            self._put(tasks_done=done, tasks_total=total, jobs_done=jobs)
        except Exception as exc:  # a busy or absent database: the build goes on
            _log.warning("build progress not recorded", error_type=type(exc).__name__)

    def built(self, release_id: str) -> None:
        """After the release was recorded: a row that cannot be written now must not turn a
        made release into an error. The row then says "running" until this process stops
        (the janitor marks it interrupted); the release and its audit entry are the record."""
        total = self.record.tasks_total
        try:
            self._put(state=BuildState.BUILT, release_id=release_id, tasks_done=total)
        except Exception as exc:
            _log.warning("build's end not recorded", error_type=type(exc).__name__)

    def failed(self, note: str) -> None:
        try:
            self._put(state=BuildState.FAILED, note=note[:500])
        except Exception as exc:  # the failure itself is what the caller reports
            _log.warning("build failure not recorded", error_type=type(exc).__name__)

    def _put(self, **changes: object) -> None:
        record = dataclasses.replace(self.record, updated_at=self._ctx.stamp(), **changes)  # type: ignore[arg-type]
        with self._ctx.store.unit_of_work() as uow:
            uow.put_build(record)
        self.record = record
        self._written = time.monotonic()


def recent_builds(ctx: Context, *, by: Principal) -> list[BuildRecord]:
    """Builds running now and those that ended in the last day: all of them for approvers and
    the DPO, a recipient's own for a recipient."""
    authorize(by, "extract.list")
    since = ctx.clock() - dt.timedelta(seconds=RECENT_SECONDS)
    stamp = since.isoformat(timespec="microseconds").replace("+00:00", "Z")
    with ctx.store.unit_of_work() as uow:
        found = uow.recent_builds(stamp)
    if reaches_all(by, "extract.list"):
        return found
    return [b for b in found if b.recipient == by.subject]
