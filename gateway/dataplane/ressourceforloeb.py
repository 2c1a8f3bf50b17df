"""The resource-course monitoring (seed 002): tables computed inside the hub from linked data.

Every table counts distinct persons (internal pseudonyms; nothing here leaves the hub before the
disclosure checker has seen it). Definitions, for a month M:

* **in a course**: a ``dfdg-indsats`` row of type ``ressourceforloeb`` overlapping M. A person
  is counted under the municipality of that course row.
* **employment offer**: a ``tilbud`` row of a person in a course, overlapping M, by offer type.
* **areas**: employment (an employment offer in M), social (a ``flis-voksenhandicap`` service
  overlapping M), health (an ``lpr`` contact or an ``ssr`` service in M). Social data are valid
  only from some municipalities, so area figures are computed **only for persons in
  municipalities whose social data were delivered for M** and say so; the coverage table lists
  the others.
* **timing** (same base): a single offer; offers in sequence (two or more, none overlapping in
  time); offers in parallel (at least two overlapping); or no offer in M. An offer is one
  event of any area, clipped to M (an open-ended one runs to the end of M).
* **status 13 weeks after the course**: courses that ended in the 52 weeks up to 13 weeks
  before the end of M, by the ``dfdg-ydelse`` weekly status in the week ending 13 weeks (91
  days) after the course ended: ordinary job, flexjob, disability pension, other, or none
  recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.dataplane.ingest import PERSON
from gateway.dataplane.tabulate import Dimension, count_persons
from gateway.domain.catalogue import Catalogue
from gateway.domain.disclosure import Tabulation
from gateway.domain.extracts import month_end, month_start

StoredReader = Callable[[str, Sequence[str]], pa.Table]

AREAS = ("employment", "social", "health")
COMBINATIONS = (
    "employment only",
    "social only",
    "health only",
    "employment + social",
    "employment + health",
    "social + health",
    "all three",
    "no offer",
)
MULTI_AREA = ("employment + social", "employment + health", "social + health", "all three")
SINGLE_AREA = ("employment only", "social only", "health only")
TIMING = ("parallel", "sequential", "single offer", "no offer")
STATUS = ("ordinary job", "flexjob", "disability pension", "other", "no status recorded")
STATUS_CODES = {
    "ordinaer_beskaeftigelse": "ordinary job",
    "fleksjob": "flexjob",
    "foertidspension": "disability pension",
}
WEEKS_13 = 91


@dataclass(frozen=True)
class Coverage:
    """Which municipalities' social data were delivered for the month (others are gaps)."""

    covered: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass
class ReportData:
    period: str
    tables: list[Tabulation]
    coverage: Coverage
    window: tuple[dt.date, dt.date]  # courses ended in this window for the 13-week status
    datasets_present: dict[str, bool] = field(default_factory=dict)


def _date(value: dt.date) -> pa.Scalar:
    return pa.scalar(value, pa.date32())


def _overlaps(
    start: pa.ChunkedArray, end: pa.ChunkedArray, first: dt.date, last: dt.date
) -> pa.Array:
    hit = pc.and_kleene(
        pc.less_equal(start, _date(last)),
        pc.or_kleene(pc.is_null(end), pc.greater_equal(end, _date(first))),
    )
    return pc.fill_null(hit, False)


