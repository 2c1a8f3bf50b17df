"""Relative date ranges, as the console and the CLI read them: "last month" is the calendar
month before this one; "30d" the last thirty days."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.errors import InvalidRequest
from gateway.services.audit.filters import relative_range


def test_relative_ranges() -> None:
    today = dt.date(2026, 1, 15)
    assert relative_range("last-month", today) == ("2025-12-01", "2026-01-01")
    assert relative_range("last month", today) == ("2025-12-01", "2026-01-01")
    assert relative_range("7d", today) == ("2026-01-08", None)
    assert relative_range("30d", today) == ("2025-12-16", None)
    assert relative_range("this-year", today) == ("2026-01-01", None)
    assert relative_range(None, today) == (None, None)
    assert relative_range("last-month", dt.date(2026, 3, 31)) == ("2026-02-01", "2026-03-01")
    with pytest.raises(InvalidRequest):
        relative_range("yesterday-ish", today)
