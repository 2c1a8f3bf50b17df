"""The resource-course report as files: tables, headline figures, charts and one HTML page.

Every figure here is computed from **published** cells (after disclosure control), never from
the raw counts, so a share cannot reveal a suppressed cell. A share whose parts are suppressed
is shown as "suppressed". Each figure carries its data sources, period, coverage and
suppressions, in the chart's caption, in the JSON and on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.dataplane.ressourceforloeb import (
    COMBINATIONS,
    MULTI_AREA,
    SINGLE_AREA,
    STATUS,
    TIMING,
    ReportData,
)
from gateway.domain.disclosure import CheckedTable
from gateway.domain.quality import NO_FINDINGS
from gateway.domain.sdc_report import published_table
from gateway.reports import labels
from gateway.reports.bundle import csv_bytes, json_bytes, table_files
from gateway.reports.charts import bar_chart


@dataclass(frozen=True)
class Source:
    dataset: str
    title: str
    delivery: str | None  # None: no delivery for the period (a gap the page states)
    rows: int
    quality: str = ""  # the delivery's quality findings, one sentence (quality.note)


@dataclass(frozen=True)
class ReportContext:
    release_id: str
    title: str
    period: str
    generated_at: str
    recipient: str
    sanction: str
    policy_hash: str
    sources: tuple[Source, ...]
    municipality_names: dict[str, str]


def _cell(checked: CheckedTable, *index: int) -> float | None:
    value = float(checked.published_persons[index])
    return None if np.isnan(value) else value


def _share(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return 100.0 * part / whole


def _sum(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else float(sum(v or 0.0 for v in values))


def headline(tables: dict[str, CheckedTable]) -> list[dict[str, Any]]:
    """The report's key figures: one row per figure with its count, share and basis."""
    course = tables["persons-in-course"]
    offers = tables["employment-offers"]
    areas = tables["area-combinations"]
    timing = tables["offer-timing"]
    status = tables["status-13-weeks"]
    in_course = _cell(course, -1, -1)
    rows: list[dict[str, Any]] = [
        _row("persons in a resource course", in_course, None, "all persons in a course"),
        _row(
            "in at least one employment offer",
            _cell(offers, -1),
            _share(_cell(offers, -1), in_course),
            "persons in a course",
        ),
    ]
    for i, level in enumerate(offers.tabulation.levels[0]):
        rows.append(
            _row(
                f"employment offer: {level}",
                _cell(offers, i),
                _share(_cell(offers, i), in_course),
                "persons in a course",
            )
        )
    combo = {level: _cell(areas, i) for i, level in enumerate(COMBINATIONS)}
    with_offer = _sum([combo[c] for c in COMBINATIONS if c != "no offer"])
    basis = "courses with an offer, municipalities with social data"
    multi, single = _sum([combo[c] for c in MULTI_AREA]), _sum([combo[c] for c in SINGLE_AREA])
    rows.append(_row("offers from more than one area", multi, _share(multi, with_offer), basis))
    rows.append(_row("offers from one area only", single, _share(single, with_offer), basis))
    for c in COMBINATIONS:
        if c != "no offer":
            rows.append(_row(f"areas: {c}", combo[c], _share(combo[c], with_offer), basis))
    all_timing = _cell(timing, -1)
    for i, level in enumerate(TIMING):
        rows.append(
            _row(
                f"timing: {level}",
                _cell(timing, i),
                _share(_cell(timing, i), all_timing),
                "courses, municipalities with social data",
            )
        )
    ended = _cell(status, -1)
    rows.append(_row("courses ended (13-week follow-up)", ended, None, "ended courses"))
    for i, level in enumerate(STATUS):
        rows.append(
            _row(
                f"13 weeks after: {level}",
                _cell(status, i),
                _share(_cell(status, i), ended),
                "ended courses",
            )
        )
    return rows


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _row(figure: str, count: float | None, share: float | None, basis: str) -> dict[str, Any]:
    return {
        "figure": figure,
        "persons": _int(count),
        "share_percent": None if share is None else round(share, 1),
        "basis": basis,
    }


