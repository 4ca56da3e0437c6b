"""Does a source's data cover a report period? Pure: no I/O, no clock.

A source covers the days from its first to its last event (see
`pipeline.sources.coverage`). For a report period [start, end):

- `outside`: the period ends before the first event or starts after the last
  one. Nothing in it can be reported; the `coverage` check fails.
- `partial`: the data starts inside the period, or ends inside it, by more
  than the source's `checks.freshness.grace_days` (days without events that
  still count as covered, so a month whose last sale is on the 30th is whole).
- `to_date`: the period is not over yet (`current`: period to date). It is
  partial by nature: the report speaks for the days up to the last event.
- `covered`: the data spans the whole period.
- `unknown`: the source has no event-time column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.core.periods import Period
from pipeline.core.wording import fill
from pipeline.sources.coverage import SourceRange

OUTSIDE, PARTIAL, TO_DATE, COVERED, UNKNOWN = "outside", "partial", "to_date", "covered", "unknown"


@dataclass(frozen=True)
class PeriodCoverage:
    """How much of a report period one source's data covers."""

    source: str
    column: str | None
    first: date | None  # the source's first event
    last: date | None  # ... and last event
    status: str  # outside | partial | to_date | covered | unknown
    starts_inside: bool = False  # the data starts after the period's first day (beyond the grace)
    ends_inside: bool = False  # the data ends before the period's last day (beyond the grace)

    @property
    def partial(self) -> bool:
        return self.status in (PARTIAL, TO_DATE)

    def range_text(self) -> str:
        if self.first is None or self.last is None:
            return f"no {self.column} values" if self.column else "no event time"
        return f"{self.first.isoformat()} … {self.last.isoformat()}"


def period_coverage(found: SourceRange, period: Period, today: date, grace_days: int) -> PeriodCoverage:
    """How `found` (a source's first and last event) covers `period`, on `today`."""
    if found.column is None:
        return PeriodCoverage(found.source, None, None, None, UNKNOWN)
    first, last = found.first, found.last
    if first is None or last is None or period.end <= first or period.start > last:
        return PeriodCoverage(found.source, found.column, first, last, OUTSIDE)
    grace = timedelta(days=grace_days)
    last_day = period.end - timedelta(days=1)
    starts_inside = first > period.start + grace
    ends_inside = last < last_day - grace
    if period.end > today:  # not over yet: period to date
        status = TO_DATE
    elif starts_inside or ends_inside:
        status = PARTIAL
    else:
        status = COVERED
    return PeriodCoverage(found.source, found.column, first, last, status, starts_inside, ends_inside)


def sources_coverage(ranges: Mapping[str, SourceRange], sources: Iterable[str], period: Period, today: date,
                     grace_days: Mapping[str, int]) -> tuple[PeriodCoverage, ...]:
    """How each of `sources` covers `period` (`grace_days`: each one's freshness.grace_days); sources
    without an event time are left out."""
    found = (period_coverage(ranges[s], period, today, grace_days[s]) for s in sources if s in ranges)
    return tuple(c for c in found if c.column is not None)


def outside_wording(coverage: PeriodCoverage, period: Period) -> tuple[str, dict[str, object]]:
    """Why a period outside a source's data cannot be reported: a wording with `{name:kind}`
    placeholders and its numbers (see `pipeline.core.wording`; the report writes the dates in its locale)."""
    numbers: dict[str, object] = {"period": period.label, "start": period.start,
                                  "end": period.end - timedelta(days=1), "source": coverage.source,
                                  "column": coverage.column or "", "first": coverage.first, "last": coverage.last}
    span = "{period} ({start:date} … {end:date})"
    if coverage.first is None or coverage.last is None:
        return f"{span}: {{source}} has no {{column}} values, so it has no data for the period", numbers
    where = "before the first" if period.end <= coverage.first else "after the last"
    return f"{span} is {where} {{column}} of {{source}}: its data covers {{first:date}} … {{last:date}}", numbers


def covered_wording(coverage: PeriodCoverage, period: Period) -> tuple[str, dict[str, object]]:
    """One line on how the source covers the period (the check's wording and numbers)."""
    numbers: dict[str, object] = {"period": period.label, "source": coverage.source, "column": coverage.column or "",
                                  "first": coverage.first, "last": coverage.last}
    text = "{source} ({column}) covers {first:date} … {last:date}"
    if coverage.status == TO_DATE:
        return f"{text}: {{period}} is not over, data to date", numbers
    if coverage.status == PARTIAL:
        return f"{text}: {{period}} is partly covered", numbers
    return f"{text}: {{period}} is covered", numbers


def outside_message(coverage: PeriodCoverage, period: Period) -> str:
    """Why a period outside a source's data cannot be reported (plain English digits)."""
    return fill(*outside_wording(coverage, period))


def covered_message(coverage: PeriodCoverage, period: Period) -> str:
    """How the source covers the period (plain English digits)."""
    return fill(*covered_wording(coverage, period))
