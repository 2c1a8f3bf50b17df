"""The records of processing as a printable page (Danish, with English beside), from the data
:func:`gateway.domain.processing_records.build` makes; the same page the console shows."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

_TEMPLATES = Environment(
    loader=PackageLoader("gateway.reports", "templates"),
    autoescape=select_autoescape(["html"]),
)


def page(record: dict[str, Any], snapshot: dict[str, Any] | None = None) -> str:
    """The whole record as one HTML page (print CSS: each activity kept on one page)."""
    return _TEMPLATES.get_template("processing_records.html").render(
        record=record, snapshot=snapshot
    )
