"""Synthetic deliveries of the registers beyond the core of :mod:`gateway.dataplane.synth`:
psychiatry, alcohol and drug treatment, rehabilitation, treatment abroad, children at risk,
elderly care, women's shelters, shelters, student grants, the youth database and the
education register.

Shapes, from the seeds (seed 000 is the ministry's overview, seed 002 the audit office's
report 10/2016):

* each register touches persons in a resource course more often than others (persons in a
  course have problems beyond unemployment, seed 000), at rates chosen for this generator;
* the alcohol and drug registers' completeness is doubtful (seed 000): here only 70 of the 98
  municipalities' treatment places report, so their coverage gap is in the data;
* women's shelters have poor master data (seed 000): the municipality is missing for 40 % of
  stays; shelters (forsorgshjem) exist in 40 municipalities;
* the youth database covers 15-29 year olds, the education register lags up to 1.5 years
  (its reference date is the last 30 September at least a year before the month);
* children at risk are mostly persons born 1995-2016, plus young adults in aftercare.

Everything is vectorised with numpy and Arrow, as in :mod:`gateway.dataplane.synth`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from gateway.dataplane.synth_shared import People, date_array, dates, pick, repeat

REPORTING_TREATMENT_MUNICIPALITIES = 70
SHELTER_MUNICIPALITIES = 40


@dataclass(frozen=True)
class Groups:
    """The persons of one generated month, by index into ``people``."""

    rng: np.random.Generator
    people: People
    course: np.ndarray
    health: np.ndarray
    social: np.ndarray
    background: np.ndarray
    codes: np.ndarray
    start: dt.date
    end: dt.date

    def some(self, course_share: float, background_share: float) -> np.ndarray:
        rng = self.rng
        return np.concatenate(
            [
                self.course[rng.random(self.course.size) < course_share],
                self.background[rng.random(self.background.size) < background_share],
            ]
        )

    def born_between(self, idx: np.ndarray, first: int, last: int) -> np.ndarray:
        years = self.people.birth_year[idx]
        kept: np.ndarray = idx[(years >= first) & (years <= last)]
        return kept


def _stretch(g: Groups, n: int, open_share: float) -> tuple[pa.Array, pa.Array]:
    """Start and end dates of ``n`` stretches of time that overlap the month."""
    s = dates(g.rng, g.start - dt.timedelta(days=400), g.end, n)
    e = np.maximum(s + g.rng.integers(5, 300, n), g.start.toordinal())
    return date_array(s), date_array(e, g.rng.random(n) >= open_share)


def _in_month(g: Groups, n: int) -> pa.Array:
    return date_array(dates(g.rng, g.start, g.end, n))


def lpr_psyk(g: Groups) -> pa.Table:
    idx = repeat(
        g.rng,
        np.concatenate([g.health[g.rng.random(g.health.size) < 0.3], g.some(0.0, 0.04)]),
        1,
        2,
    )
    cprs, kommune = g.people.take(idx, dashed=False)
    start, end = _stretch(g, idx.size, 0.25)
    groups = {
        "F0": 0.02,
        "F1": 0.1,
        "F2": 0.1,
        "F3": 0.33,
        "F4": 0.3,
        "F5": 0.01,
        "F6": 0.06,
        "F7": 0.01,
        "F8": 0.03,
        "F9": 0.04,
    }
    kinds = {"ambulant": 0.55, "distriktspsykiatri": 0.25, "indlaeggelse": 0.12, "skadestue": 0.08}
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "contact_start": start,
            "contact_end": end,
            "contact_kind": pick(g.rng, kinds, idx.size),
            "diagnosis_group": pick(g.rng, groups, idx.size),
        }
    )


def _treatment(g: Groups, idx: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """CPRs, municipalities (only the reporting ones' rows kept) and stretches."""
    reporting = np.random.default_rng(70).permutation(g.codes)[:REPORTING_TREATMENT_MUNICIPALITIES]
    idx = idx[np.isin(g.people.kommune[idx], reporting)]
    cprs, kommune = g.people.take(idx, dashed=True)
    start, end = _stretch(g, idx.size, 0.4)
    return cprs, kommune, start, end


def nab(g: Groups) -> pa.Table:
    cprs, kommune, start, end = _treatment(g, g.some(0.03, 0.005))
    forms = {"ambulant": 0.8, "dagbehandling": 0.12, "doegnbehandling": 0.08}
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "treatment_start": start,
            "treatment_end": end,
            "treatment_form": pick(g.rng, forms, len(cprs)),
        }
    )