def _caption(ctx: ReportContext, data: ReportData, checked: CheckedTable, uses: list[str]) -> str:
    sources = "; ".join(
        f"{s.dataset} ({s.delivery or 'no delivery'})" for s in ctx.sources if s.dataset in uses
    )
    gaps = len(data.coverage.missing)
    coverage = (
        f"social data from {len(data.coverage.covered)} of "
        f"{len(data.coverage.covered) + gaps} municipalities"
        if "flis-voksenhandicap" in uses
        else "all municipalities"
    )
    findings = " ".join(  # the sources table lists the deliveries without findings too
        f"{s.quality}."
        for s in ctx.sources
        if s.dataset in uses and s.delivery and s.quality and not s.quality.endswith(NO_FINDINGS)
    )
    if findings:
        coverage = f"{coverage}. Quality: {findings.rstrip('.')}"
    hidden = int(checked.suppressed.sum())
    notes = " ".join(
        n if n.rstrip().endswith(".") else f"{n.rstrip()}." for n in checked.tabulation.notes
    )
    return (
        f"Sources: {sources}. Period: {data.period}. Coverage: {coverage}. "
        f"Suppressed cells: {hidden} (at least {checked.rules.min_persons} persons per cell). "
        f"{notes}"
    ).strip()


FIGURES: dict[str, tuple[str, list[str]]] = {
    "employment-offers": (
        "Share of persons in a resource course with an employment offer, by offer type",
        ["dfdg-indsats"],
    ),
    "area-combinations": (
        "Areas the offers of a course come from",
        ["dfdg-indsats", "flis-voksenhandicap", "lpr", "ssr"],
    ),
    "offer-timing": (
        "Timing of the offers in a course",
        ["dfdg-indsats", "flis-voksenhandicap", "lpr", "ssr"],
    ),
    "status-13-weeks": ("Status 13 weeks after the course ended", ["dfdg-indsats", "dfdg-ydelse"]),
    "persons-in-course": ("Persons in a resource course by municipality", ["dfdg-indsats"]),
}


def _chart_data(
    name: str, checked: CheckedTable, in_course: float | None
) -> tuple[list[str], list[float | None]]:
    """Labels and shares (per cent of the figure's basis) for a table's chart."""
    levels = list(checked.tabulation.levels[0])
    if name == "employment-offers":  # shares of everyone in a course, any offer first
        indices = [-1, *range(len(levels))]
        labels = ["any employment offer", *levels]
        return labels, [_share(_cell(checked, i), in_course) for i in indices]
    total = _cell(checked, -1)
    if name == "area-combinations":
        parts = [_cell(checked, i) for i, lv in enumerate(levels) if lv != "no offer"]
        total = _sum(parts)
        levels = [lv for lv in levels if lv != "no offer"]
    return levels, [_share(_cell(checked, i), total) for i in range(len(levels))]


def render(ctx: ReportContext, data: ReportData, checked: list[CheckedTable]) -> dict[str, bytes]:
    """Every file of the report bundle (the checker's ``results.json`` is not among them: it
    goes to the approvers and auditors, not to the recipient)."""
    by_name = {c.tabulation.name: c for c in checked}
    files: dict[str, bytes] = {}
    captions: dict[str, str] = {}
    charts: dict[str, str] = {}
    for c in checked:
        name = c.tabulation.name
        uses = FIGURES[name][1]
        captions[name] = _caption(ctx, data, c, uses)
        meta = {
            "period": data.period,
            "sources": [s.__dict__ for s in ctx.sources if s.dataset in uses],
            "coverage": captions[name],
        }
        files.update(table_files(c, meta))
        if name == "persons-in-course":
            continue
        levels, shares = _chart_data(name, c, _cell(by_name["persons-in-course"], -1, -1))
        heading = labels.HEADINGS[name][0] if name in labels.HEADINGS else FIGURES[name][0]
        words = [labels.term(level) for level in levels]
        drawn = bar_chart(heading, words, shares, captions[name])
        files[f"charts/{name}.png"] = drawn["png"]
        files[f"charts/{name}.svg"] = drawn["svg"]
        charts[name] = drawn["svg"].decode()
    rows = headline(by_name)
    files["headline.csv"] = csv_bytes(pa.Table.from_pylist(rows))
    files["headline.json"] = json_bytes(
        {"period": data.period, "release": ctx.release_id, "figures": rows}
    )
    coverage = _coverage_rows(ctx, data, by_name["persons-in-course"])
    files["coverage.csv"] = csv_bytes(pa.Table.from_pylist(coverage))
    files["index.html"] = _page(ctx, data, checked, rows, coverage, captions, charts).encode()
    return files


