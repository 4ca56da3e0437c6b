"""How a source's [first event, last event] covers a report period (pipeline.checks.coverage), hand-checked."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.checks.coverage import (
    COVERED,
    OUTSIDE,
    PARTIAL,
    TO_DATE,
    UNKNOWN,
    outside_message,
    period_coverage,
)
from pipeline.core.periods import Calendar, Grain
from pipeline.sources.coverage import SourceRange

MONTH = Calendar(Grain.MONTH)
OCTOBER = MONTH.parse("2026-10", date(2026, 11, 25))
AFTER = date(2026, 11, 25)  # a day after October is over


def cover(first, last, period=OCTOBER, today=AFTER, grace=3):
    return period_coverage(SourceRange("sales", "order_ts", first, last), period, today, grace)


@pytest.mark.parametrize("first, last, status", [
    (date(2024, 9, 1), date(2026, 10, 31), COVERED),
    (date(2024, 9, 1), date(2026, 10, 28), COVERED),  # 3 days without events at the end: the grace
    (date(2024, 9, 1), date(2026, 10, 27), PARTIAL),  # 4 days: data ends inside the period
    (date(2026, 10, 4), date(2026, 11, 30), COVERED),  # starts on the 4th: 3 days of grace at the start
    (date(2026, 10, 5), date(2026, 11, 30), PARTIAL),  # starts inside the period
    (date(2026, 10, 31), date(2026, 10, 31), PARTIAL),  # one day of data, the last one
    (date(2026, 11, 1), date(2027, 1, 1), OUTSIDE),  # the period ends before the first event
    (date(2024, 9, 1), date(2026, 9, 30), OUTSIDE),  # ... starts after the last one
    (None, None, OUTSIDE),  # no events at all
])
def test_status(first, last, status) -> None:
    assert cover(first, last).status == status


def test_partial_says_which_end() -> None:
    ends = cover(date(2024, 9, 1), date(2026, 10, 20))
    assert (ends.starts_inside, ends.ends_inside) == (False, True)
    starts = cover(date(2026, 10, 15), date(2026, 12, 1))
    assert (starts.starts_inside, starts.ends_inside) == (True, False)


def test_a_period_not_over_is_period_to_date_even_with_data_to_yesterday() -> None:
    november = MONTH.parse("2026-11", AFTER)
    found = cover(date(2024, 9, 1), date(2026, 11, 24), november, today=AFTER)
    assert found.status == TO_DATE and found.partial
    # on the period's last day it is still not over
    assert cover(date(2024, 9, 1), date(2026, 11, 29), november, today=date(2026, 11, 30)).status == TO_DATE
    # the day after, it is
    assert cover(date(2024, 9, 1), date(2026, 11, 30), november, today=date(2026, 12, 1)).status == COVERED


def test_a_current_period_after_the_last_event_is_outside() -> None:
    november = MONTH.parse("2026-11", AFTER)
    assert cover(date(2024, 9, 1), date(2026, 10, 31), november).status == OUTSIDE


def test_without_an_event_time_coverage_is_unknown() -> None:
    found = period_coverage(SourceRange("lookup", None), OCTOBER, AFTER, 3)
    assert found.status == UNKNOWN and not found.partial


def test_outside_message_names_source_column_and_range() -> None:
    found = cover(date(2024, 9, 1), date(2026, 9, 30))
    assert outside_message(found, OCTOBER) == (
        "2026-10 (2026-10-01 … 2026-10-31) is after the last order_ts of sales: its data covers "
        "2024-09-01 … 2026-09-30")
    before = cover(date(2027, 1, 4), date(2027, 2, 1))
    assert "is before the first order_ts of sales" in outside_message(before, OCTOBER)


def test_weeks_and_quarters() -> None:
    week = Calendar(Grain.WEEK).parse("2026-W44", AFTER)  # Mon 26 Oct - Sun 1 Nov 2026
    assert cover(date(2024, 1, 1), date(2026, 10, 29), week).status == COVERED  # Thu: 3 days before Sunday
    assert cover(date(2024, 1, 1), date(2026, 10, 28), week).status == PARTIAL
    quarter = Calendar(Grain.QUARTER).parse("2026-Q3", AFTER)
    assert cover(date(2026, 8, 1), date(2026, 12, 1), quarter).status == PARTIAL