def compute(catalogue: Catalogue, read: StoredReader, period: str) -> ReportData:
    first, last = month_start(period), month_end(period)
    municipalities = tuple(sorted(catalogue.municipalities))
    dfdg = read(
        "dfdg-indsats", [PERSON, "kommune", "record_type", "offer_type", "start_date", "end_date"]
    )
    is_course = pc.equal(dfdg["record_type"], "ressourceforloeb")
    courses = dfdg.filter(is_course)
    current = courses.filter(_overlaps(courses["start_date"], courses["end_date"], first, last))
    persons = pc.unique(current[PERSON].combine_chunks())
    offers = dfdg.filter(pc.invert(is_course))
    offers = offers.filter(
        pc.and_(
            _overlaps(offers["start_date"], offers["end_date"], first, last),
            pc.is_in(offers[PERSON], value_set=persons),
        )
    )

    flis = read("flis-voksenhandicap", [PERSON, "kommune", "start_date", "end_date"])
    covered = set(pc.unique(flis["kommune"]).to_pylist()) if flis.num_rows else set()
    coverage = Coverage(
        tuple(m for m in municipalities if m in covered),
        tuple(m for m in municipalities if m not in covered),
    )
    social = flis.filter(_overlaps(flis["start_date"], flis["end_date"], first, last))
    lpr = read("lpr", [PERSON, "contact_start", "contact_end"])
    lpr = lpr.filter(_overlaps(lpr["contact_start"], lpr["contact_end"], first, last))
    ssr = read("ssr", [PERSON, "service_date"])
    ssr = ssr.filter(_overlaps(ssr["service_date"], ssr["service_date"], first, last))

    kommune = Dimension("kommune", "kommune", municipalities)
    month = Dimension("month", "month", (period,))
    tables = [
        count_persons(
            "persons-in-course",
            f"Persons in a resource course by municipality, {period}",
            current.append_column("month", pa.repeat(pa.scalar(period), current.num_rows)),
            [kommune, month],
            notes=("a person with course rows in two municipalities counts in both",),
        ),
        count_persons(
            "employment-offers",
            f"Persons in a resource course with an employment offer, by offer type, {period}",
            offers,
            [
                Dimension(
                    "offer_type",
                    "offer_type",
                    tuple(catalogue.datasets["dfdg-indsats"].column("offer_type").values or ()),
                )
            ],
            notes=("Total: persons with at least one employment offer in the month",),
        ),
    ]

    base = current.filter(
        pc.is_in(current["kommune"], value_set=pa.array(coverage.covered, pa.string()))
    )
    base_persons = pc.unique(base[PERSON].combine_chunks())
    events = _events(base_persons, offers, social, lpr, ssr, first, last)
    gap_note = (
        f"only persons in the {len(coverage.covered)} municipalities whose social data were "
        f"delivered for {period}; {len(coverage.missing)} municipalities are not covered"
    )
    tables.append(
        count_persons(
            "area-combinations",
            f"Resource courses by the areas their offers come from, {period}",
            _combinations(base_persons, events),
            [Dimension("areas", "areas", COMBINATIONS)],
            notes=(gap_note,),
        )
    )
    tables.append(
        count_persons(
            "offer-timing",
            f"Resource courses by the timing of their offers, {period}",
            _timing(base_persons, events, last),
            [Dimension("timing", "timing", TIMING)],
            notes=(gap_note, "an offer is one event of any area, clipped to the month"),
        )
    )
    window = (last - dt.timedelta(days=WEEKS_13 + 364), last - dt.timedelta(days=WEEKS_13))
    status = read("dfdg-ydelse", [PERSON, "status_date", "status"])
    tables.append(
        count_persons(
            "status-13-weeks",
            "Status 13 weeks after the course ended, courses ended "
            f"{window[0].isoformat()} to {window[1].isoformat()}",
            _status_after(courses, status, window),
            [Dimension("status", "status", STATUS)],
            notes=("the weekly benefit status in the week ending 91 days after the course ended",),
        )
    )
    present = {
        "flis-voksenhandicap": flis.num_rows > 0,
        "lpr": lpr.num_rows > 0,
        "ssr": ssr.num_rows > 0,
        "dfdg-ydelse": status.num_rows > 0,
    }
    return ReportData(period, tables, coverage, window, present)


def _events(
    persons: pa.Array,
    offers: pa.Table,
    social: pa.Table,
    lpr: pa.Table,
    ssr: pa.Table,
    first: dt.date,
    last: dt.date,
) -> pa.Table:
    """Every offer of the base persons in the month: person, area, start, end (clipped)."""
    parts = []
    for area, table, start, end in (
        ("employment", offers, "start_date", "end_date"),
        ("social", social, "start_date", "end_date"),
        ("health", lpr, "contact_start", "contact_end"),
        ("health", ssr, "service_date", "service_date"),
    ):
        rows = table.filter(pc.is_in(table[PERSON], value_set=persons))
        s = pc.max_element_wise(rows[start], _date(first))
        e = pc.min_element_wise(pc.fill_null(rows[end], _date(last)), _date(last))
        parts.append(
            pa.table(
                {
                    PERSON: rows[PERSON],
                    "area": pa.repeat(pa.scalar(area), rows.num_rows),
                    "start": s,
                    "end": e,
                }
            )
        )
    return pa.concat_tables(parts)


