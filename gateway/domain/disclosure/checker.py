"""The output checker: nothing aggregated leaves the hub without passing :func:`check`.

Rules (defaults in ``policies/disclosure.yaml``, stricter per dataset where its file says so):

* **threshold**: a published cell counts at least ``min_persons`` distinct persons. Persons, not
  rows: ten hospital contacts of three persons are three. Margins included. Under the cell-key
  method small counts are not hidden first: the p-table's noise protects them, and a noisy
  count below the threshold is not shown.
* **zeros**: a cell of zero persons is disclosive where the policy says so.
* **nk-rule** and **p-ratio** (sums only): dominance and p-percent over per-person
  contributions; **negative** and **missing** contributions send the table to review.
* **differencing**: a cell within a few persons of a related cell already published (to
  anyone: :mod:`gateway.domain.disclosure.ledger`) while what both publish pins the difference.

Then a candidate suppression pattern is found (:mod:`gateway.domain.disclosure.suppression`)
and proved (:mod:`gateway.domain.disclosure.lp_audit`): over this table and every earlier
table computed from the same data, no protected quantity (a small cell, a small difference
between a cell and one containing it) is left an interval narrower than
``protection_interval``. Where the proof fails, more cells are hidden and the proof runs
again, until it holds (``pass``), the time budget runs out (``review``: people decide, nothing
leaves meanwhile) or nothing can help (``fail``). Every person count is published through
:func:`gateway.domain.disclosure.protection.publish`.

Statuses follow ACRO: ``pass`` releases; ``review`` goes to an approver; ``fail`` is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gateway.domain.disclosure import ledger as ledger_mod
from gateway.domain.disclosure.ledger import LedgerCells, LedgerTable
from gateway.domain.disclosure.lp_audit import SOLVER, AuditTable, audit
from gateway.domain.disclosure.protection import Published, publish
from gateway.domain.disclosure.ptable import PTable, generated
from gateway.domain.disclosure.rules import PRIMARY, Check, DisclosureRules, Method, Status
from gateway.domain.disclosure.suppression import nested_differences, recoverable, suppress
from gateway.domain.disclosure.tables import MAX_CELLS, AuditSummary, CheckedTable, Tabulation

MAX_ROUNDS = 60


@dataclass(frozen=True)
class Placement:
    """Where a table stands among everything published: its ledger source, the data it was
    computed from (``basis``), its months, every recorded cell of its source it must not be
    differenced against (``earlier``) and the earlier tables of the same basis (``linked``)."""

    source: str
    basis: str
    first_month: str
    last_month: str
    earlier: LedgerCells
    linked: tuple[LedgerTable, ...] = ()


def _primary_flags(table: Tabulation, rules: DisclosureRules) -> dict[Check, np.ndarray]:
    persons = table.persons.astype(np.int64)
    small = (persons > 0) & (persons < rules.min_persons)
    threshold_hides = table.sums is not None or rules.method is not Method.CELL_KEY
    flags: dict[Check, np.ndarray] = {
        Check.THRESHOLD: small if threshold_hides else np.zeros_like(small),
        Check.ZEROS: (persons == 0) if rules.zeros_disclosive else np.zeros_like(small),
    }
    sums = table.sums
    if sums is not None:
        top = sums.top
        n = min(rules.dominance_n, top.shape[-1])
        top_n = top[..., :n].sum(axis=-1)
        x1 = top[..., 0]
        x2 = top[..., 1] if top.shape[-1] > 1 else np.zeros_like(x1)
        positive = sums.total > 0
        flags[Check.NK_RULE] = positive & (top_n > rules.dominance_k / 100.0 * sums.total)
        flags[Check.P_RATIO] = positive & (sums.total - x1 - x2 < rules.p_percent / 100.0 * x1)
        flags[Check.NEGATIVE] = sums.negative > 0
        flags[Check.MISSING] = sums.missing > 0
    return flags


def _publish(
    table: Tabulation, rules: DisclosureRules, hidden: np.ndarray, ptable: PTable | None
) -> Published:
    return publish(
        table.persons, hidden, rules, table.levels, key_sums=table.key_sums, ptable=ptable
    )


def _audit_tables(
    table: Tabulation,
    shown: Published,
    hidden: np.ndarray,
    placement: Placement | None,
) -> tuple[list[AuditTable], list[tuple[int, int]]]:
    """This table and the linked earlier ones as the attacker's program sees them."""
    source = placement.source if placement else f"table:{table.name}"
    basis = placement.basis if placement else "standalone"
    months = (placement.first_month, placement.last_month) if placement else ("2000-01",) * 2
    cells = ledger_mod.table_cells(table, source, *months)
    ids = ledger_mod.variable_ids(cells, basis).reshape(table.persons.shape)
    visible = ~hidden & ~np.isnan(shown.values)
    tables = [AuditTable(table.persons, shown.lower, shown.upper, ids, visible, new=True)]
    all_cells, all_ids = [cells], [ids.ravel()]
    for old in placement.linked if placement else ():
        old_ids = ledger_mod.variable_ids(old.cells, old.basis)
        tables.append(
            AuditTable(
                old.persons,
                old.cells.lower.reshape(old.shape),
                old.cells.upper.reshape(old.shape),
                old_ids.reshape(old.shape),
                np.zeros(old.shape, bool),
            )
        )
        all_cells.append(old.cells)
        all_ids.append(old_ids)
    implied = ledger_mod.implications(table)
    return tables, ledger_mod.edges(all_cells, all_ids, implied)


