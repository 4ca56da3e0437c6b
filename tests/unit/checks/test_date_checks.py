"""Plausible dates and freshness on a tiny project, at their exact bounds (hand-checked)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.app.workspace import open_workspace
from pipeline.checks.source_checks import run_source_checks
from pipeline.core.periods import Calendar, Grain
from support.messy import make

TODAY = date(2026, 11, 25)  # plausible up to today + 366 days = 2027-11-26
COLUMNS = {"id": {"type": "integer"}, "at": {"type": "timestamp"}}


def _checks(root: Path, period: str = "2026-10") -> dict:
    with open_workspace(root, use_cache=False) as ws:  # the project's engine: DuckDB
        calendar = Calendar(Grain.MONTH)
        results = run_source_checks(ws.engine, ws.config, calendar, calendar.parse(period, TODAY), TODAY,
                                    ranges=ws.ranges)
    return {r.name: r for r in results}


@pytest.mark.parametrize("stamp, passed", [
    ("2027-11-26 23:30:00", True),  # the last plausible day, late in the evening (local time)
    ("2027-11-27 00:30:00", False),  # the day after, just after local midnight
    ("2027-11-26T23:30:00Z", False),  # 00:30 on 27 November in Copenhagen
    ("1990-01-01 00:00:00", True),
    ("1989-12-31 23:59:59", False),
    ("1989-12-31T23:30:00Z", True),  # 00:30 on 1 January 1990 in Copenhagen
])
def test_plausible_dates_bounds_are_local_days(tmp_path: Path, stamp: str, passed: bool) -> None:
    root = make(tmp_path, {"data/a.csv": f"id,at\n1,2026-10-30 12:00:00\n2,{stamp}\n"}, columns=COLUMNS)
    found = _checks(root)["plausible_dates:at"]
    assert found.passed is passed
    assert found.numbers["rows"] == (0 if passed else 1)


def test_plausible_dates_reports_the_local_range(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,at\n1,2026-09-30T22:30:00Z\n2,2026-10-31T23:30:00Z\n"}, columns=COLUMNS)
    found = _checks(root)["plausible_dates:at"]
    assert (found.numbers["min"], found.numbers["max"]) == (date(2026, 10, 1), date(2026, 11, 1))


@pytest.mark.parametrize("last_day, passed", [
    (31, True), (28, True),  # three days without events at the end: within grace_days (3)
    (27, False),  # four days: stale
])
def test_freshness_allows_grace_days_without_events(tmp_path: Path, last_day: int, passed: bool) -> None:
    root = make(tmp_path, {"data/a.csv": f"id,at\n1,2026-10-01 09:00:00\n2,2026-10-{last_day:02d} 09:00:00\n"},
                columns=COLUMNS)
    found = _checks(root)["freshness"]
    assert found.passed is passed
    assert found.numbers["latest"] == date(2026, 10, last_day) and found.numbers["needed"] == date(2026, 10, 31)
    if not passed:
        assert found.message.endswith("set sources.items.checks.freshness.grace_days: 4 (or severity: warn)")


def test_freshness_of_a_period_to_date_needs_yesterday(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,at\n1,2026-11-01 09:00:00\n2,2026-11-21 09:00:00\n"}, columns=COLUMNS)
    found = _checks(root, "2026-11")["freshness"]  # today 25 November: needs 24 November, minus 3 days
    assert found.passed and found.numbers["needed"] == date(2026, 11, 24)
    assert _checks(root, "2026-11")["coverage"].numbers["status"] == "to_date"
