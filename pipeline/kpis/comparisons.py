"""KPI comparisons: value, previous period, last year, target gap, health.

Pure: no I/O, no clock. Takes a filled series and the calendar, returns a
frozen `KpiResult` per KPI.

Rules (hand-checked in tests/unit/kpis and tests/unit/report/test_formatting.py):
- change_abs = value - previous; change_rel = change_abs / |previous|, None
  when previous is 0 or missing. Same for the year-on-year pair.
- target: a number, or a per-period value keyed by period label; gap =
  value - target (positive means above target).
- health, for direction up (down mirrors it, neutral has none):
  with thresholds: value >= good -> green, >= warn -> amber, else red;
  without thresholds but with a target: value >= target -> green,
  >= target - 5 % of |target| -> amber, else red.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from pipeline.config import Direction, KpiConfig, Unit
from pipeline.core.periods import Calendar, Period

TARGET_TOLERANCE = 0.05


class Health(str, Enum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NONE = "none"


@dataclass(frozen=True)
class SeriesPoint:
    label: str
    start: date
    value: float | None


@dataclass(frozen=True)
class KpiResult:
    """Everything the report shows about one KPI for one period."""

    kpi_id: str
    title: str
    description: str
    unit: Unit
    decimals: int
    direction: Direction
    period: Period
    value: float | None
    previous: float | None
    last_year: float | None
    change_abs: float | None
    change_rel: float | None
    yoy_abs: float | None
    yoy_rel: float | None
    target: float | None
    gap: float | None
    health: Health
    series: tuple[SeriesPoint, ...]
    last_year_series: tuple[float | None, ...]  # the same periods one year earlier


def compare(
    kpi_id: str,
    kpi: KpiConfig,
    values: dict[date, float | None],
    calendar: Calendar,
    period: Period,
    series_length: int = 12,
) -> KpiResult:
    """Build the KPI's result for `period` from its series of values."""
    value = values.get(period.start)
    previous = values.get(calendar.shift(period, -1).start)
    last_year = values.get(calendar.same_period_last_year(period).start)
    change_abs, change_rel = change(value, previous)
    yoy_abs, yoy_rel = change(value, last_year)
    target = target_for(kpi, period)
    gap = None if value is None or target is None else value - target
    periods = calendar.window(period, series_length - 1)
    points = tuple(SeriesPoint(p.label, p.start, values.get(p.start)) for p in periods)
    last_year_points = tuple(values.get(calendar.same_period_last_year(p).start) for p in periods)
    return KpiResult(
        kpi_id=kpi_id,
        title=kpi.title,
        description=kpi.description,
        unit=kpi.unit,
        decimals=kpi.decimals,
        direction=kpi.direction,
        period=period,
        value=value,
        previous=previous,
        last_year=last_year,
        change_abs=change_abs,
        change_rel=change_rel,
        yoy_abs=yoy_abs,
        yoy_rel=yoy_rel,
        target=target,
        gap=gap,
        health=health(kpi, value, target),
        series=points,
        last_year_series=last_year_points,
    )


def change(value: float | None, base: float | None) -> tuple[float | None, float | None]:
    """Absolute and relative change from `base` to `value`."""
    if value is None or base is None:
        return None, None
    absolute = value - base
    relative = None if base == 0 else absolute / abs(base)
    return absolute, relative


def target_for(kpi: KpiConfig, period: Period) -> float | None:
    """The KPI's target in `period`: one number, or the value for its label."""
    if kpi.target is None:
        return None
    if isinstance(kpi.target, dict):
        found = kpi.target.get(period.label)
        return None if found is None else float(found)
    return float(kpi.target)


def health(kpi: KpiConfig, value: float | None, target: float | None) -> Health:
    """Green / amber / red from thresholds (or the target) and the direction."""
    if value is None or kpi.direction is Direction.NEUTRAL:
        return Health.NONE
    if kpi.thresholds is not None:
        good, warn = kpi.thresholds.good, kpi.thresholds.warn
    elif target is not None:
        good = target
        slack = abs(target) * TARGET_TOLERANCE
        warn = target - slack if kpi.direction is Direction.UP else target + slack
    else:
        return Health.NONE
    if kpi.direction is Direction.UP:
        return Health.GREEN if value >= good else Health.AMBER if value >= warn else Health.RED
    return Health.GREEN if value <= good else Health.AMBER if value <= warn else Health.RED