def _sums_audit_table(
    table: Tabulation, rules: DisclosureRules, hidden: np.ndarray, protected: np.ndarray
) -> AuditTable:
    """The sums of a sum table as exact published values (hidden where suppressed). A cell
    a sum rule or the threshold hid must keep an interval of at least twice ``p_percent``
    of its value (the protection levels statistics offices give magnitude tables)."""
    assert table.sums is not None
    total = table.sums.total
    negative = bool((table.sums.negative > 0).any())
    lower = np.where(hidden, -np.inf if negative else 0.0, total)
    upper = np.where(hidden, np.inf, total)
    ids = np.arange(total.size, dtype=np.int64).reshape(total.shape)
    need = np.maximum(1.0, 2.0 * rules.p_percent / 100.0 * np.abs(total))
    protect = np.where(protected, need, 0.0)
    return AuditTable(total, lower, upper, ids, ~hidden, new=True, protect=protect)


def check(
    table: Tabulation,
    rules: DisclosureRules,
    placement: Placement | None = None,
    *,
    ptable: PTable | None = None,
) -> CheckedTable:
    """Apply the rules to every cell and margin, find and prove a suppression pattern against
    everything ``placement`` says was published before, and give a status."""
    began = time.monotonic()
    deadline = began + rules.audit_seconds
    if ptable is None and rules.method is Method.CELL_KEY:
        if rules.ptable_file is not None:
            raise ValueError(f"the rules name p-table {rules.ptable_file}; pass it")
        ptable = generated(rules.cell_key_max_noise, rules.cell_key_variance)
    persons = table.persons.astype(np.int64)
    if persons.size > MAX_CELLS:
        raise ValueError(f"table {table.name} has {persons.size} cells; at most {MAX_CELLS}")
    flags = _primary_flags(table, rules)
    primary = np.zeros(persons.shape, bool)
    for name in PRIMARY:
        if name in flags:
            primary |= flags[name]
    if placement is not None and len(placement.earlier):
        tentative = _publish(table, rules, primary, ptable)
        cells = ledger_mod.table_cells(
            table, placement.source, placement.first_month, placement.last_month
        ).published(tentative.lower.ravel(), tentative.upper.ravel())
        near = ledger_mod.differencing(
            cells,
            placement.earlier,
            rules.min_persons,
            rules.protection_interval,
            ledger_mod.implications(table),
        ).reshape(persons.shape)
        flags[Check.DIFFERENCING] = near & ~primary
        primary |= near
    reasons: list[str] = []
    summary = AuditSummary(solver=SOLVER)
    if not rules.suppress:
        hidden = np.zeros(persons.shape, bool)
        status = Status.FAIL if primary.any() else Status.PASS
        if primary.any():
            reasons.append(
                f"{int(primary.sum())} cells are disclosive and the rules do not allow suppression"
            )
        shown = _publish(table, rules, hidden, ptable)
    else:
        hidden, shown, status, summary = _prove(table, rules, primary, placement, ptable, deadline)
        if status is Status.REVIEW:
            reasons.append(
                f"the LP audit could not prove the table's protection within "
                f"{rules.audit_seconds:g} s ({summary.unproven} quantities unproven)"
            )
        elif status is Status.FAIL:
            reasons.append("no suppression pattern protects every small count and difference")
        flags[Check.SECONDARY] = hidden & ~primary & ~shown.below
        flags[Check.PERTURBED_BELOW] = shown.below & ~primary
        inner = table.inner
        if not (~np.isnan(shown.values)[inner] & (persons[inner] > 0)).any():
            status = Status.FAIL
            reasons.append("suppression leaves no non-empty cell: nothing can be published")
        if rules.method is Method.SUPPRESSION or table.sums is not None:
            values = persons.astype(np.float64) if table.sums is None else table.sums.total
            if recoverable(values, hidden).any():  # defence in depth beside the LP audit
                status = Status.FAIL
                reasons.append("a suppressed cell can be recomputed from its lines")
        if (
            rules.method is Method.SUPPRESSION
            and nested_differences(persons, hidden, rules.min_persons).any()
        ):
            status = Status.FAIL  # defence in depth, as above
            reasons.append("a published margin minus a published cell is a small count")
    if status is Status.PASS and table.sums is not None:
        if flags[Check.NEGATIVE].any():
            status = Status.REVIEW
            reasons.append("negative contributions: dominance rules are unreliable")
        if flags[Check.MISSING].any():
            status = Status.REVIEW
            reasons.append("missing values among the contributions")
    gone = hidden | shown.below
    sums = None if table.sums is None else np.where(gone, np.nan, table.sums.total)
    return CheckedTable(
        table,
        rules,
        status,
        gone,
        flags,
        shown.values,
        sums,
        shown.lower,
        shown.upper,
        reasons,
        summary,
    )


