"""The disclosure ledger, as the release use cases use it: what a table's counts are computed
from (its basis), which earlier tables it is checked against (its scope), and the record of
every cell a release publishes, in the same transaction as the release.

The arithmetic (what a publication tells, and whether an LP can narrow any small count) is the
domain's (:mod:`gateway.domain.disclosure`); this module reads and writes the ledger for it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from gateway.domain.disclosure import (
    CheckedTable,
    DisclosureRules,
    Method,
    Placement,
    Scope,
    Tabulation,
    check,
    ledger,
)
from gateway.errors import Conflict
from gateway.ports import UnitOfWork
from gateway.services.context import Context


@dataclass(frozen=True)
class Ledgered:
    """A checked table and its place in the disclosure ledger."""

    checked: CheckedTable
    placement: Placement
    scope: str  # "published", or the recipient a confidential table stays with
    linked: tuple[str, ...]  # the earlier tables of the same basis it was proved against


def basis_of(
    source: str,
    population: str,
    months: tuple[str, str],
    municipality: str | None,
    inputs: list[dict[str, Any]],
) -> str:
    """What a table's counts are computed from: two tables with the same basis count the same
    persons in cells of the same labels and months (the LP audit links them)."""
    text = json.dumps(
        {
            "source": source,
            "population": population,
            "months": list(months),
            "municipality": municipality,
            "inputs": sorted(
                (i["dataset"], i["period"], i["delivery"], i["version"]) for i in inputs
            ),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def read_scopes(scope: str) -> list[str] | None:
    """Which recorded tables a new table of ``scope`` is checked against: a published table
    against everything (every holder of a confidential table also holds the published ones);
    a confidential one against the published ones and its own recipient's."""
    return None if scope == Scope.PUBLISHED.value else [Scope.PUBLISHED.value, scope]


def checked_against_ledger(
    ctx: Context,
    table: Tabulation,
    rules: DisclosureRules,
    *,
    source: str,
    basis: str,
    months: tuple[str, str],
    scope: str,
) -> Ledgered:
    """Check ``table`` against every table the hub has published that it could be combined
    with (:mod:`gateway.domain.disclosure.ledger`)."""
    scopes = read_scopes(scope)
    with ctx.store.unit_of_work() as uow:
        earlier = uow.ledger_cells(source, scopes)
        linked = uow.ledger_tables(source, basis, scopes)
    placement = Placement(source, basis, months[0], months[1], earlier, tuple(linked))
    checked = check(table, rules, placement, ptable=ctx.catalogue.ptable(rules))
    names = tuple(f"{t.release_id}/{t.name}" for t in linked)
    return Ledgered(checked, placement, scope, names)


def protection_note(checked: CheckedTable) -> dict[str, Any]:
    """What a reader of the table needs to know about its numbers (never a hidden value)."""
    rules = checked.rules
    note: dict[str, Any] = {"method": rules.method.value, "min_persons": rules.min_persons}
    if rules.method is Method.CELL_KEY:
        note["max_noise"] = rules.cell_key_max_noise
        note["variance"] = rules.cell_key_variance
    if rules.method is Method.ROUNDING:
        note["rounding_base"] = rules.rounding_base
    return note


def record_in_ledger(
    uow: UnitOfWork, *, release_id: str, recipient: str, tables: list[Ledgered]
) -> None:
    """Record every cell of what this release publishes (hidden ones too, for the LP audit),
    inside the transaction that records the release (appends to the audit log are
    serialised, so are these). A table recorded since this one was checked that it could be
    combined with sends it back to be checked again."""
    for item in tables:
        placement, checked = item.placement, item.checked
        scopes = read_scopes(item.scope)
        linked = uow.ledger_tables(placement.source, placement.basis, scopes)
        if tuple(f"{t.release_id}/{t.name}" for t in linked) != item.linked:
            raise Conflict(
                "another table from the same data was released while this one was being "
                "checked; run it again (it will be checked against both)"
            )
        cells = ledger.table_cells(
            checked.tabulation, placement.source, placement.first_month, placement.last_month
        ).published(checked.lower.ravel(), checked.upper.ravel())
        now = uow.ledger_cells(placement.source, scopes)
        if (
            len(now) != len(placement.earlier)
            and ledger.differencing(
                cells.take(~checked.suppressed.ravel()),
                now,
                checked.rules.min_persons,
                checked.rules.protection_interval,
                ledger.implications(checked.tabulation),
            ).any()
        ):
            raise Conflict(
                "another release was recorded while this one was being checked; run it again "
                "(it will be checked against both)"
            )
        uow.add_ledger_table(
            recipient,
            ledger.LedgerTable(
                release_id,
                checked.tabulation.name,
                placement.source,
                placement.basis,
                item.scope,
                checked.tabulation.persons.shape,
                cells,
            ),
        )


def published_total(checked: CheckedTable) -> int | None:
    """The grand total as published (rounded if the rules round; None if suppressed): the
    only person count a release's metadata may carry."""
    corner = float(checked.published_persons[(-1,) * checked.published_persons.ndim])
    return None if math.isnan(corner) else int(corner)
