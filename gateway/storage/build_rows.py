"""Rows of releases being built (:class:`gateway.domain.builds.BuildRecord`)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, select, update

from gateway.domain.builds import BuildRecord, BuildState
from gateway.storage import tables as t

_COLUMNS = (
    "id",
    "extract_id",
    "recipient",
    "engine",
    "state",
    "started_at",
    "updated_at",
    "owner",
    "tasks_done",
    "tasks_total",
    "jobs_done",
    "release_id",
    "note",
)


def _record(row: object) -> BuildRecord:
    values = dict(zip(_COLUMNS, row, strict=True))  # type: ignore[call-overload]
    values["state"] = BuildState(values["state"])
    return BuildRecord(**values)


def put(conn: Connection, record: BuildRecord) -> None:
    """Write the build's row (its first, or its newest state)."""
    values = {c: getattr(record, c) for c in _COLUMNS}
    values["state"] = record.state.value
    done = conn.execute(
        update(t.release_builds).where(t.release_builds.c.id == record.id).values(**values)
    )
    if not done.rowcount:
        conn.execute(t.release_builds.insert().values(**values))


def of_extract(conn: Connection, extract_id: str) -> list[BuildRecord]:
    """The specification's builds, newest first."""
    c = t.release_builds.c
    rows = conn.execute(
        select(*(c[n] for n in _COLUMNS))
        .where(c.extract_id == extract_id)
        .order_by(c.started_at.desc(), c.id.desc())
    )
    return [_record(r) for r in rows]


def recent(conn: Connection, since: str) -> list[BuildRecord]:
    """Builds running now, and those that ended since ``since``, newest first."""
    c = t.release_builds.c
    rows = conn.execute(
        select(*(c[n] for n in _COLUMNS))
        .where((c.state == BuildState.RUNNING.value) | (c.updated_at >= since))
        .order_by(c.started_at.desc(), c.id.desc())
    )
    return [_record(r) for r in rows]


def interrupt(conn: Connection, live: Collection[str], at: str) -> int:
    """Mark running builds whose process is gone (its token not in ``live``) interrupted."""
    c = t.release_builds.c
    done = conn.execute(
        update(t.release_builds)
        .where(c.state == BuildState.RUNNING.value, c.owner.not_in(list(live)))
        .values(state=BuildState.INTERRUPTED.value, updated_at=at)
    )
    return int(done.rowcount or 0)
