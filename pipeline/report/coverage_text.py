"""What a report says about how far its data reaches into the period: the "partial" notes of page one.

From the coverage of each source the report reads (see
`pipeline.checks.coverage`): a period not over yet is "period to date"; a
period whose data starts or ends inside it is "partial", with the date the
data reaches. Covered periods say nothing. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pipeline.checks.coverage import PARTIAL, TO_DATE, PeriodCoverage
from pipeline.core.periods import Period

from .formatting import long_date


def coverage_notes(coverage: Sequence[PeriodCoverage], period: Period, locale: str) -> tuple[str, ...]:
    """One sentence per source that does not cover the whole period."""
    notes = []
    last_day = period.end - timedelta(days=1)
    for c in coverage:
        if c.status not in (PARTIAL, TO_DATE) or c.first is None or c.last is None:
            continue
        parts = []
        if c.starts_inside:
            parts.append(f"starts {long_date(c.first, locale)}")
        if c.status == TO_DATE:
            parts.append(f"reaches {long_date(c.last, locale)}")
            notes.append(f"Period to date: the period runs until {long_date(last_day, locale)}; "
                         f"{c.source} data {' and '.join(parts)}.")
        else:
            if c.ends_inside:
                parts.append(f"ends {long_date(c.last, locale)}")
            notes.append(f"Partial period: {c.source} data {' and '.join(parts)} "
                         f"(the period is {long_date(period.start, locale)} – {long_date(last_day, locale)}).")
    return tuple(notes)


def partial_label(coverage: Sequence[PeriodCoverage]) -> str:
    """'' (covered), 'period to date' or 'partial': the mark beside the period on page one."""
    if any(c.status == TO_DATE for c in coverage):
        return "period to date"
    if any(c.status == PARTIAL for c in coverage):
        return "partial"
    return ""
