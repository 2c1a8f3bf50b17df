"""A dataset's quality rules, and what a delivery's figures mean against them.

The audit office's central finding (seed 002) was poor and partial data as much as missing
links: adult disability data valid for 13, then 32, then 55 of the 98 municipalities, treatment
registers of doubtful completeness, GP service dates known to within one or two months. So
every accepted delivery gets a quality report: the data plane counts (rows, persons,
completeness, municipalities, events outside the month, duplicate events, date precision,
:mod:`gateway.dataplane.quality`) and this module judges those counts against the dataset's
rules and the previous month's delivery, and flags what a reader of the figures must know.

A flag does not refuse the delivery: the data are what the source has, and the receipt, the
quality endpoint, every release that reads the delivery and the reports' coverage notes say
what is wrong with them. Releases get :func:`for_release`, a summary without row counts per
municipality (counts of small groups would undo the disclosure control of aggregate releases).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Columns named in the rules are checked against the dataset's columns by the policy loader.


class EventsRule(StrEnum):
    """Which events of a delivery lie outside its month.

    ``in-period``: each row is an event (or a stretch of time) that should touch the month; a
    row that ended before it or starts after it is outside. ``history``: the delivery carries
    earlier history as well (a benefit history, a stock of ongoing efforts), so only events
    that start after the month are outside."""

    IN_PERIOD = "in-period"
    HISTORY = "history"


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImpreciseDate(_Rules):
    """A date column known only to within ``months`` months (SSR's settlement dates, seed
    000: "kun kendt indenfor 1-2 måneders præcision"). Dates that far from the month are
    reported as imprecise, not as outside the month."""

    column: str
    months: int = Field(ge=1, le=12)


class Thresholds(_Rules):
    """When a delivery is flagged. Changes are relative to the previous month's delivery:
    0.25 flags a change of more than 25 % either way, if the change is also beyond chance (more
    than three standard deviations of a count, ``3 * sqrt(now + before)``): 9 rows where there
    were 20 is what a small municipality's month can bring, 40 where there were 100 is not."""

    rows_change: float = Field(0.25, gt=0, description="Rows against the previous month.")
    persons_change: float = Field(0.25, gt=0, description="Persons against the previous month.")
    municipality_change: float = Field(
        0.5, gt=0, description="Rows of one municipality against the previous month."
    )
    municipality_min_rows: int = Field(
        20, ge=1, description="Municipalities with fewer rows in both months are not compared."
    )
    municipalities_lost: int = Field(
        1,
        ge=1,
        description="Municipalities with rows last month (more than chance could take away: "
        "four standard deviations) and none now.",
    )
    outside_period: float = Field(0.01, ge=0, description="Share of rows outside the month.")
    confirm_drop: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A corrected delivery with this much fewer rows or persons than the "
        "month's current version waits for its source's confirmation before it replaces it.",
    )
    confirm_outside: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A delivery with this share of its rows dated outside its month (a file "
        "sent for the wrong month) waits for its source's confirmation.",
    )
    duplicates: float = Field(0.001, ge=0, description="Share of rows repeating another row.")
    completeness: dict[str, float] = Field(
        default_factory=dict,
        description="Lowest share of present values, per optional column that should be "
        "filled (an empty end date is an open period, not a gap: not listed).",
    )


