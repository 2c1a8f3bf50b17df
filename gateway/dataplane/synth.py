"""Deterministic synthetic deliveries shaped like the figures in DOMAIN.md.

One seed gives the same files byte for byte. Shapes (period 2016-11 by default):

* 18,462 persons in a resource course (scale 1.0); each course combines offer areas as in the
  audit office's sample of 168 courses: employment+health 25 %, all three 16 %,
  social+health 14 %, employment+social 6 %, one area only 39 % (employment 9 %,
  health 22 %, social 8 %) - so about 56 % are in an employment offer in the month and 61 %
  of courses are multi-area. Offer types: guidance/upskilling, then mentor, then company
  internship; wage subsidy rare.
* persons whose course ended just before the period (outside the ministry's population) and
  background persons never in a course; both have health contacts, so population limits show.
* social data (adult disability) only from 55 of the 98 municipalities (the others' data are
  not valid), so coverage gaps are real in the data.
* 3,526 courses (scale 1.0) that ended 13 to 65 weeks before the period's end, with the weekly
  benefit status 13 weeks after the end as in the audit office's follow-up: 2.7 % ordinary
  job, 11.7 % flexjob, 43.3 % disability pension, the rest other benefits. Persons in a
  course have the resource-course benefit as their status in the period's first week.
* GP and specialist services (SSR) carry settlement dates: 15 % fall one or two months before
  the month delivered, as dates known only to within 1-2 months do.
* the other registers (psychiatry, treatment, social, education) come from
  :mod:`gateway.dataplane.synth_registers`.
* CPRs are synthetic: valid dates of birth, random serials, written with and without the dash.

Everything is generated with numpy arrays; no Python loop per row.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gateway.dataplane import synth_registers
from gateway.dataplane.synth_shared import People, date_array, dates, pick, repeat
from gateway.dataplane.synth_social import flis, hjemloese, prescriptions, uip
from gateway.domain.catalogue import Catalogue
from gateway.domain.extracts import month_end, month_start

COURSE_PERSONS = 18_462
AREA_COMBOS = {  # (employment, social, health): share of courses
    (1, 0, 1): 0.25,
    (1, 1, 1): 0.16,
    (0, 1, 1): 0.14,
    (1, 1, 0): 0.06,
    (1, 0, 0): 0.09,
    (0, 0, 1): 0.22,
    (0, 1, 0): 0.08,
}
OFFER_TYPES = {
    "vejledning_opkvalificering": 0.46,
    "mentor": 0.28,
    "virksomhedspraktik": 0.21,
    "loentilskud": 0.05,
}
VALID_SOCIAL_MUNICIPALITIES = 55


def valid_social_municipalities(period: str) -> int:
    """How many municipalities deliver valid adult disability data in ``period``: 13 until
    February 2016, then 32 (the ministry's analysis in spring 2016), then 55 (seed 000,
    "Socialområdet: Datadeling"; seed 002, point 37). The month 55 begins is this generator's
    choice (the seeds say "currently"): July 2016."""
    if period < "2016-02":
        return 13
    if period < "2016-07":
        return 32
    return VALID_SOCIAL_MUNICIPALITIES


def social_order(codes: np.ndarray) -> np.ndarray:
    """The municipalities in the order they came to deliver valid social data: the same for
    every period and seed, so the 13 are among the 32 and the 32 among the 55."""
    return np.random.default_rng(98).permutation(codes)


FINISHED_COURSES = 3_526
STATUS_AFTER_13_WEEKS = {
    "ordinaer_beskaeftigelse": 0.027,
    "fleksjob": 0.117,
    "foertidspension": 0.433,
    "kontanthjaelp": 0.2,
    "ledighedsydelse": 0.08,
    "sygedagpenge": 0.05,
    "ressourceforloebsydelse": 0.04,
    "andet": 0.053,
}
WEEKS_13 = 91
PARQUET_DATASETS = frozenset({"ssr"})


@dataclass(frozen=True)
class SynthFile:
    dataset: str
    source: str
    period: str
    path: str
    format: str
    rows: int


def generate(
    catalogue: Catalogue,
    out: Path,
    *,
    period: str = "2016-11",
    seed: int = 2016,
    scale: float = 1.0,
) -> list[SynthFile]:
    """Write one delivery per dataset for ``period`` into ``out`` and a ``manifest.json``."""
    rng = np.random.default_rng(seed)
    start, end = month_start(period), month_end(period)
    codes = np.array(sorted(catalogue.municipalities))
    n_course = max(20, round(COURSE_PERSONS * scale))
    n_ended = max(5, round(n_course * 0.04))
    n_background = max(20, round(n_course * 0.7))
    people = People(rng, n_course + n_ended + n_background, codes)
    course = np.arange(n_course)
    ended = np.arange(n_course, n_course + n_ended)
    background = np.arange(n_course + n_ended, people.n)

    combos = np.array(list(AREA_COMBOS))
    shares = np.array(list(AREA_COMBOS.values()))
    combo = combos[rng.choice(len(combos), n_course, p=shares / shares.sum())]
    employment, social, health = (course[combo[:, i] == 1] for i in range(3))
    valid_social = social_order(codes)[: valid_social_municipalities(period)]

    tables: dict[str, pa.Table] = {
        "dfdg-indsats": _dfdg(rng, people, course, ended, employment, start, end),
        "lpr": _lpr(rng, people, health, ended, background, start, end),
        "ssr": _ssr(rng, people, health, background, start, end),
        "flis-voksenhandicap": flis(rng, people, social, background, valid_social, start, end),
        "sfi-hjemloese": hjemloese(rng, people, course, background, start, end),
        "uip-spor2": uip(rng, people, course, background, start),
        "laegemiddelstatistik": prescriptions(rng, people, course, start, end),
    }
    # Finished courses and weekly status draw from their own generator, so the tables above stay
    # the same for a seed whatever is added here.
    finished, status = _finished_courses(
        np.random.default_rng(seed + 13), codes, scale, people, course, start, end
    )
    tables["dfdg-indsats"] = pa.concat_tables([tables["dfdg-indsats"], finished])
    tables["dfdg-ydelse"] = status
    # The other registers draw from a third generator, for the same reason.
    groups = synth_registers.Groups(
        np.random.default_rng(seed + 17),
        people,
        course,
        health,
        social,
        background,
        codes,
        start,
        end,
    )
    tables.update(synth_registers.tables(groups, n_children=max(10, round(n_course * 0.3))))
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for dataset, table in tables.items():
        ds = catalogue.datasets[dataset]
        table = table.select(list(ds.column_names))
        fmt = "parquet" if dataset in PARQUET_DATASETS else "csv"
        path = out / f"{dataset}-{period}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
        files.append(SynthFile(dataset, ds.owner, period, path.name, fmt, table.num_rows))
    manifest = {
        "seed": seed,
        "period": period,
        "scale": scale,
        "files": [f.__dict__ for f in files],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return files


def _dfdg(
    rng: np.random.Generator,
    people: People,
    course: np.ndarray,
    ended: np.ndarray,
    employment: np.ndarray,
    start: dt.date,
    end: dt.date,
) -> pa.Table:
    # Resource-course periods: started 2013..period, mostly ongoing, some ending in the period.
    c_start = dates(rng, dt.date(2013, 1, 1), end - dt.timedelta(days=1), course.size)
    c_end = dates(rng, start, end, course.size)
    ongoing = rng.random(course.size) < 0.93
    # Courses that ended one to sixty days before the period: just outside the population.
    e_end = dates(rng, start - dt.timedelta(days=60), start - dt.timedelta(days=1), ended.size)
    e_start = e_end - rng.integers(200, 1200, ended.size)
    # Employment offers in the period for persons whose course includes employment.
    offers = repeat(rng, employment, 1, 2)
    o_start = dates(rng, start - dt.timedelta(days=45), end, offers.size)
    o_end = np.maximum(o_start + rng.integers(14, 120, offers.size), start.toordinal())
    idx = np.concatenate([course, ended, offers])
    cprs, kommune = people.take(idx, dashed=True)
    n_courses = course.size + ended.size
    record = np.where(np.arange(idx.size) < n_courses, "ressourceforloeb", "tilbud")
    offer_type = pa.concat_arrays(
        [pa.nulls(n_courses, pa.string()), pick(rng, OFFER_TYPES, offers.size)]
    )
    starts = np.concatenate([c_start, e_start, o_start])
    ends = np.concatenate([c_end, e_end, o_end])
    end_valid = np.concatenate([~ongoing, np.ones(ended.size, bool), np.ones(offers.size, bool)])
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "record_type": pa.array(record),
            "offer_type": offer_type,
            "start_date": date_array(starts),
            "end_date": date_array(ends, end_valid),
        }
    )


def _finished_courses(
    rng: np.random.Generator,
    codes: np.ndarray,
    scale: float,
    people: People,
    course: np.ndarray,
    start: dt.date,
    end: dt.date,
) -> tuple[pa.Table, pa.Table]:
    """Courses that ended 13 to 65 weeks before ``end`` (so the status 13 weeks on is known by
    then), their status 13 weeks after, and the current course persons' benefit status."""
    n = max(10, round(FINISHED_COURSES * scale))
    done = People(rng, n, codes)
    last = end - dt.timedelta(days=WEEKS_13)
    f_end = dates(rng, last - dt.timedelta(days=364), last, n)
    f_start = np.maximum(f_end - rng.integers(300, 1500, n), dt.date(2013, 1, 1).toordinal())
    everyone = np.arange(n)
    cprs, kommune = done.take(everyone, dashed=True)
    courses = pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "record_type": pa.array(["ressourceforloeb"] * n),
            "offer_type": pa.nulls(n, pa.string()),
            "start_date": date_array(f_start),
            "end_date": date_array(f_end),
        }
    )
    c_cprs, c_kommune = people.take(course, dashed=False)
    monday = start - dt.timedelta(days=start.weekday())
    status = pa.table(
        {
            "cpr": pa.concat_arrays([done.take(everyone, dashed=False)[0], c_cprs]),
            "kommune": pa.concat_arrays([kommune, c_kommune]),
            "status_date": date_array(
                np.concatenate([f_end + WEEKS_13, np.full(course.size, monday.toordinal())])
            ),
            "status": pa.concat_arrays(
                [
                    pick(rng, STATUS_AFTER_13_WEEKS, n),
                    pa.array(["ressourceforloebsydelse"] * course.size),
                ]
            ),
        }
    )
    return courses, status


