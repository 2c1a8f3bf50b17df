"""When a delivery waits for its source's confirmation before it becomes the month's current
version: a delivery that would make data vanish, or that looks like another month's file.

* ``no-rows``: nothing but a header;
* ``rows-dropped`` / ``persons-dropped``: far fewer rows or persons than the month's current
  version (``quality.thresholds.confirm_drop`` of the dataset, half by default);
* ``mostly-outside-period``: most rows dated outside the month (``confirm_outside``).

Such a delivery is stored (its receipt is as durable as any) and flagged, and the current
version stays, until the source confirms it (``POST /v1/deliveries/{id}/confirm``, or the
push's ``confirm=true``).
"""

from __future__ import annotations

from typing import Any

from gateway.domain.quality import Thresholds


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "all"


def reasons(
    new: dict[str, Any], current: dict[str, Any] | None, limits: Thresholds
) -> list[dict[str, str]]:
    """Why ``new`` (a quality report) may not replace ``current`` (the month's current
    version's report, if any) without its source's word; empty if it may."""
    found: list[dict[str, str]] = []
    rows = int(new.get("rows", 0))
    if rows == 0:
        found.append({"code": "no-rows", "detail": "the delivery holds no rows"})
    if current is not None and rows:
        for what in ("rows", "persons"):
            before, now = int(current.get(what, 0)), int(new.get(what, 0))
            if before and (before - now) / before >= limits.confirm_drop:
                found.append(
                    {
                        "code": f"{what}-dropped",
                        "detail": f"{now} {what} where the current version has {before} "
                        f"({_share(before - now, before)} fewer)",
                    }
                )
    outside = int(new.get("events", {}).get("outside_period", 0))
    if rows and outside / rows >= limits.confirm_outside:
        found.append(
            {
                "code": "mostly-outside-period",
                "detail": f"{outside} of {rows} rows ({_share(outside, rows)}) are dated "
                "outside the month: is this another month's file?",
            }
        )
    return found
