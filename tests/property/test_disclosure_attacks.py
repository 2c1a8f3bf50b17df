"""Disclosure control against an attacker who holds everything published.

Hypothesis builds persons with person-level attributes (one value each: their lines add up)
and events with event-level attributes (a person can have several: their lines do not), one of
which implies another in every row (``p = yes`` only with ``ch = F``, as a psychiatric contact
only with a chapter F diagnosis). Tables of one to three dimensions are then published one
after another to several recipients, each checked by the gateway against the ledger of all the
earlier ones, under each method. The attacker (:mod:`tests.sdc_attacker`, its own LP over
SciPy) pools every table and bounds every count of 1 to k-1 it could want: a cell, a group of
hidden cells in a line, a difference between nested cells (across tables and variables). None
may be left an interval narrower than the protection interval.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.dataplane.ingest import PERSON
from gateway.dataplane.tabulate import Dimension, count_persons
from gateway.domain.disclosure import (
    CheckedTable,
    DisclosureRules,
    Method,
    Placement,
    Status,
    Tabulation,
    check,
)
from gateway.domain.disclosure import ledger as ledger_mod
from gateway.domain.disclosure.ptable import generated
from tests.sdc_attacker import Cell, attack, truth_of

PERSON_LEVEL = {"g": ("k", "m"), "a": ("a1", "a2", "a3")}
EVENT_LEVEL = {"ev": ("e1", "e2", "e3"), "p": ("no", "yes"), "ch": ("E", "F", "J")}
IMPLIES = ((("p", "yes"), ("ch", "F")),)
SOURCE, BASIS = "dataset:x", "basis"
K = 5


@st.composite
def populations(draw: st.DrawFn) -> pa.Table:
    """Event rows: person key, its person-level attributes, the event's attributes."""
    n = draw(st.integers(3, 45))
    rows: dict[str, list[object]] = {PERSON: [], **{k: [] for k in (*PERSON_LEVEL, *EVENT_LEVEL)}}
    for person in range(n):
        key = person.to_bytes(2, "big") * 16
        key = key[:31] + bytes([draw(st.integers(0, 255))])  # the record key: last byte
        attrs = {k: draw(st.sampled_from(v)) for k, v in PERSON_LEVEL.items()}
        for _ in range(draw(st.integers(1, 3))):
            p = draw(st.sampled_from(EVENT_LEVEL["p"]))
            event = {
                "ev": draw(st.sampled_from(EVENT_LEVEL["ev"])),
                "p": p,
                "ch": "F" if p == "yes" else draw(st.sampled_from(EVENT_LEVEL["ch"])),
            }
            rows[PERSON].append(key)
            for k, v in {**attrs, **event}.items():
                rows[k].append(v)
    return pa.table(
        {k: (pa.array(v, pa.binary(32)) if k == PERSON else v) for k, v in rows.items()}
    )


ALL_DIMS = {**PERSON_LEVEL, **EVENT_LEVEL}
SHAPES = [c for n in (1, 2, 3) for c in itertools.combinations(sorted(ALL_DIMS), n)]


def _tabulate(events: pa.Table, dims: tuple[str, ...]) -> Tabulation:
    table = count_persons("-".join(dims), "t", events, [Dimension(d, d, ALL_DIMS[d]) for d in dims])
    return dataclasses.replace(table, implications=IMPLIES)


def _truth(events: pa.Table) -> tuple[dict[Cell, int], set[tuple[Cell, str]]]:
    """Every cell's true count (over every subset of labels) and the additive lines."""
    people: dict[object, list[dict[str, str]]] = {}
    for r in events.to_pylist():
        people.setdefault(r[PERSON], []).append(r)
    return truth_of(people, ALL_DIMS)


