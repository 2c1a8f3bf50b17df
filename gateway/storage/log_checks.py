"""The query that feeds the verification kernel: each entry's body, and every stored copy of
what the body says, in one string (``gateway.audit.fast_verify``).

The search columns of ``audit_entries`` (type, actor, dataset, recipient, time), its stored
leaf hash and the level-0 node the tiles are served from are copies of what the hashed body
says; the verifier must find any that differ (an edited column hides an entry from a search;
an edited node serves a wrong tile). Joining them into one string per row in the database
costs three Python objects per entry instead of nine.
"""

from __future__ import annotations

_META = {
    "sqlite": (
        "e.leaf_hash || char(31) || lower(hex(n.hash)) || char(31) || e.event_type"
        " || char(31) || e.actor || char(31) || coalesce(e.dataset, char(30)) || char(31)"
        " || coalesce(e.recipient, char(30)) || char(31) || e.recorded_at"
    ),
    "postgresql": (
        "e.leaf_hash || chr(31) || coalesce(encode(n.hash, 'hex'), '') || chr(31)"
        " || e.event_type || chr(31) || e.actor || chr(31) || coalesce(e.dataset, chr(30))"
        " || chr(31) || coalesce(e.recipient, chr(30)) || chr(31) || e.recorded_at"
    ),
}


def entry_rows_sql(dialect: str, paramstyle: str, batch: int) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"
    return (
        f"SELECT e.idx, e.body, {_META[dialect]} FROM audit_entries e "  # noqa: S608
        "LEFT JOIN audit_nodes n ON n.level = 0 AND n.idx = e.idx "
        f"WHERE e.idx >= {marker} ORDER BY e.idx LIMIT {int(batch)}"  # constants only
    )