class QualityRules(_Rules):
    """The ``quality:`` block of a dataset file."""

    events: EventsRule = EventsRule.IN_PERIOD
    imprecise_dates: tuple[ImpreciseDate, ...] = ()
    expected_municipalities: int | None = Field(
        None,
        ge=1,
        description="Municipalities a complete delivery covers; none: every municipality.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)

    def imprecision(self, column: str) -> int:
        """How many months ``column`` may be off (0: precise)."""
        return next((d.months for d in self.imprecise_dates if d.column == column), 0)


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else round((now - before) / before, 4)


def beyond_chance(now: int, before: int, *, spread: float = 1.0, sigmas: float = 3.0) -> bool:
    """Whether two counts differ by more than ``sigmas`` standard deviations of their
    difference: each count's variance taken as ``spread`` times the count (1 for Poisson
    counts; rows per person for rows, which come in clusters of one person's events)."""
    return abs(now - before) > sigmas * math.sqrt(max(spread, 1.0) * (now + before))


# 98 municipalities are compared at once: four standard deviations keep a chance flag among
# them rare (about one delivery in 160 under the normal approximation).
MUNICIPALITY_SIGMAS = 4.0


def _share(part: int, whole: int) -> float:
    return 0.0 if whole == 0 else round(part / whole, 4)


def assess(
    figures: dict[str, Any],
    rules: QualityRules,
    *,
    municipalities: list[str],
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """The quality report: ``figures`` (from the data plane) with coverage, change against
    ``previous`` (``{"delivery", "period", "quality"}`` of the previous month's current
    delivery, or None) and the flags the dataset's thresholds raise."""
    limits = rules.thresholds
    rows, persons = int(figures["rows"]), int(figures["persons"])
    flags: list[dict[str, str]] = []
    report: dict[str, Any] = {**figures, "thresholds": limits.model_dump()}

    for name, least in sorted(limits.completeness.items()):
        col = figures["columns"][name]
        if rows and col["completeness"] < least:
            flags.append(
                _flag(
                    "low-completeness",
                    f"column '{name}' is present in {col['completeness']:.0%} of rows "
                    f"(threshold {least:.0%})",
                )
            )
    for name, col in sorted(figures["columns"].items()):
        if col.get("below_minimum"):
            flags.append(
                _flag(
                    "below-minimum",
                    f"{col['below_minimum']} row(s) of column '{name}' are below "
                    f"{col['minimum']}: a correction, or an error?",
                )
            )
    by_code: dict[str, int] | None = figures.get("municipalities", {}).get("rows")
    if by_code is not None:
        delivered = sorted(code for code, n in by_code.items() if n)
        expected = rules.expected_municipalities or len(municipalities)
        report["coverage"] = {
            "delivered": len(delivered),
            "of": len(municipalities),
            "expected": expected,
            "missing": sorted(set(municipalities) - set(delivered)),
        }
        if len(delivered) < expected:
            flags.append(
                _flag(
                    "partial-coverage",
                    f"rows from {len(delivered)} of {len(municipalities)} municipalities "
                    f"(a complete delivery covers {expected})",
                )
            )
    events = figures["events"]
    outside = int(events["outside_period"])
    if rows and outside / rows > limits.outside_period:
        flags.append(
            _flag(
                "events-outside-period",
                f"{outside} of {rows} rows ({_share(outside, rows):.1%}) are dated outside "
                f"{figures['period']}",
            )
        )
    dups = figures["duplicates"]["rows"]
    if rows and dups / rows > limits.duplicates:
        flags.append(
            _flag("duplicate-events", f"{dups} rows ({_share(dups, rows):.2%}) repeat another row")
        )
    if previous is not None:
        report["previous"] = _against_previous(rows, persons, by_code, previous, limits, flags)
    report["flags"] = flags
    report["status"] = "flagged" if flags else "ok"
    return report


def _municipalities(n: int) -> str:
    return f"{n} municipality" if n == 1 else f"{n} municipalities"


def _flag(code: str, detail: str) -> dict[str, str]:
    return {"code": code, "detail": detail}


def _against_previous(
    rows: int,
    persons: int,
    by_code: dict[str, int] | None,
    previous: dict[str, Any],
    limits: Thresholds,
    flags: list[dict[str, str]],
) -> dict[str, Any]:
    before = previous["quality"]
    period = previous["period"]
    out: dict[str, Any] = {
        "delivery": previous["delivery"],
        "period": period,
        "rows": before["rows"],
        "persons": before["persons"],
        "rows_change": _change(rows, before["rows"]),
        "persons_change": _change(persons, before["persons"]),
    }
    for what, now, was, limit in (
        ("rows", rows, before["rows"], limits.rows_change),
        ("persons", persons, before["persons"], limits.persons_change),
    ):
        change = _change(now, was)
        spread = rows / persons if what == "rows" and persons else 1.0
        if change is not None and abs(change) > limit and beyond_chance(now, was, spread=spread):
            flags.append(
                _flag(
                    f"{what}-changed",
                    f"{what} {change:+.0%} against {period} ({was} then, {now} now; "
                    f"threshold {limit:.0%})",
                )
            )
    earlier: dict[str, int] | None = before.get("municipalities", {}).get("rows")
    if by_code is None or earlier is None:
        return out
    lost = sorted(c for c, n in earlier.items() if n and not by_code.get(c))
    spread = rows / persons if persons else 1.0
    lost_beyond_chance = [
        c for c in lost if beyond_chance(0, earlier[c], spread=spread, sigmas=MUNICIPALITY_SIGMAS)
    ]
    gained = sorted(c for c, n in by_code.items() if n and not earlier.get(c))
    changed = []
    for code in sorted(set(earlier) | set(by_code)):
        now, was = by_code.get(code, 0), earlier.get(code, 0)
        if max(now, was) < limits.municipality_min_rows or not now or not was:
            continue
        change = _change(now, was)
        if (
            change is not None
            and abs(change) > limits.municipality_change
            and beyond_chance(now, was, spread=spread, sigmas=MUNICIPALITY_SIGMAS)
        ):
            changed.append({"kommune": code, "previous": was, "now": now, "change": change})
    out.update(
        municipalities_lost=lost, municipalities_gained=gained, municipalities_changed=changed
    )
    if len(lost_beyond_chance) >= limits.municipalities_lost:
        shown = lost_beyond_chance
        flags.append(
            _flag(
                "municipalities-lost",
                f"{_municipalities(len(shown))} delivered rows for {period} (more than chance "
                "would take away) and none now: "
                + ", ".join(shown[:10])
                + ("..." if len(shown) > 10 else ""),
            )
        )
    if changed:
        flags.append(
            _flag(
                "municipality-changed",
                f"rows of {_municipalities(len(changed))} changed by more than "
                f"{limits.municipality_change:.0%} against {period}: "
                + ", ".join(str(c["kommune"]) for c in changed[:10])
                + ("..." if len(changed) > 10 else ""),
            )
        )
    return out


def for_release(report: dict[str, Any]) -> dict[str, Any]:
    """What a recipient must know to read figures made from the delivery, without its row
    counts: the flags' codes, municipal coverage, shares outside the month and repeated,
    completeness per column and date precision, as rounded shares."""
    rows = int(report["rows"]) or 1
    out: dict[str, Any] = {
        "status": report["status"],
        "flags": sorted({f["code"] for f in report["flags"]}),
        "completeness": {
            name: round(col["completeness"], 2) for name, col in report["columns"].items()
        },
        "outside_period_share": round(report["events"]["outside_period"] / rows, 3),
        "duplicate_share": round(report["duplicates"]["rows"] / rows, 3),
    }
    if "coverage" in report:
        cov = report["coverage"]
        out["coverage"] = {k: cov[k] for k in ("delivered", "of", "missing")}
    if report.get("date_precision"):
        out["date_precision"] = {
            name: {
                "months": p["months"],
                "outside_month_share": round(p["outside_month"] / rows, 3),
            }
            for name, p in report["date_precision"].items()
        }
    return out


NO_FINDINGS = "no quality findings"


def note(dataset: str, period: str, summary: dict[str, Any]) -> str:
    """One sentence for a report's coverage note: what is wrong with a delivery, or that
    nothing was found."""
    parts: list[str] = []
    cov = summary.get("coverage")
    if cov and cov["delivered"] < cov["of"]:
        parts.append(f"rows from {cov['delivered']} of {cov['of']} municipalities")
    for name, p in (summary.get("date_precision") or {}).items():
        parts.append(f"{name} known to within {p['months']} months")
    if summary["outside_period_share"]:
        parts.append(f"{summary['outside_period_share']:.1%} of rows dated outside the month")
    if summary["duplicate_share"]:
        parts.append(f"{summary['duplicate_share']:.1%} of rows repeated")
    flagged = [f for f in summary["flags"] if f not in ("partial-coverage",)]
    if flagged:
        parts.append("flagged: " + ", ".join(flagged))
    return f"{dataset} {period}: " + ("; ".join(parts) if parts else NO_FINDINGS)