def _prove(
    table: Tabulation,
    rules: DisclosureRules,
    primary: np.ndarray,
    placement: Placement | None,
    ptable: PTable | None,
    deadline: float,
) -> tuple[np.ndarray, Published, Status, AuditSummary]:
    """Candidate pattern, LP audit, more cells where the audit fails; until proven."""
    began = time.monotonic()
    persons = table.persons.astype(np.int64)
    exact = rules.method is Method.SUPPRESSION or table.sums is not None
    local = exact and rules.method is not Method.ROUNDING
    hidden = suppress(persons, primary, rules.min_persons) if local else primary.copy()
    totals = {"quantities": 0, "solves": 0, "linked": 0}
    narrowest: float | None = None
    for round_no in range(1, MAX_ROUNDS + 1):
        shown = _publish(table, rules, hidden, ptable)
        gone = hidden | shown.below
        tables, edges = _audit_tables(table, shown, gone, placement)
        results = [
            audit(
                tables,
                edges,
                floor=rules.min_persons,
                width=rules.protection_interval,
                deadline=deadline,
            )
        ]
        if table.sums is not None:
            sums_table = _sums_audit_table(table, rules, gone, primary)
            results.append(audit([sums_table], [], floor=0, width=0, deadline=deadline))
        totals["quantities"] = sum(r.quantities for r in results)
        totals["solves"] += sum(r.solves for r in results)
        totals["linked"] = len(tables) - 1
        narrowest = results[0].narrowest
        more = np.zeros(persons.shape, bool)
        for r in results:
            more |= r.hide[0]
        more &= ~hidden
        failing = sum(r.failing for r in results)
        timed_out = any(r.timed_out for r in results)
        unfixable = sum(r.unfixable for r in results)
        summary = AuditSummary(
            quantities=totals["quantities"],
            solves=totals["solves"],
            seconds=time.monotonic() - began,
            rounds=round_no,
            linked_tables=totals["linked"],
            narrowest=narrowest,
            unproven=failing if timed_out else 0,
            solver=SOLVER,
        )
        if timed_out:
            return hidden, shown, Status.REVIEW, summary
        if not failing:
            return hidden, shown, Status.PASS, summary
        if unfixable or not more.any():
            return hidden, shown, Status.FAIL, summary
        hidden = hidden | more
        if local:
            hidden = suppress(persons, hidden, rules.min_persons)
        if time.monotonic() > deadline:
            return hidden, shown, Status.REVIEW, summary
    return hidden, shown, Status.REVIEW, summary
