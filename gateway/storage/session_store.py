"""Console sessions' rows. The browser's cookie holds only a random id; the row, found by the
id's SHA-256, says whose session it is, until when, and whether it has ended (and why)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, select, update

from gateway.domain.records import SessionRecord
from gateway.storage import tables as t

_COLUMNS = (
    "id_hash",
    "principal",
    "roles",
    "created_at",
    "last_seen_at",
    "expires_at",
    "sealed",
    "ended_at",
    "end_reason",
)


def add(conn: Connection, record: SessionRecord) -> None:
    conn.execute(t.console_sessions.insert().values(**{c: getattr(record, c) for c in _COLUMNS}))


def get(conn: Connection, id_hash: str) -> SessionRecord | None:
    row = conn.execute(
        select(*(t.console_sessions.c[c] for c in _COLUMNS)).where(
            t.console_sessions.c.id_hash == id_hash
        )
    ).first()
    return None if row is None else SessionRecord(*row)


def touch(conn: Connection, id_hash: str, *, sealed: str, seen: float, expires: float) -> None:
    """Write the session's state back (only while it has not ended)."""
    c = t.console_sessions.c
    conn.execute(
        update(t.console_sessions)
        .where(c.id_hash == id_hash, c.ended_at.is_(None))
        .values(sealed=sealed, last_seen_at=seen, expires_at=expires)
    )


def end(
    conn: Connection,
    *,
    at: float,
    reason: str,
    id_hash: str | None = None,
    principal: str | None = None,
    organisation: str | None = None,
) -> list[str]:
    """End the live sessions that match (one by id, a person's, an organisation's, or all
    when nothing is named); returns the principals whose sessions ended."""
    c = t.console_sessions.c
    where: list[ColumnElement[bool]] = [c.ended_at.is_(None), c.principal.is_not(None)]
    if id_hash is not None:
        where = [c.ended_at.is_(None), c.id_hash == id_hash]
    if principal is not None:
        where.append(c.principal == principal)
    if organisation is not None:
        where.append(c.principal.like(f"{organisation}/%"))
    ended = [
        row.principal or ""
        for row in conn.execute(select(c.principal).where(*where).with_for_update())
    ]
    conn.execute(update(t.console_sessions).where(*where).values(ended_at=at, end_reason=reason))
    return ended


def live(conn: Connection, now: float) -> list[SessionRecord]:
    c = t.console_sessions.c
    rows = conn.execute(
        select(*(c[x] for x in _COLUMNS))
        .where(c.ended_at.is_(None), c.principal.is_not(None), c.expires_at > now)
        .order_by(c.created_at)
    )
    return [SessionRecord(*r) for r in rows]


def forget(conn: Connection, before: float) -> int:
    """Delete rows that ended, or expired, before ``before`` (the janitor's sweep)."""
    c = t.console_sessions.c
    gone = t.console_sessions.delete().where(
        ((c.ended_at.is_not(None)) & (c.ended_at < before)) | (c.expires_at < before)
    )
    return int(conn.execute(gone).rowcount or 0)