def _publish_in_turn(
    events: pa.Table, shapes: list[tuple[str, ...]], rules: DisclosureRules
) -> list[CheckedTable]:
    """Check each table against the ledger of the ones published before (as the service
    does), recording what each published."""
    ptable = generated(rules.cell_key_max_noise, rules.cell_key_variance)
    recorded: list[ledger_mod.LedgerTable] = []
    out = []
    for i, dims in enumerate(shapes):
        table = _tabulate(events, dims)
        earlier = ledger_mod.LedgerCells.concat([t.cells for t in recorded])
        placement = Placement(SOURCE, BASIS, "2016-11", "2016-11", earlier, tuple(recorded))
        checked = check(table, rules, placement, ptable=ptable)
        if checked.status is not Status.PASS:
            continue  # refused or held: nothing of it is published
        cells = ledger_mod.table_cells(table, SOURCE, "2016-11", "2016-11").published(
            checked.lower.ravel(), checked.upper.ravel()
        )
        recorded.append(
            ledger_mod.LedgerTable(
                f"rel-{i}", table.name, SOURCE, BASIS, "published", table.persons.shape, cells
            )
        )
        out.append(checked)
    return out


def _check_attack(events: pa.Table, shapes: list[tuple[str, ...]], rules: DisclosureRules) -> None:
    published = _publish_in_turn(events, shapes, rules)
    truth, additive = _truth(events)
    findings = attack(
        published,
        truth,
        additive=additive,
        implications=IMPLIES,
        ptable=generated(rules.cell_key_max_noise, rules.cell_key_variance),
        floor=K,
    )
    narrow = [f for f in findings if f.width < rules.protection_interval]
    assert not narrow, narrow[:5]


PROFILE = settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SEQUENCES = st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3)


@PROFILE
@given(populations(), SEQUENCES)
def test_suppression_survives_an_lp_over_everything_published(
    events: pa.Table, shapes: list[tuple[str, ...]]
) -> None:
    _check_attack(events, shapes, DisclosureRules(method=Method.SUPPRESSION, min_persons=K))


@PROFILE
@given(populations(), SEQUENCES)
def test_rounding_survives_an_lp_over_everything_published(
    events: pa.Table, shapes: list[tuple[str, ...]]
) -> None:
    rules = DisclosureRules(method=Method.ROUNDING, rounding_base=5, min_persons=K)
    _check_attack(events, shapes, rules)


@PROFILE
@given(populations(), SEQUENCES)
def test_the_cell_key_method_survives_an_lp_over_everything_published(
    events: pa.Table, shapes: list[tuple[str, ...]]
) -> None:
    _check_attack(events, shapes, DisclosureRules(method=Method.CELL_KEY, min_persons=K))


def test_the_attacker_does_recover_what_an_unchecked_table_gives_away() -> None:
    """The attack is real: on tables published as computed (no checker), it pins the small
    counts it looks for."""
    rng = np.random.default_rng(3)
    n = 30
    keys = [i.to_bytes(32, "big") for i in range(n)]
    p = rng.choice(["no", "yes"], n, p=[0.7, 0.3])
    events = pa.table(
        {
            PERSON: pa.array(keys, pa.binary(32)),
            "g": rng.choice(["k", "m"], n).tolist(),
            "a": rng.choice(["a1", "a2", "a3"], n, p=[0.6, 0.3, 0.1]).tolist(),
            "ev": ["e1"] * n,
            "p": p.tolist(),
            "ch": ["F" if x == "yes" else "J" for x in p],
        }
    )
    rules = DisclosureRules(method=Method.SUPPRESSION, suppress=False, min_persons=K)
    raw = []
    for dims in (("a", "g"), ("ch",), ("p",)):
        table = _tabulate(events, dims)
        values = table.persons.astype(float)
        exact = np.zeros(values.shape, bool)
        raw.append(CheckedTable(table, rules, Status.PASS, exact, {}, values, None, values, values))
    truth, additive = _truth(events)
    findings = attack(raw, truth, additive=additive, implications=IMPLIES, floor=K)
    assert any(f.width < 1 for f in findings)
