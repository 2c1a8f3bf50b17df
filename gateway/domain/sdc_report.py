"""The checker's outputs: published tables in long form and the report in ACRO's layout.

A checked table is published as one row per cell of its cube, margins included (the total
over a dimension is labelled ``Total``), with the statistic empty where a cell is suppressed and
a ``flag`` column holding one word, ``suppressed``: which rule hid a cell (a threshold, or
secondary suppression protecting another) would tell the small cells from their partners, so
that is for the reviewers' report only. The report is the ``results.json`` that ACRO (the
SACRO output checker) writes, so output checkers can read it with the tools they already use:

    {"version": ..., "results": {"output_0": {"uid", "status", "type", "properties",
     "files": [{"name", "sdc": {"summary": {...counts}, "cells": {check: [[row, col], ...]}}}],
     "outcome", "command", "summary", "timestamp", "comments", "exception"}, ...}}

``cells`` positions are ``[row, column]`` in the published CSV (row 0 = first data row). The
report never carries the value of a suppressed cell, only where it is and which check fired.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from gateway.domain.disclosure import TOTAL, CheckedTable, Status

# The ACRO results.json format version the layout follows (SACRO Viewer reads 0.4 and later),
# and what wrote it.
REPORT_VERSION = "0.4.0"
GENERATOR = "gateway-sdc/1 (ACRO results.json layout)"
SUPPRESSED = "suppressed"  # the one flag a published cell can carry


def _labels(checked: CheckedTable) -> list[pa.Array]:
    """One label array per dimension, in the cube's C order (the last axis varies fastest)."""
    levels = [(*lv, TOTAL) for lv in checked.tabulation.levels]
    grids = np.meshgrid(*[np.arange(len(lv)) for lv in levels], indexing="ij")
    return [
        pa.array(np.array(lv, dtype=object)[g.ravel()], pa.string())
        for lv, g in zip(levels, grids, strict=True)
    ]


def flag_text(checked: CheckedTable) -> np.ndarray:
    """Per cell: the checks that fired, ``"; "``-joined ("" when none), flattened C order."""
    out = np.full(checked.suppressed.size, "", dtype=object)
    for check, mask in checked.flags.items():
        hits = mask.ravel()
        out[hits] = out[hits] + np.where(out[hits] == "", "", "; ") + check.value
    return out


def published_table(checked: CheckedTable) -> pa.Table:
    """The table as released: dimension labels, the statistic(s), and the flag column."""
    tab = checked.tabulation
    columns: dict[str, pa.Array] = dict(zip(tab.dimensions, _labels(checked), strict=True))
    persons = checked.published_persons.ravel()
    columns["persons"] = pa.array(
        np.nan_to_num(persons, nan=0).astype(np.int64), mask=np.isnan(persons)
    )
    if checked.published_sums is not None:
        sums = checked.published_sums.ravel()
        columns[tab.value_name] = pa.array(np.nan_to_num(sums, nan=0.0), mask=np.isnan(sums))
    text = np.where(checked.suppressed.ravel(), SUPPRESSED, "")
    columns["flag"] = pa.array(text.astype(str), pa.string())
    return pa.table(columns)


def output_entry(
    checked: CheckedTable, *, uid: str, filename: str, command: str, timestamp: str
) -> dict[str, Any]:
    """One ``results[uid]`` entry in ACRO's layout."""
    tab = checked.tabulation
    column = len(tab.dimensions)  # the statistic's position in the published CSV
    cells = {
        check.value: [[int(i), column] for i in np.flatnonzero(mask.ravel())]
        for check, mask in checked.flags.items()
    }
    summary: dict[str, Any] = {"suppressed": bool(checked.suppressed.any())}
    summary.update({check.value: n for check, n in checked.counts().items()})
    flags = flag_text(checked)
    outcome = {tab.statistic: {str(i): (f or "ok") for i, f in enumerate(flags)}}
    return {
        "uid": uid,
        "status": checked.status.value,
        "type": "table",
        "properties": {
            "method": "count distinct persons" if tab.sums is None else "sum per person",
            "name": tab.name,
            "title": tab.title,
            "dimensions": list(tab.dimensions),
            "rules": checked.rules.model_dump(mode="json"),
            "audit": checked.audit.as_dict(),
            "notes": list(tab.notes),
        },
        "files": [{"name": filename, "sdc": {"summary": summary, "cells": cells}}],
        "outcome": outcome,
        "command": command,
        "summary": checked.summary(),
        "timestamp": timestamp,
        "comments": list(checked.reasons),
        "exception": "",
    }


def results_json(
    checked: list[CheckedTable], *, command: str, timestamp: str, files: list[str]
) -> dict[str, Any]:
    """The whole report: one output per checked table, in order."""
    results = {
        f"output_{i}": output_entry(
            table, uid=f"output_{i}", filename=name, command=command, timestamp=timestamp
        )
        for i, (table, name) in enumerate(zip(checked, files, strict=True))
    }
    return {
        "version": REPORT_VERSION,
        "generator": GENERATOR,
        "status": overall_status(checked).value,
        "results": results,
    }


def overall_status(checked: list[CheckedTable]) -> Status:
    return Status.worst([c.status for c in checked])


def reasons(checked: list[CheckedTable]) -> list[str]:
    """Every reason a table is not a plain pass, prefixed with the table's name."""
    return [f"{c.tabulation.name}: {r}" for c in checked for r in c.reasons]
