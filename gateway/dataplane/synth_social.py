"""Synthetic deliveries of the social and other registers the resource-course data links to:
municipal adult disability services (FLIS), homelessness counts, the integration programme
(UIP) and prescriptions; each from the month's people, deterministic for a seed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from gateway.dataplane.synth_shared import People, date_array, dates, pick, repeat


def flis(
    rng: np.random.Generator,
    people: People,
    social: np.ndarray,
    background: np.ndarray,
    valid: np.ndarray,
    start: dt.date,
    end: dt.date,
) -> pa.Table:
    who = np.concatenate([social, background[rng.random(background.size) < 0.05]])
    who = who[np.isin(people.kommune[who], valid)]  # invalid municipalities deliver nothing usable
    idx = repeat(rng, who, 1, 2)
    cprs, kommune = people.take(idx, dashed=True)
    s = dates(rng, dt.date(2014, 1, 1), end, idx.size)
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "paragraph": pick(
                rng,
                {
                    "SEL85": 0.45,
                    "SEL97": 0.05,
                    "SEL98": 0.02,
                    "SEL99": 0.03,
                    "SEL102": 0.05,
                    "SEL103": 0.1,
                    "SEL104": 0.1,
                    "SEL107": 0.12,
                    "SEL108": 0.08,
                },
                idx.size,
            ),
            "target_group": pick(
                rng,
                {
                    "sindslidelse": 0.35,
                    "psykisk": 0.15,
                    "fysisk": 0.15,
                    "udviklingshaemning": 0.1,
                    "hjerneskade": 0.08,
                    "misbrug": 0.12,
                    "andet": 0.05,
                },
                idx.size,
            ),
            "start_date": date_array(s),
            "end_date": date_array(
                np.maximum(s + rng.integers(30, 900, idx.size), start.toordinal()),
                rng.random(idx.size) < 0.3,
            ),
        }
    )


def hjemloese(
    rng: np.random.Generator,
    people: People,
    course: np.ndarray,
    background: np.ndarray,
    start: dt.date,
    end: dt.date,
) -> pa.Table:
    idx = np.concatenate(
        [course[rng.random(course.size) < 0.02], background[rng.random(background.size) < 0.01]]
    )
    cprs, kommune = people.take(idx, dashed=True)
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "count_date": date_array(dates(rng, start, end, idx.size)),
            "situation": pick(
                rng,
                {
                    "gadesovende": 0.1,
                    "natvarmestue": 0.1,
                    "herberg": 0.3,
                    "hos_familie_venner": 0.3,
                    "hotel_vandrerhjem": 0.05,
                    "andet": 0.15,
                },
                idx.size,
            ),
        }
    )


def uip(
    rng: np.random.Generator,
    people: People,
    course: np.ndarray,
    background: np.ndarray,
    start: dt.date,
) -> pa.Table:
    idx = np.concatenate(
        [course[rng.random(course.size) < 0.08], background[rng.random(background.size) < 0.05]]
    )
    cprs, kommune = people.take(idx, dashed=False)
    months = np.array([f"{start.year}-{m:02d}" for m in range(1, start.month + 1)])
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "metode": pick(rng, {"FIT": 0.4, "CTI": 0.3, "IPS": 0.3}, idx.size),
            "start_month": pa.array(months[rng.integers(0, months.size, idx.size)]),
            "status": pick(rng, {"i_gang": 0.6, "afbrudt": 0.15, "gennemfoert": 0.25}, idx.size),
            "maalgruppe": pick(rng, {"udsatte_voksne": 0.6, "handicap": 0.4}, idx.size),
            "undertema": pa.array(["misbrug"] * idx.size, mask=rng.random(idx.size) >= 0.7),
            "funktionsvurdering": pa.array(rng.integers(0, 5, idx.size).astype(str)),
            "henvisningsgrundlag": pick(
                rng, {"SEL": 0.7, "LAB": 0.2, "SUL": 0.05, "andet": 0.05}, idx.size
            ),
        }
    )


def prescriptions(
    rng: np.random.Generator, people: People, course: np.ndarray, start: dt.date, end: dt.date
) -> pa.Table:
    idx = repeat(rng, course[rng.random(course.size) < 0.1], 1, 2)
    cprs, _ = people.take(idx, dashed=False)
    return pa.table(
        {
            "cpr": cprs,
            "dispensing_date": date_array(dates(rng, start, end, idx.size)),
            "atc_code": pick(rng, {"N06AB04": 0.4, "N02BE01": 0.4, "A10BA02": 0.2}, idx.size),
            "packages": pa.array(rng.integers(1, 3, idx.size)),
        }
    )
