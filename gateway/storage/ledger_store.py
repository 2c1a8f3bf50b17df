"""The disclosure ledger's rows: every cell of every released table, read back by source.

Kept apart from the rest of the unit of work because it is one bounded concern with its own
shape (bulk rows of numbers, read back as numpy arrays for vectorised comparison). Upper
bounds are stored as -1 where a cell was hidden (no bound); rows recorded before migration
0012 have no bounds and were published exact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, select

from gateway.domain.disclosure.ledger import SLOTS, LedgerCells, LedgerTable
from gateway.storage import tables as t
from gateway.storage.dialects import insert_many

LEDGER_COLUMNS = (
    "release_id",
    "source",
    "cell",
    "recipient",
    "key",
    "label0",
    "label1",
    "label2",
    "label3",
    "first_month",
    "last_month",
    "persons",
    "table_name",
    "basis",
    "scope",
    "lower",
    "upper",
)
NO_BOUND = -1.0


def add_table(conn: Connection, recipient: str, table: LedgerTable) -> None:
    """Record one released table: its place and every cell."""
    conn.execute(
        t.ledger_tables.insert().values(
            release_id=table.release_id,
            table_name=table.name,
            source=table.source,
            basis=table.basis,
            scope=table.scope,
            recipient=recipient,
            shape=json.dumps(list(table.shape)),
        )
    )
    cells = table.cells
    n = len(cells)
    if not n:
        return
    upper = np.where(np.isinf(cells.upper), NO_BOUND, cells.upper)
    rows = list(
        zip(
            [table.release_id] * n,
            [table.source] * n,
            range(n),
            [recipient] * n,
            cells.keys.tolist(),
            *(cells.labels[:, slot].tolist() for slot in range(SLOTS)),
            cells.first.tolist(),
            cells.last.tolist(),
            cells.persons.tolist(),
            [table.name] * n,
            [table.basis] * n,
            [table.scope] * n,
            cells.lower.tolist(),
            upper.tolist(),
            strict=True,
        )
    )
    insert_many(conn, "release_ledger", LEDGER_COLUMNS, rows)


def _cells(rows: Sequence[object]) -> LedgerCells:
    if not rows:
        return LedgerCells.empty()
    ints = np.array([r[:8] for r in rows], np.int64)  # type: ignore[index]
    persons = ints[:, 7].astype(np.float64)
    lower = np.array([np.nan if r[8] is None else r[8] for r in rows], np.float64)  # type: ignore[index]
    upper = np.array([np.nan if r[9] is None else r[9] for r in rows], np.float64)  # type: ignore[index]
    legacy = np.isnan(lower)
    lower = np.where(legacy, persons, lower)
    upper = np.where(legacy, persons, np.where(upper == NO_BOUND, np.inf, upper))
    return LedgerCells(ints[:, 0], ints[:, 1:5], ints[:, 5], ints[:, 6], ints[:, 7], lower, upper)


def _columns() -> list[object]:
    c = t.release_ledger.c
    return [
        c.key,
        c.label0,
        c.label1,
        c.label2,
        c.label3,
        c.first_month,
        c.last_month,
        c.persons,
        c.lower,
        c.upper,
    ]


def cells(conn: Connection, source: str, scopes: Sequence[str] | None) -> LedgerCells:
    """Every recorded cell of ``source`` in ``scopes`` (None: every scope)."""
    c = t.release_ledger.c
    query = select(*_columns()).where(c.source == source)  # type: ignore[call-overload]
    if scopes is not None:
        query = query.where(c.scope.in_(list(scopes)))
    return _cells(conn.execute(query).all())


def tables(
    conn: Connection, source: str, basis: str, scopes: Sequence[str] | None
) -> list[LedgerTable]:
    """Every recorded table of ``source`` computed from ``basis``, cells in cube order."""
    lt = t.ledger_tables.c
    query = select(lt.release_id, lt.table_name, lt.scope, lt.shape).where(
        lt.source == source, lt.basis == basis
    )
    if scopes is not None:
        query = query.where(lt.scope.in_(list(scopes)))
    found = conn.execute(query.order_by(lt.release_id, lt.table_name)).all()
    out = []
    c = t.release_ledger.c
    for release_id, name, scope, shape in found:
        rows = conn.execute(
            select(*_columns())  # type: ignore[call-overload]
            .where(c.release_id == release_id, c.source == source, c.table_name == name)
            .order_by(c.cell)
        ).all()
        out.append(
            LedgerTable(
                release_id, name, source, basis, scope, tuple(json.loads(shape)), _cells(rows)
            )
        )
    return out
