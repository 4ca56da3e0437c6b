"""Evaluate a cycle's OKRs for a report period from KPI series. Pure.

Chooses the cycle (the one containing the report period, else the latest one
that ended before it: its final grade, else the next one), lays the report's
periods over it, and scores every KR and objective with `okrs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from pipeline.config import did_you_mean
from pipeline.config.okrs import CycleConfig, OkrsFile, cycle_dates
from pipeline.core.errors import ConfigError
from pipeline.core.periods import Calendar, Period
from pipeline.kpis.queries import Series

from .scoring import CheckIn, CycleProgress, ObjectiveScore, score_key_result, score_objective


@dataclass(frozen=True)
class CycleWindow:
    name: str
    config: CycleConfig
    start: date
    end: date  # exclusive
    periods: tuple[Period, ...]  # the calendar's periods that fall in the cycle
    before: Period  # the period just before the cycle (for baseline: auto)


@dataclass(frozen=True)
class CycleResult:
    name: str
    start: date
    end: date
    expected: float
    final: bool
    objectives: tuple[ObjectiveScore, ...]


def choose_cycle(okrs: OkrsFile, calendar: Calendar, period: Period, name: str | None = None) -> CycleWindow:
    """The cycle to report on for `period` (or the one named)."""
    dated = []
    for cycle_name, cycle in okrs.cycles.items():
        dates = cycle_dates(cycle_name, cycle, calendar.fiscal_year_start)
        if dates is not None:
            dated.append((cycle_name, cycle, dates))
    if name is not None:
        if name not in okrs.cycles:
            raise ConfigError(f"no OKR cycle named '{name}' in config/okrs.yaml", did_you_mean(name, okrs.cycles))
        match = [d for d in dated if d[0] == name]
        if not match:
            raise ConfigError(f"config/okrs.yaml: cycle '{name}' has no dates",
                              "give it start and end dates, or name it like 2026-Q4")
        chosen = match[0]
    else:
        if not dated:
            raise ConfigError("config/okrs.yaml: no cycle has dates", "give cycles start and end dates")
        containing = [d for d in dated if d[2][0] <= period.start < d[2][1]]
        ended = sorted((d for d in dated if d[2][1] <= period.start), key=lambda d: d[2][1])
        upcoming = sorted((d for d in dated if d[2][0] > period.start), key=lambda d: d[2][0])
        chosen = (containing or ended[-1:] or upcoming)[0] if (containing or ended or upcoming) else dated[0]
    cycle_name, cycle, (start, end) = chosen
    first = calendar.containing(start)
    periods = []
    current = first
    while current.start < end:
        periods.append(current)
        current = calendar.shift(current, 1)
    return CycleWindow(cycle_name, cycle, start, end, tuple(periods), calendar.shift(first, -1))


def evaluate(
    okrs: OkrsFile,
    window: CycleWindow,
    period: Period,
    series: Mapping[str, Series],
    checkins: dict[str, CheckIn],
) -> CycleResult:
    """Score every objective of the cycle as of the end of `period`."""
    completed = [p for p in window.periods if p.start <= period.start]
    progress = CycleProgress(window.start, window.end, min(period.end, window.end), len(completed))
    objectives = []
    for objective_id, objective in window.config.objectives.items():
        scores = []
        for kr_id, kr in objective.key_results.items():
            values = series.get(kr.kpi, {}) if kr.kpi else {}
            cycle_values = [values.get(p.start) for p in completed]
            baseline_before = values.get(window.before.start)
            scores.append(
                score_key_result(kr_id, kr, progress, cycle_values, baseline_before, checkins.get(kr_id), okrs.status)
            )
        objectives.append(score_objective(objective_id, scores, progress, okrs.status))
    return CycleResult(
        name=window.name,
        start=window.start,
        end=window.end,
        expected=progress.expected,
        final=progress.over,
        objectives=tuple(objectives),
    )


def kr_ids(cycle: CycleConfig) -> set[str]:
    return {kr_id for objective in cycle.objectives.values() for kr_id in objective.key_results}
