"""KPI comparisons: value, previous period, last year, target gap, health.

Pure: no I/O, no clock. Takes a filled series and the calendar, returns a
frozen `KpiResult` per KPI.

Rules (hand-checked in tests/unit/kpis and tests/unit/report/test_formatting.py):
- change_abs = value - previous; change_rel = change_abs / |previous|, None
  when previous is 0 or missing. Same for the year-on-year pair.
- The change a reader sees (`change`, `yoy`: a `Change`) is chosen here, once, and
  every output shows that one: for rates (unit percent) the difference in
  percentage points; for every other unit the relative change, or the absolute
  difference when the base is 0 (no relative change exists).
- Small samples: a KPI with `min_sample` whose query returns `sample_size` marks a
  value from fewer observations `low_sample`; such a value is shown, marked, but
  not used as if it were solid (movers, anomalies).
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


class ChangeKind(str, Enum):
    RELATIVE = "relative"  # a share of the base: 0.042 = +4.2 %
    POINTS = "points"  # a rate's difference in percentage points: 0.003 = +0.3 pp
    ABSOLUTE = "absolute"  # a difference in the KPI's unit (the base was 0)


@dataclass(frozen=True)
class Change:
    """The one change of a KPI against a base period that every output shows."""

    kind: ChangeKind
    amount: float  # signed

    @property
    def size(self) -> float:
        return abs(self.amount)


@dataclass(frozen=True)
class SeriesPoint:
    label: str
    start: date
    value: float | None
    low_sample: bool = False  # from fewer observations than the KPI's min_sample


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
    change: Change | None = None  # against the previous period, as every output shows it
    yoy: Change | None = None  # against the same period last year
    previous_health: Health = Health.NONE  # the previous period's value against its own target
    sample: int | None = None  # observations behind `value` (the query's sample_size), when known
    min_sample: int | None = None
    low_sample: bool = False  # value from fewer than min_sample observations
    previous_low_sample: bool = False
    company_wide: bool = False  # in a segment's report: a company-wide figure (no segment breakdown)

    @property
    def solid(self) -> bool:
        """The value and its change rest on enough observations to be ranked and compared."""
        return not (self.low_sample or self.previous_low_sample)


def compare(
    kpi_id: str,
    kpi: KpiConfig,
    values: dict[date, float | None],
    calendar: Calendar,
    period: Period,
    series_length: int = 12,
    samples: dict[date, int | None] | None = None,
) -> KpiResult:
    """Build the KPI's result for `period` from its series of values (and, with `min_sample`,
    the number of observations behind each value)."""
    previous_period = calendar.shift(period, -1)
    value = values.get(period.start)
    previous = values.get(previous_period.start)
    last_year = values.get(calendar.same_period_last_year(period).start)
    change_abs, change_rel = change(value, previous)
    yoy_abs, yoy_rel = change(value, last_year)
    target = target_for(kpi, period)
    gap = None if value is None or target is None else value - target
    periods = calendar.window(period, series_length - 1)

    def low(start: date) -> bool:
        return is_low_sample(kpi, values.get(start), (samples or {}).get(start))

    points = tuple(SeriesPoint(p.label, p.start, values.get(p.start), low(p.start)) for p in periods)
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
        change=headline_change(kpi.unit, value, previous),
        yoy=headline_change(kpi.unit, value, last_year),
        previous_health=health(kpi, previous, target_for(kpi, previous_period)),
        sample=(samples or {}).get(period.start),
        min_sample=kpi.min_sample,
        low_sample=low(period.start),
        previous_low_sample=low(previous_period.start),
    )


def is_low_sample(kpi: KpiConfig, value: float | None, sample: int | None) -> bool:
    """A value from fewer observations than the KPI's `min_sample` (a missing count counts as 0)."""
    return kpi.min_sample is not None and value is not None and (sample or 0) < kpi.min_sample


def headline_change(unit: Unit, value: float | None, base: float | None) -> Change | None:
    """The change from `base` to `value` as every output shows it (see the module's rules)."""
    absolute, relative = change(value, base)
    if absolute is None:
        return None
    if unit is Unit.PERCENT:
        return Change(ChangeKind.POINTS, absolute)
    if relative is None:
        return Change(ChangeKind.ABSOLUTE, absolute)
    return Change(ChangeKind.RELATIVE, relative)


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