def _coverage_rows(
    ctx: ReportContext, data: ReportData, course: CheckedTable
) -> list[dict[str, Any]]:
    levels = course.tabulation.levels[0]
    covered = set(data.coverage.covered)
    return [
        {
            "kommune": code,
            "name": ctx.municipality_names.get(code, ""),
            "social_data": "delivered" if code in covered else "missing or invalid",
            "persons_in_course": _int(_cell(course, i, -1)),
        }
        for i, code in enumerate(levels)
    ]


CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b;line-height:1.45}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;
text-align:left;vertical-align:top}th{background:#eef2f7}td.num{text-align:right;white-space:nowrap}
.caption{font-size:.85rem;color:#444}.gap{color:#9a3412}.en{color:#555;font-size:.9em}
figure{margin:0}svg{max-width:100%;height:auto}
"""


_TEMPLATES = Environment(
    loader=PackageLoader("gateway.reports", "templates"), autoescape=select_autoescape(["html"])
)


def _published_rows(
    ctx: ReportContext, data: ReportData, checked: CheckedTable
) -> tuple[list[str], list[list[str]]]:
    """A published table as the page shows it: labels in words, numbers in Danish form, and
    no rows that repeat another (a one-month period's month total is its month)."""
    table = published_table(checked).to_pylist()
    dimensions = list(checked.tabulation.dimensions)
    one_month = "month" in dimensions and data.period.count("-") == 1
    if one_month:  # the month's rows and the 'Total' month rows are the same numbers
        table = [r for r in table if r["month"] == labels.TOTAL]
        dimensions.remove("month")
    columns = [*dimensions, "persons", "flag"]
    rows = []
    for r in table:
        row = []
        for c in columns:
            value = r.get(c)
            if c == "persons":
                row.append(labels.number(value) if value is not None else "")
            elif c == "kommune" and value != labels.TOTAL:
                row.append(f"{value} {ctx.municipality_names.get(str(value), '')}".strip())
            elif c == "flag":
                row.append("undertrykt (suppressed)" if value else "")
            else:
                row.append(labels.bilingual(str(value)) if value is not None else "")
        rows.append(row)
    headers = {"kommune": "Kommune", "persons": "Personer", "flag": "Markering", "month": "Måned"}
    return [headers.get(c, c) for c in columns], rows


def _page(
    ctx: ReportContext,
    data: ReportData,
    checked: list[CheckedTable],
    rows: list[dict[str, Any]],
    coverage: list[dict[str, Any]],
    captions: dict[str, str],
    charts: dict[str, str],
) -> str:
    missing = [f"{r['kommune']} {r['name']}" for r in coverage if r["social_data"] != "delivered"]
    tables = []
    for c in checked:
        name = c.tabulation.name
        heading_da, heading_en = labels.HEADINGS.get(name, (c.tabulation.title, ""))
        columns, cells = _published_rows(ctx, data, c)
        tables.append(
            {
                "heading_da": heading_da,
                "heading_en": heading_en,
                "chart": _strip_xml_header(charts[name]) if name in charts else None,
                "caption": captions[name],
                "status": c.status.value,
                "columns": columns,
                "rows": cells,
            }
        )
    return _TEMPLATES.get_template("ressourceforloeb.html").render(
        title=ctx.title,
        period=data.period,
        recipient=ctx.recipient,
        release_id=ctx.release_id,
        generated_at=ctx.generated_at,
        sanction=ctx.sanction,
        policy_hash=ctx.policy_hash,
        min_persons=checked[0].rules.min_persons,
        rows=rows,
        sources=ctx.sources,
        covered=len(data.coverage.covered),
        municipalities=len(coverage),
        missing=", ".join(missing),
        tables=tables,
        css=CSS,
        figure=labels.figure,
        basis=labels.basis,
        number=labels.number,
        percent=labels.percent,
    )


def _strip_xml_header(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
