"""Reporting periods: grains, fiscal calendars, parsing `--period`, windows.

This is the one place where "today" is read (`today_in`), and it can be
injected: every function that needs the date takes it as an argument.

Labels:
- month   `2026-10`
- quarter `2026-Q3`  (fiscal quarter; the fiscal year is named by the calendar
  year in which it *ends*, so with a July start, 2026-Q1 is July–September 2025)
- week    `2026-W42` (ISO week, ISO week-numbering year)
- year    `2026`     (fiscal year, named by the calendar year in which it ends)
and the keywords `last` (last complete period) and `current` (period to date).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from .errors import UsageError


class Grain(str, Enum):
    """How long one reporting period is."""

    MONTH = "month"
    QUARTER = "quarter"
    WEEK = "week"
    YEAR = "year"


PERIODS_PER_YEAR = {Grain.MONTH: 12, Grain.QUARTER: 4, Grain.WEEK: 52, Grain.YEAR: 1}


@dataclass(frozen=True, order=True)
class Period:
    """One period: `start` inclusive, `end` exclusive, and its label."""

    start: date
    end: date
    label: str
    grain: Grain


@dataclass(frozen=True)
class Calendar:
    """A grain plus the first month of the fiscal year (1 = January)."""

    grain: Grain = Grain.MONTH
    fiscal_year_start: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.fiscal_year_start <= 12:
            raise UsageError(
                f"fiscal_year_start must be a month number 1-12, not {self.fiscal_year_start}",
                "set project.fiscal_year_start in config/pulse.yaml",
            )

    # -- construction ------------------------------------------------------
    def containing(self, day: date) -> Period:
        """The period of this calendar that contains `day`."""
        if self.grain is Grain.MONTH:
            start = date(day.year, day.month, 1)
        elif self.grain is Grain.WEEK:
            start = day - timedelta(days=day.weekday())
        else:
            months = 3 if self.grain is Grain.QUARTER else 12
            offset = (day.month - self.fiscal_year_start) % months
            start = _add_months(date(day.year, day.month, 1), -offset)
        return self._period_from_start(start)

    def shift(self, period: Period, n: int) -> Period:
        """The period `n` steps after (negative: before) `period`."""
        if self.grain is Grain.WEEK:
            return self._period_from_start(period.start + timedelta(weeks=n))
        return self._period_from_start(_add_months(period.start, n * self._months()))

    def same_period_last_year(self, period: Period) -> Period:
        """The period one year before: same month / quarter / ISO week number."""
        if self.grain is Grain.WEEK:
            iso_year, iso_week, _ = period.start.isocalendar()
            weeks_last_year = date(iso_year - 1, 12, 28).isocalendar()[1]
            start = date.fromisocalendar(iso_year - 1, min(iso_week, weeks_last_year), 1)
            return self._period_from_start(start)
        return self.shift(period, -PERIODS_PER_YEAR[self.grain])

    def window(self, period: Period, back: int) -> list[Period]:
        """`period` and the `back` periods before it, oldest first."""
        return [self.shift(period, -i) for i in range(back, -1, -1)]

    # -- internals ---------------------------------------------------------
    def _months(self) -> int:
        return {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[self.grain]

    def _period_from_start(self, start: date) -> Period:
        if self.grain is Grain.WEEK:
            end = start + timedelta(weeks=1)
            iso_year, iso_week, _ = start.isocalendar()
            return Period(start, end, f"{iso_year}-W{iso_week:02d}", self.grain)
        end = _add_months(start, self._months())
        if self.grain is Grain.MONTH:
            label = f"{start.year}-{start.month:02d}"
        else:
            fy = self._fiscal_year(start)
            if self.grain is Grain.YEAR:
                label = f"{fy}"
            else:
                fy_start = date(fy - (1 if self.fiscal_year_start != 1 else 0), self.fiscal_year_start, 1)
                quarter = _months_between(fy_start, start) // 3 + 1
                label = f"{fy}-Q{quarter}"
        return Period(start, end, label, self.grain)

    def _fiscal_year(self, month_start: date) -> int:
        """Fiscal year of a month: named by the calendar year in which it ends."""
        if self.fiscal_year_start == 1 or month_start.month < self.fiscal_year_start:
            return month_start.year
        return month_start.year + 1

    def _fiscal_year_start_date(self, fiscal_year: int) -> date:
        year = fiscal_year - (1 if self.fiscal_year_start != 1 else 0)
        return date(year, self.fiscal_year_start, 1)

    # -- parsing -----------------------------------------------------------
    def parse(self, text: str, today: date) -> Period:
        """Parse a `--period` value for this calendar's grain."""
        value = text.strip()
        lowered = value.lower()
        if lowered == "current":
            return self.containing(today)
        if lowered == "last":
            return self.shift(self.containing(today), -1)
        parsed = self._parse_label(value)
        if parsed is None:
            raise UsageError(
                f"period '{text}' is not a {self.grain.value} period",
                f"write it like {_EXAMPLES[self.grain]}, or 'last' / 'current'",
            )
        return parsed

    def _parse_label(self, value: str) -> Period | None:
        if self.grain is Grain.MONTH:
            m = re.fullmatch(r"(\d{4})-(\d{2})", value)
            if m and 1 <= int(m[2]) <= 12:
                return self.containing(date(int(m[1]), int(m[2]), 1))
        elif self.grain is Grain.QUARTER:
            m = re.fullmatch(r"(\d{4})-[Qq]([1-4])", value)
            if m:
                start = _add_months(self._fiscal_year_start_date(int(m[1])), 3 * (int(m[2]) - 1))
                return self._period_from_start(start)
        elif self.grain is Grain.WEEK:
            m = re.fullmatch(r"(\d{4})-[Ww](\d{2})", value)
            if m:
                try:
                    start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
                except ValueError:
                    return None
                return self._period_from_start(start)
        else:
            m = re.fullmatch(r"(\d{4})", value)
            if m:
                return self._period_from_start(self._fiscal_year_start_date(int(m[1])))
        return None


_EXAMPLES = {
    Grain.MONTH: "'2026-10'",
    Grain.QUARTER: "'2026-Q3'",
    Grain.WEEK: "'2026-W42'",
    Grain.YEAR: "'2026'",
}


def _add_months(day: date, months: int) -> date:
    """First-of-month arithmetic (callers always pass the 1st of a month)."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, day.day)


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def now_utc(now: datetime | None = None) -> datetime:
    """The current moment (or the injected one): the one place the clock is read."""
    moment = now if now is not None else datetime.now(tz=ZoneInfo("UTC"))
    if moment.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    return moment.astimezone(ZoneInfo("UTC"))


def today_in(timezone: str, now: datetime | None = None) -> date:
    """Today's date in the reporting time zone."""
    return now_utc(now).astimezone(ZoneInfo(timezone)).date()


def periods_since(calendar: Calendar, period: Period, earliest: date | None, fallback: list[Period]) -> list[Period]:
    """Every period from the one holding `earliest` through `period`; `fallback` when there is no date."""
    if earliest is None:
        return fallback
    first = calendar.containing(earliest)
    if first.start >= period.start:
        return [period]
    window = [first]
    while window[-1].start < period.start:
        window.append(calendar.shift(window[-1], 1))
    return window


def history_back(grain: Grain, series_length: int = 12) -> int:
    """How many periods before the report period a window must hold.

    Enough for a `series_length` trend and, for each of its periods, the same
    period last year (one spare week for 53-week ISO years).
    """
    return series_length - 1 + PERIODS_PER_YEAR[grain] + (1 if grain is Grain.WEEK else 0)
