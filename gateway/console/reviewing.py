"""The output checker's findings as the console shows them, cell by cell (SACRO Viewer's
layout): used by the review queue and by each release's report page."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from gateway.domain.principals import Principal
from gateway.services.releases import aggregates

MAX_CELLS = 500  # rows shown per table; the review folder (SACRO Viewer) has them all


def checked_cells(ctx: Any, by: Principal, release: Any) -> list[dict[str, Any]]:
    """Each held table cell by cell, as SACRO Viewer shows it: the published row (labels and
    statistic, empty where suppressed) beside what the checker found in it."""
    files = aggregates.review_files(ctx, by=by, release=release)
    report = json.loads(files["results.json"])
    tables = []
    for uid, output in report["results"].items():
        name = output["files"][0]["name"]
        rows = list(csv.reader(io.StringIO(files.get(name, b"").decode())))
        outcome: dict[str, str] = next(iter(output.get("outcome", {}).values()), {})
        cells = [
            {"row": row, "findings": [f for f in outcome.get(str(i), "").split("; ") if f]}
            for i, row in enumerate(rows[1 : MAX_CELLS + 1])
        ]
        tables.append(
            {
                "uid": uid,
                "title": output["properties"].get("title") or output["properties"]["name"],
                "status": output["status"],
                "counts": [
                    (check, n)
                    for check, n in output["files"][0]["sdc"]["summary"].items()
                    if check != "suppressed" and n
                ],
                "header": rows[0] if rows else [],
                "cells": cells,
                "more": max(0, len(rows) - 1 - MAX_CELLS),
            }
        )
    return tables
