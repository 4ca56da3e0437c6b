"""Schedules: which scheduled runs of a report are owed at a moment.

A report's `schedule: {cron, timezone}` is read by `cronsim` (Debian cron
semantics, DST-aware). A scheduled time `t` builds the last complete period as
of `t` in the project's reporting time zone (07:00 on 2 November -> October).

Daylight-saving time: a time that does not exist on the spring-forward day
(02:30 when clocks jump from 02:00 to 03:00) runs at the first minute after the
gap (03:00); a time that exists twice on the fall-back day runs once, at its
first occurrence. A run is never skipped and never doubled by a clock change.

Owed runs at `now`: every period whose first scheduled time lies after the
last successful scheduled run (before any success: from the first scheduled
run attempted) and at or before `now`, and that has not been built
successfully by a scheduled run, oldest first. A schedule never run before owes
only its latest time (a new schedule does not build history). Periods missed
(never attempted) older than the `catch_up` most recent complete periods are not
made up. A period whose scheduled run failed stays owed, at its first
scheduled time, until a scheduled run of it succeeds or the operator abandons
it (`pulse send --abandon`), however many later periods succeed meanwhile.
Pure: the moment is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

from pipeline.config import ProjectConfig, ReportConfig
from pipeline.config.reports import ReportSchedule
from pipeline.core.periods import Calendar, Period

ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Occurrence:
    """A scheduled time and the period it builds."""

    report: str
    at: datetime  # aware, in the schedule's time zone
    period: Period


@dataclass(frozen=True)
class DuePlan:
    report: str
    runs: tuple[Occurrence, ...]  # owed, oldest first
    not_made_up: bool  # runs missed before the catch-up window were left out


def schedule_zone(config: ProjectConfig, schedule: ReportSchedule) -> ZoneInfo:
    return ZoneInfo(schedule.timezone or config.project.timezone)


def calendar_of(config: ProjectConfig, report: ReportConfig) -> Calendar:
    return Calendar(report.grain, config.project.fiscal_year_start)


def period_for(config: ProjectConfig, report: ReportConfig, at: datetime) -> Period:
    """The last complete period as of `at`, in the project's reporting time zone."""
    day = at.astimezone(ZoneInfo(config.project.timezone)).date()
    calendar = calendar_of(config, report)
    return calendar.shift(calendar.containing(day), -1)


def next_time(cron: str, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first scheduled time strictly after `after` (None: never again).

    cronsim works on wall-clock time, so after a moment in the repeated hour of
    a fall-back day it may first yield that hour's earlier pass: skip it.
    """
    for moment in CronSim(cron, after.astimezone(zone).replace(microsecond=0)):
        if moment > after:
            return moment
    return None


def latest_time(cron: str, zone: ZoneInfo, moment: datetime) -> datetime | None:
    """The latest scheduled time at or before `moment`."""
    start = (moment.astimezone(zone) + ONE_SECOND).replace(microsecond=0)
    try:
        return next(CronSim(cron, start, reverse=True))
    except StopIteration:
        return None


def first_per_period(config: ProjectConfig, name: str, report: ReportConfig, after: datetime,
                     until: datetime) -> Iterator[Occurrence]:
    """For each period, its first scheduled time in (after, until], in time order.

    Jumps from period to period (not from tick to tick), so a cron that fires
    every few minutes costs no more than a monthly one.
    """
    assert report.schedule is not None
    zone = schedule_zone(config, report.schedule)
    project_zone = ZoneInfo(config.project.timezone)
    calendar = calendar_of(config, report)
    cursor = after
    while True:
        at = next_time(report.schedule.cron, zone, cursor)
        if at is None or at > until:
            return
        period = period_for(config, report, at)
        yield Occurrence(name, at, period)
        next_start = calendar.shift(period, 2).start  # the period after the one `at` falls in
        boundary = datetime.combine(next_start, time(0), tzinfo=project_zone)
        cursor = max(at, boundary - ONE_SECOND)


def owed_runs(config: ProjectConfig, name: str, report: ReportConfig, now: datetime,
              last_success: datetime | None, done: set[str], first_seen: datetime | None = None,
              failed: dict[str, datetime] | None = None) -> DuePlan:
    """The runs of one scheduled report owed at `now`.

    `last_success`: the scheduled time of the latest successful scheduled run;
    `first_seen`: that of the first scheduled run attempted at all; `done`: the
    periods settled (built successfully by scheduled runs, or abandoned);
    `failed`: periods whose scheduled runs all failed -> their first scheduled time.
    """
    schedule = report.schedule
    assert schedule is not None
    zone = schedule_zone(config, schedule)
    calendar = calendar_of(config, report)
    today = now.astimezone(ZoneInfo(config.project.timezone)).date()
    oldest = calendar.shift(calendar.containing(today), -(schedule.catch_up - 1)).start
    window_start = datetime.combine(oldest, time(0), tzinfo=ZoneInfo(config.project.timezone))
    anchor = last_success if last_success is not None else (
        first_seen - ONE_SECOND if first_seen is not None else None)
    if anchor is None:
        latest = latest_time(schedule.cron, zone, now)
        if latest is None:
            return DuePlan(name, (), False)
        occurrences = [Occurrence(name, latest, period_for(config, report, latest))]
        not_made_up = False
    else:
        start = max(anchor, window_start - ONE_SECOND)
        occurrences = list(first_per_period(config, name, report, start, now))
        missed = next_time(schedule.cron, zone, anchor)
        not_made_up = anchor < window_start and missed is not None and missed < window_start
    calendar_periods = {o.period.label for o in occurrences}
    retried = [Occurrence(name, at.astimezone(zone), calendar.parse(label, at.date()))
               for label, at in (failed or {}).items() if label not in calendar_periods]
    owed = [o for o in occurrences + retried if o.period.label not in done and o.at <= now]
    runs = tuple(sorted(owed, key=lambda o: o.at))
    return DuePlan(name, runs, not_made_up)


def next_due(config: ProjectConfig, name: str, report: ReportConfig, now: datetime, done: set[str]) -> Occurrence | None:
    """The next scheduled time after `now` that will build a period not yet built."""
    horizon = now + timedelta(days=3 * 366)
    for occurrence in first_per_period(config, name, report, now, horizon):
        if occurrence.period.label not in done:
            return occurrence
    return None
