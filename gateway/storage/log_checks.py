"""The queries that feed the verification kernel (``gateway.audit.fast_verify``): each batch
of ``audit_entries`` rows as the driver returns them, and the same indexes' level-0 tree nodes
(what the tiles are served from) as one concatenated value.

The search columns, the stored leaf hash and the level-0 node are copies of what the hashed
body says; the kernel compares every one of them (an edited column hides an entry from a
search; an edited node serves a wrong tile).
"""

from __future__ import annotations

_NODES = {
    "sqlite": "SELECT CAST(group_concat(hash, '') AS BLOB) FROM (SELECT hash FROM audit_nodes "
    "WHERE level = 0 AND idx >= {m} AND idx <= {m} ORDER BY idx)",
    "postgresql": "SELECT string_agg(hash, ''::bytea ORDER BY idx) FROM audit_nodes "
    "WHERE level = 0 AND idx >= {m} AND idx <= {m}",
}


def _marker(paramstyle: str) -> str:
    return "?" if paramstyle == "qmark" else "%s"


def entry_rows_sql(paramstyle: str, batch: int) -> str:
    """Every column, in the table's order (that of ``AuditEntry``)."""
    columns = "idx, recorded_at, event_type, actor, dataset, recipient, body, leaf_hash"
    where = f"idx >= {_marker(paramstyle)} ORDER BY idx LIMIT {int(batch)}"  # no input
    return f"SELECT {columns} FROM audit_entries WHERE {where}"  # noqa: S608


def level0_nodes_sql(dialect: str, paramstyle: str) -> str:
    return _NODES[dialect].format(m=_marker(paramstyle))
