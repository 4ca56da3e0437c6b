"""Period arithmetic: grains, fiscal years, leap years, `last` and `current`."""

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.errors import PulseError
from pipeline.core.periods import Calendar, Grain, history_back, today_in
from support.cases import load_cases

MONTH = Calendar(Grain.MONTH)
QUARTER = Calendar(Grain.QUARTER)
WEEK = Calendar(Grain.WEEK)
YEAR = Calendar(Grain.YEAR)


def test_month_label_and_bounds():
    p = MONTH.parse("2026-10", date(2026, 11, 25))
    assert (p.start, p.end, p.label) == (date(2026, 10, 1), date(2026, 11, 1), "2026-10")


def test_last_on_the_first_of_a_month_is_the_previous_month():
    assert MONTH.parse("last", date(2026, 11, 1)).label == "2026-10"
    assert MONTH.parse("last", date(2026, 10, 31)).label == "2026-09"


def test_last_across_a_year_boundary():
    p = MONTH.parse("last", date(2027, 1, 1))
    assert (p.label, p.start, p.end) == ("2026-12", date(2026, 12, 1), date(2027, 1, 1))


def test_current_is_the_period_to_date():
    assert MONTH.parse("current", date(2026, 11, 25)).label == "2026-11"
    assert QUARTER.parse("current", date(2026, 11, 25)).label == "2026-Q4"


def test_february_in_leap_and_common_years():
    leap = MONTH.parse("2024-02", date(2026, 1, 1))
    common = MONTH.parse("2025-02", date(2026, 1, 1))
    assert (leap.end - leap.start).days == 29
    assert (common.end - common.start).days == 28


def test_same_month_last_year_from_a_leap_february():
    feb = MONTH.parse("2024-02", date(2026, 1, 1))
    assert MONTH.same_period_last_year(feb).label == "2023-02"


def test_quarters_calendar_year():
    q3 = QUARTER.parse("2026-Q3", date(2026, 11, 25))
    assert (q3.start, q3.end) == (date(2026, 7, 1), date(2026, 10, 1))
    assert QUARTER.parse("last", date(2026, 10, 1)).label == "2026-Q3"
    assert QUARTER.parse("last", date(2026, 1, 15)).label == "2025-Q4"
    assert QUARTER.shift(q3, 2).label == "2027-Q1"


def test_fiscal_quarters_named_by_the_year_they_end():
    fiscal = Calendar(Grain.QUARTER, fiscal_year_start=7)
    q1 = fiscal.parse("2026-Q1", date(2026, 1, 1))
    assert (q1.start, q1.end) == (date(2025, 7, 1), date(2025, 10, 1))
    assert fiscal.containing(date(2026, 6, 30)).label == "2026-Q4"
    assert fiscal.containing(date(2026, 7, 1)).label == "2027-Q1"


def test_fiscal_year():
    fy = Calendar(Grain.YEAR, fiscal_year_start=4).parse("2026", date(2026, 1, 1))
    assert (fy.start, fy.end) == (date(2025, 4, 1), date(2026, 4, 1))


def test_iso_weeks_across_the_year_end():
    w1 = WEEK.parse("2026-W01", date(2026, 3, 1))
    assert w1.start == date(2025, 12, 29)  # ISO week 1 of 2026 starts in 2025
    assert WEEK.containing(date(2021, 1, 3)).label == "2020-W53"
    assert WEEK.same_period_last_year(WEEK.parse("2020-W53", date(2022, 1, 1))).label == "2019-W52"
    assert WEEK.same_period_last_year(WEEK.parse("2022-W10", date(2023, 1, 1))).label == "2021-W10"


def test_window_holds_trend_and_last_year():
    p = MONTH.parse("2026-10", date(2026, 11, 25))
    window = MONTH.window(p, history_back(Grain.MONTH))
    labels = [x.label for x in window]
    assert labels[-1] == "2026-10"
    assert "2025-10" in labels
    assert labels == sorted(labels)
    assert len(labels) == 24  # 12-period trend + the same 12 periods a year earlier


@pytest.mark.parametrize("case", load_cases("periods", "parse"))
def test_labels_parse_to_their_bounds(case):
    """tests/cases/periods.yaml: each label's bounds, worked out by hand."""
    calendar = Calendar(Grain(case["grain"]), fiscal_year_start=case.get("fiscal", 1))
    period = calendar.parse(case["text"], case["today"])
    assert (period.label, period.start, period.end) == (case["label"], case["start"], case["end"])


@pytest.mark.parametrize("case", load_cases("periods", "bad"))
def test_bad_labels_are_refused(case):
    with pytest.raises(PulseError, match=f"not a {case['grain']} period"):
        Calendar(Grain(case["grain"])).parse(case["text"], date(2026, 11, 25))


def test_today_in_the_reporting_time_zone():
    late_utc = datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)
    assert today_in("Europe/Copenhagen", late_utc) == date(2026, 11, 1)
    assert today_in("UTC", late_utc) == date(2026, 10, 31)
    # 'last' seen from Copenhagen just after midnight on the 1st is already October
    assert MONTH.parse("last", today_in("Europe/Copenhagen", late_utc)).label == "2026-10"


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
       st.sampled_from(list(Grain)), st.integers(1, 12))
def test_every_day_is_in_exactly_its_containing_period(day, grain, fiscal_start):
    cal = Calendar(grain, fiscal_start)
    p = cal.containing(day)
    assert p.start <= day < p.end
    assert cal.shift(p, 1).start == p.end
    assert cal.shift(cal.shift(p, 1), -1) == p
    assert cal.parse(p.label, day) == p  # labels round-trip
