"""The audit log's tiles, entry bundles, historical checkpoints and cosignatures, read from
the tables the log already keeps.

Every complete subtree is stored in ``audit_nodes``, so a tile at level ``L`` is one range
read of the hashes at tree level ``8 * L``, and an entry bundle one range read of entries.
Both are served only within the committed log (a tile cut short means the tile does not
exist yet), and a tile's bytes never change once they exist.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from gateway.audit.tiles import HASH, HEIGHT, WIDTH, Tile, encode_bundle
from gateway.errors import NotFound
from gateway.storage import tables as t


def read_tile(conn: Connection, tile: Tile) -> bytes:
    """The tile's bytes (hashes, or an entry bundle); :class:`NotFound` if the log does not
    (yet) hold all of it."""
    first = tile.index * WIDTH
    last = first + tile.width - 1
    if tile.entries:
        e = t.audit_entries.c
        query = select(e.body).where(e.idx >= first, e.idx <= last).order_by(e.idx)
        rows = [bytes(r) for r in conn.execute(query).scalars()]
        if len(rows) != tile.width:
            raise NotFound(f"no entry bundle {tile.path()} in the log")
        return encode_bundle(rows)
    n = t.audit_nodes.c
    level = HEIGHT * tile.level
    query = select(n.hash).where(n.level == level, n.idx >= first, n.idx <= last).order_by(n.idx)
    hashes = [bytes(r) for r in conn.execute(query).scalars()]
    if len(hashes) != tile.width or any(len(h) != HASH for h in hashes):
        raise NotFound(f"no tile {tile.path()} in the log")
    return b"".join(hashes)


def checkpoint_at(conn: Connection, size: int) -> str | None:
    c = t.audit_checkpoints.c
    return conn.execute(select(c.note).where(c.size == size)).scalar()


def cosignatures(conn: Connection, size: int) -> list[tuple[str, str]]:
    """(witness, signature line) recorded for the checkpoint of ``size``."""
    c = t.audit_cosignatures.c
    rows = conn.execute(select(c.witness, c.line).where(c.size == size).order_by(c.witness))
    return [(r.witness, r.line) for r in rows]


def latest_cosigned(conn: Connection, witness: str) -> int:
    """The largest size ``witness`` cosigned (0: never)."""
    c = t.audit_cosignatures.c
    size = conn.execute(
        select(c.size).where(c.witness == witness).order_by(c.size.desc()).limit(1)
    ).scalar()
    return int(size) if size is not None else 0


def cosigned_sizes(conn: Connection, at_least: int, limit: int) -> list[int]:
    """The largest checkpoint sizes (at least ``at_least``) that any witness cosigned."""
    c = t.audit_cosignatures.c
    query = (
        select(c.size)
        .where(c.size >= at_least)
        .group_by(c.size)
        .order_by(c.size.desc())
        .limit(limit)
    )
    return [int(s) for s in conn.execute(query).scalars()]


def add_cosignature(conn: Connection, size: int, witness: str, line: str, at: str) -> None:
    c = t.audit_cosignatures.c
    exists = conn.execute(select(c.size).where(c.size == size, c.witness == witness)).first()
    if exists is None:
        conn.execute(
            insert(t.audit_cosignatures).values(
                size=size, witness=witness, line=line, recorded_at=at
            )
        )