def _lpr(
    rng: np.random.Generator,
    people: People,
    health: np.ndarray,
    ended: np.ndarray,
    background: np.ndarray,
    start: dt.date,
    end: dt.date,
) -> pa.Table:
    who = np.concatenate(
        [
            health[rng.random(health.size) < 0.55],
            ended[rng.random(ended.size) < 0.5],
            background[rng.random(background.size) < 0.3],
        ]
    )
    idx = repeat(rng, who, 1, 3)
    cprs, kommune = people.take(idx, dashed=False)
    c_start = dates(rng, start, end, idx.size)
    length = rng.integers(0, 5, idx.size)
    psych = rng.random(idx.size) < 0.22
    chapters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    diag = np.where(psych, "F", chapters[rng.integers(0, chapters.size, idx.size)])
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "contact_start": date_array(c_start),
            "contact_end": date_array(c_start + length, rng.random(idx.size) < 0.9),
            "contact_type": pa.array(np.where(psych, "psykiatrisk", "somatisk")),
            "diagnosis_chapter": pa.array(diag),
        }
    )


def _ssr(
    rng: np.random.Generator,
    people: People,
    health: np.ndarray,
    background: np.ndarray,
    start: dt.date,
    end: dt.date,
) -> pa.Table:
    who = np.concatenate([health, background[rng.random(background.size) < 0.6]])
    idx = repeat(rng, who, 1, 4)
    cprs, _ = people.take(idx, dashed=False)
    # Settlement dates: a month's delivery dates 10 % of services a month early and 5 % two
    # months early (known only to within 1-2 months, seed 000).
    lag = rng.choice(3, idx.size, p=[0.85, 0.10, 0.05]) * 30
    return pa.table(
        {
            "cpr": cprs,
            "service_date": date_array(dates(rng, start, end, idx.size) - lag),
            "provider_type": pick(
                rng,
                {"almen_laege": 0.6, "speciallaege": 0.2, "fysioterapeut": 0.12, "psykolog": 0.08},
                idx.size,
            ),
            "services": pa.array(rng.integers(1, 4, idx.size)),
        }
    )
