"""The console's relative date ranges: "last month" is the calendar month before this one."""

from __future__ import annotations

import datetime as dt

from gateway.console.pages import _range


def test_relative_ranges() -> None:
    today = dt.date(2026, 1, 15)
    assert _range("last-month", today) == ("2025-12-01", "2026-01-01")
    assert _range("7d", today) == ("2026-01-08", None)
    assert _range("30d", today) == ("2025-12-16", None)
    assert _range("this-year", today) == ("2026-01-01", None)
    assert _range(None, today) == (None, None)
    assert _range("last-month", dt.date(2026, 3, 31)) == ("2026-02-01", "2026-03-01")
