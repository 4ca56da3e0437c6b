"""Schedules: cron times, the period each builds, DST, what is owed (pure, no runs)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import load_project
from pipeline.config.reports import ReportSchedule
from pipeline.delivery.schedule import first_per_period, latest_time, next_due, next_time, owed_runs, period_for

CPH = ZoneInfo("Europe/Copenhagen")
UTC = timezone.utc


@pytest.fixture
def config(project):
    return load_project(project)


def with_schedule(config, **schedule):
    return config.reports["monthly"].model_copy(update={"schedule": ReportSchedule(**schedule)})


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_scheduled_time_builds_the_last_complete_period_in_the_reporting_zone(config):
    report = config.reports["monthly"]
    assert period_for(config, report, datetime(2026, 11, 2, 7, tzinfo=CPH)).label == "2026-10"
    assert period_for(config, report, utc(2026, 10, 31, 23, 30)).label == "2026-10"  # 00:30 on 1 Nov in Copenhagen
    assert period_for(config, report, utc(2026, 10, 31, 22, 30)).label == "2026-09"  # still 31 Oct in Copenhagen
    assert period_for(config, report, datetime(2027, 1, 2, 7, tzinfo=CPH)).label == "2026-12"


def test_month_ends_and_year_end():
    times, moment = [], utc(2026, 10, 15)
    for _ in range(4):
        moment = next_time("0 7 2 * *", CPH, moment)
        times.append(moment.isoformat())
    assert times == ["2026-11-02T07:00:00+01:00", "2026-12-02T07:00:00+01:00", "2027-01-02T07:00:00+01:00",
                     "2027-02-02T07:00:00+01:00"]
    assert latest_time("0 7 2 * *", CPH, utc(2026, 11, 2, 6)).isoformat() == "2026-11-02T07:00:00+01:00"
    assert latest_time("0 7 2 * *", CPH, utc(2026, 11, 2, 5, 59, 59)).isoformat() == "2026-10-02T07:00:00+02:00"


def test_a_time_missing_on_the_spring_forward_day_runs_just_after_the_gap():
    moment, times = utc(2026, 3, 27, 12), []
    for _ in range(3):
        moment = next_time("30 2 * * *", CPH, moment)
        times.append(moment.astimezone(UTC).isoformat())
    # 28 March 02:30 CET; 29 March has no 02:30 (02:00 -> 03:00): 03:00 CEST; 30 March 02:30 CEST
    assert times == ["2026-03-28T01:30:00+00:00", "2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]


def test_a_time_repeated_on_the_fall_back_day_runs_once():
    moment, times = utc(2026, 10, 24, 12), []
    for _ in range(2):
        moment = next_time("30 2 * * *", CPH, moment)
        times.append(moment.astimezone(UTC).isoformat())
    assert times == ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
    # from inside the repeated hour (02:00 CET, the second pass) the next time is the next day
    assert next_time("30 2 * * *", CPH, utc(2026, 10, 25, 1)).astimezone(UTC) == utc(2026, 10, 26, 1, 30)


def test_a_new_schedule_owes_only_its_latest_time(config):
    report = config.reports["monthly"]
    plan = owed_runs(config, "monthly", report, utc(2026, 11, 20), None, set())
    assert [(o.period.label, o.at.isoformat()) for o in plan.runs] == [("2026-10", "2026-11-02T07:00:00+01:00")]


def test_missed_times_are_owed_once_per_period_oldest_first(config):
    report = with_schedule(config, cron="0 7 * * *")  # daily, for a monthly report
    last = datetime(2026, 8, 20, 7, tzinfo=CPH)  # built 2026-07 then; machine off since
    plan = owed_runs(config, "monthly", report, utc(2026, 11, 4, 12), last, {"2026-07"})
    assert [(o.period.label, o.at.date().isoformat()) for o in plan.runs] == [
        ("2026-08", "2026-09-01"), ("2026-09", "2026-10-01"), ("2026-10", "2026-11-01")]
    built = owed_runs(config, "monthly", report, utc(2026, 11, 4, 12), last, {"2026-07", "2026-08", "2026-10"})
    assert [o.period.label for o in built.runs] == ["2026-09"]


def test_catch_up_is_limited_to_the_recent_periods(config):
    report = with_schedule(config, cron="0 7 2 * *", catch_up=2)
    plan = owed_runs(config, "monthly", report, utc(2026, 11, 4), datetime(2026, 3, 2, 7, tzinfo=CPH), set())
    assert [o.period.label for o in plan.runs] == ["2026-09", "2026-10"] and plan.not_made_up
    recent = owed_runs(config, "monthly", report, utc(2026, 11, 4), datetime(2026, 10, 2, 7, tzinfo=CPH), {"2026-09"})
    assert [o.period.label for o in recent.runs] == ["2026-10"] and not recent.not_made_up


def test_a_frequent_cron_costs_one_step_per_period(config, monkeypatch):
    """A cron every five minutes over a year: one cron lookup per period (13), not one per tick (~105,000)."""
    from pipeline.delivery import schedule

    report = with_schedule(config, cron="*/5 * * * *", catch_up=24)
    lookups = []
    original = schedule.next_time
    monkeypatch.setattr(schedule, "next_time", lambda *args: lookups.append(args) or original(*args))
    found = list(first_per_period(config, "monthly", report, utc(2025, 11, 1), utc(2026, 11, 1, 12)))
    assert [o.period.label for o in found][:2] == ["2025-10", "2025-11"] and len(found) == 13
    assert len(lookups) == 14  # one per period found, and one that runs past the end


def test_next_due_skips_periods_already_built(config):
    report = config.reports["monthly"]
    nxt = next_due(config, "monthly", report, utc(2026, 11, 20), {"2026-10"})
    assert nxt is not None and nxt.at.isoformat() == "2026-12-02T07:00:00+01:00" and nxt.period.label == "2026-11"
    daily = with_schedule(config, cron="0 7 * * *")
    nxt = next_due(config, "monthly", daily, utc(2026, 11, 20), {"2026-10"})
    assert nxt is not None and nxt.at.date().isoformat() == "2026-12-01"


def test_schedule_time_zone_differs_from_the_reporting_zone(config):
    report = with_schedule(config, cron="0 1 1 * *", timezone="America/New_York")
    at = next_time("0 1 1 * *", ZoneInfo("America/New_York"), utc(2026, 10, 15))
    assert at.astimezone(UTC) == utc(2026, 11, 1, 5)  # 06:00 in Copenhagen on 1 November
    assert period_for(config, report, at).label == "2026-10"