def sib(g: Groups) -> pa.Table:
    cprs, kommune, start, end = _treatment(g, g.some(0.04, 0.004))
    substances = {
        "cannabis": 0.45,
        "opioider": 0.2,
        "centralstimulerende": 0.2,
        "benzodiazepiner": 0.05,
        "andet": 0.1,
    }
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "treatment_start": start,
            "treatment_end": end,
            "substance": pick(g.rng, substances, len(cprs)),
            "treatment_kind": pick(g.rng, {"social": 0.7, "medicinsk": 0.3}, len(cprs)),
        }
    )


def ges(g: Groups) -> pa.Table:
    idx = np.concatenate([g.health[g.rng.random(g.health.size) < 0.08], g.some(0.0, 0.02)])
    cprs, kommune = g.people.take(idx, dashed=False)
    kinds = {"almen": 0.85, "specialiseret": 0.12, "rehabilitering_specialiseret": 0.03}
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "plan_date": _in_month(g, idx.size),
            "plan_kind": pick(g.rng, kinds, idx.size),
        }
    )


def dusas(g: Groups) -> pa.Table:
    idx = np.concatenate([g.health[g.rng.random(g.health.size) < 0.02], g.some(0.0, 0.01)])
    cprs, _ = g.people.take(idx, dashed=False)
    specialties = {
        "ortopaedkirurgi": 0.3,
        "kirurgi": 0.2,
        "psykiatri": 0.15,
        "oejensygdomme": 0.15,
        "andet": 0.2,
    }
    return pa.table(
        {
            "cpr": cprs,
            "treatment_date": _in_month(g, idx.size),
            "provider": pick(g.rng, {"privat_speciallaege": 0.85, "udland": 0.15}, idx.size),
            "specialty": pick(g.rng, specialties, idx.size),
        }
    )


def udsatte_boern(g: Groups, children: People) -> pa.Table:
    """Children (their own persons, born 1995-2016) and young adults of the month's persons in
    aftercare (born 1994-1998)."""
    kids = np.arange(children.n)
    young = g.born_between(g.social, 1994, 1998)
    k_cprs, k_kommune = children.take(kids, dashed=True)
    y_cprs, y_kommune = g.people.take(young, dashed=True)
    n = kids.size + young.size
    start, end = _stretch(g, n, 0.6)
    measures = {"forebyggende_person": 0.45, "forebyggende_familie": 0.3, "anbringelse": 0.25}
    measure = pa.concat_arrays(
        [pick(g.rng, measures, kids.size), pa.array(["eftervaern"] * young.size, pa.string())]
    )
    return pa.table(
        {
            "cpr": pa.concat_arrays([k_cprs, y_cprs]),
            "kommune": pa.concat_arrays([k_kommune, y_kommune]),
            "measure": measure,
            "start_date": start,
            "end_date": end,
        }
    )


def aeldre(g: Groups) -> pa.Table:
    idx = g.some(0.04, 0.03)
    cprs, kommune = g.people.take(idx, dashed=True)
    start, end = _stretch(g, idx.size, 0.7)
    services = {
        "hjemmehjaelp": 0.5,
        "genoptraening": 0.2,
        "vedligeholdelsestraening": 0.1,
        "boligtilbud": 0.08,
        "plejebolig": 0.04,
        "forebyggende_hjemmebesoeg": 0.08,
    }
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "service": pick(g.rng, services, idx.size),
            "start_date": start,
            "end_date": end,
        }
    )


def kvindekrisecentre(g: Groups) -> pa.Table:
    idx = g.some(0.01, 0.003)
    cprs, kommune = g.people.take(idx, dashed=False)
    known = g.rng.random(idx.size) >= 0.4  # poor master data: 40 % without a municipality
    start, end = _stretch(g, idx.size, 0.3)
    return pa.table(
        {
            "cpr": cprs,
            "kommune": pa.array(np.asarray(kommune), pa.string(), mask=~known),
            "stay_start": start,
            "stay_end": end,
            "children": pa.array(g.rng.integers(0, 4, idx.size), mask=g.rng.random(idx.size) < 0.2),
        }
    )