def _combinations(persons: pa.Array, events: pa.Table) -> pa.Table:
    """One row per base person: the combination of areas of their offers in the month."""
    flags = {}
    for area in AREAS:
        who = pc.unique(events.filter(pc.equal(events["area"], area))[PERSON].combine_chunks())
        flags[area] = pc.is_in(persons, value_set=who).to_numpy(zero_copy_only=False)
    e, s, h = (flags[a].astype(np.int8) for a in AREAS)
    code = e * 4 + s * 2 + h
    labels = np.array(
        [
            "no offer",
            "health only",
            "social only",
            "social + health",
            "employment only",
            "employment + health",
            "employment + social",
            "all three",
        ]
    )
    return pa.table({PERSON: persons, "areas": pa.array(labels[code])})


def _timing(persons: pa.Array, events: pa.Table, last: dt.date) -> pa.Table:
    """One row per base person: parallel, sequential, single offer or no offer."""
    events = events.sort_by([(PERSON, "ascending"), ("start", "ascending")])
    n = events.num_rows
    labels = np.full(len(persons), "no offer", dtype=object)
    if n:
        who = events[PERSON].combine_chunks()
        epoch = dt.date(1970, 1, 1)
        start = events["start"].to_numpy().astype("datetime64[D]").astype(np.int64)
        end = events["end"].to_numpy().astype("datetime64[D]").astype(np.int64)
        new = np.ones(n, bool)
        new[1:] = pc.not_equal(who[1:], who[:-1]).to_numpy(zero_copy_only=False)
        group = np.cumsum(new) - 1
        span = (last - epoch).days + 2  # offsets keep groups apart in the running maximum
        running = np.maximum.accumulate(group * span + end) - group * span
        overlap = np.zeros(n, bool)
        overlap[1:] = ~new[1:] & (start[1:] <= running[:-1])
        count = np.bincount(group)
        parallel = np.bincount(group, weights=overlap) > 0
        label = np.where(parallel, "parallel", np.where(count > 1, "sequential", "single offer"))
        firsts = who.take(pa.array(np.flatnonzero(new)))
        where = pc.index_in(persons, value_set=firsts).to_numpy(zero_copy_only=False)
        has = ~np.isnan(where.astype(float))
        labels[has] = label[where[has].astype(np.int64)]
    return pa.table({PERSON: persons, "timing": pa.array(labels.astype(str))})


def _status_after(courses: pa.Table, status: pa.Table, window: tuple[dt.date, dt.date]) -> pa.Table:
    """One row per person with a course ended in ``window``: the status 13 weeks after."""
    ended = courses.filter(
        pc.fill_null(
            pc.and_(
                pc.greater_equal(courses["end_date"], _date(window[0])),
                pc.less_equal(courses["end_date"], _date(window[1])),
            ),
            False,
        )
    ).select([PERSON, "end_date"])
    joined = ended.join(status, keys=PERSON, join_type="left outer")
    due = pc.add(joined["end_date"], pa.scalar(dt.timedelta(days=WEEKS_13)))
    week_before = pc.subtract(due, pa.scalar(dt.timedelta(days=7)))
    in_week = pc.fill_null(
        pc.and_(
            pc.greater(joined["status_date"], week_before),
            pc.less_equal(joined["status_date"], due),
        ),
        False,
    )
    mapped = pc.fill_null(
        pc.if_else(
            pc.is_in(joined["status"], value_set=pa.array(list(STATUS_CODES))),
            _map(joined["status"]),
            pa.scalar("other"),
        ),
        "other",
    )
    found = joined.filter(in_week).select([PERSON]).append_column("status", mapped.filter(in_week))
    missing = ended.filter(pc.invert(pc.is_in(ended[PERSON], value_set=found[PERSON])))
    none = pa.table(
        {PERSON: missing[PERSON], "status": pa.repeat(pa.scalar(STATUS[-1]), missing.num_rows)}
    )
    return pa.concat_tables([found, none])


def _map(codes: pa.ChunkedArray) -> pa.ChunkedArray:
    keys = pa.array(list(STATUS_CODES))
    values = pa.array(list(STATUS_CODES.values()))
    return pc.take(values, pc.index_in(codes, value_set=keys))