def forsorgshjem(g: Groups) -> pa.Table:
    idx = g.some(0.02, 0.003)
    cprs, _ = g.people.take(idx, dashed=True)
    shelters = g.codes[-SHELTER_MUNICIPALITIES:]  # a stay is in a shelter's municipality
    start, end = _stretch(g, idx.size, 0.5)
    return pa.table(
        {
            "cpr": cprs,
            "kommune": pa.array(shelters[g.rng.integers(0, shelters.size, idx.size)]),
            "stay_start": start,
            "stay_end": end,
        }
    )


def su(g: Groups) -> pa.Table:
    idx = g.born_between(g.some(0.05, 0.12), 1986, 1998)
    cprs, _ = g.people.take(idx, dashed=False)
    level = pick(g.rng, {"videregaaende": 0.7, "ungdomsuddannelse": 0.3}, idx.size)
    kinds = {"stipendium": 0.8, "laan": 0.12, "handicaptillaeg": 0.03, "forsoergertillaeg": 0.05}
    return pa.table(
        {
            "cpr": cprs,
            "month": pa.array([f"{g.start.year:04d}-{g.start.month:02d}"] * idx.size),
            "education_level": level,
            "grant_kind": pick(g.rng, kinds, idx.size),
            "amount": pa.array(g.rng.integers(9, 65, idx.size) * 100),
        }
    )


def ungedatabasen(g: Groups) -> pa.Table:
    last_born = g.start.year - 15
    idx = g.born_between(np.concatenate([g.course, g.background]), g.start.year - 29, last_born)
    cprs, kommune = g.people.take(idx, dashed=True)
    statuses = {
        "i_uddannelse": 0.35,
        "i_beskaeftigelse": 0.3,
        "ledig": 0.12,
        "afbrudt": 0.08,
        "afsluttet": 0.05,
        "andet": 0.1,
    }
    kinds = {
        "erhvervsfaglig": 0.35,
        "gymnasial": 0.3,
        "videregaaende": 0.2,
        "forberedende": 0.1,
        "grundskole": 0.05,
    }
    kind = pick(g.rng, kinds, idx.size)
    return pa.table(
        {
            "cpr": cprs,
            "kommune": kommune,
            "status_date": _in_month(g, idx.size),
            "status": pick(g.rng, statuses, idx.size),
            "education_kind": pa.array(
                np.asarray(kind), pa.string(), mask=g.rng.random(idx.size) < 0.25
            ),
        }
    )


def uddannelse(g: Groups) -> pa.Table:
    idx = np.concatenate([g.course, g.background[g.rng.random(g.background.size) < 0.5]])
    cprs, _ = g.people.take(idx, dashed=False)
    year = g.start.year - 1 if g.start.month >= 10 else g.start.year - 2
    reference = dt.date(year, 9, 30)
    levels = {
        "grundskole": 0.4,
        "erhvervsfaglig": 0.3,
        "gymnasial": 0.07,
        "kort_videregaaende": 0.04,
        "mellemlang_videregaaende": 0.09,
        "bachelor": 0.03,
        "lang_videregaaende": 0.04,
        "forsker": 0.003,
        "uoplyst": 0.027,
    }
    highest = pick(g.rng, levels, idx.size)
    done = dates(g.rng, dt.date(1970, 6, 1), reference, idx.size)
    return pa.table(
        {
            "cpr": cprs,
            "highest_education": highest,
            "completed": date_array(done, g.rng.random(idx.size) >= 0.05),
            "reference_date": date_array(np.full(idx.size, reference.toordinal())),
            "valid_to": pa.nulls(idx.size, pa.date32()),  # the latest status: still holds
        }
    )


GENERATORS: dict[str, Callable[[Groups], pa.Table]] = {
    "lpr-psyk": lpr_psyk,
    "nab": nab,
    "sib": sib,
    "ges": ges,
    "dusas": dusas,
    "flis-aeldre": aeldre,
    "kvindekrisecentre": kvindekrisecentre,
    "dst-forsorgshjem": forsorgshjem,
    "su": su,
    "ungedatabasen": ungedatabasen,
    "dst-uddannelse": uddannelse,
}


def tables(g: Groups, n_children: int) -> dict[str, pa.Table]:
    """One table per register for the month of ``g``."""
    out = {name: make(g) for name, make in GENERATORS.items()}
    children = People(g.rng, n_children, g.codes, born=(1995, g.start.year))
    out["dst-udsatte-boern"] = udsatte_boern(g, children)
    return out
