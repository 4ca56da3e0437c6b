"""Numbers as a reader sees them: by unit, with the project's locale (Babel).

Pure: no I/O, no clock. Missing values, NaN and infinity print as "n/a".

Units:
- count, number: grouped digits with the KPI's decimals
- currency: the locale's currency pattern with the KPI's decimals ("DKK 1,234",
  "1.234 kr.")
- percent: the value is a fraction (0.123 -> "12.3 %")
- duration: the value is in hours; below 48 h shown in hours, else in days
  (a chart axis uses one of the two for all its ticks)

A KPI's change (`pipeline.kpis.comparisons.Change`) is written by `format_kpi_change`:
relative as "+4.2 %", a rate's as "+0.3 pp", an absolute one in the KPI's unit.
Sentences that carry numbers from other stages are filled by `LocaleWords`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

from pipeline.config import Unit
from pipeline.core.periods import Grain, Period
from pipeline.kpis.comparisons import Change, ChangeKind, KpiResult

NOT_AVAILABLE = "n/a"
NBSP = "\u00a0"


@dataclass(frozen=True)
class NumberStyle:
    """How one KPI's numbers are written."""

    unit: Unit
    decimals: int
    locale: str = "en"
    currency: str = "DKK"
    duration_unit: str | None = None  # "h" or "d" for every duration written with this style; None: by value


def _missing(value: float | None) -> bool:
    return value is None or math.isnan(value) or math.isinf(value)


def _decimal_pattern(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def format_value(value: float | None, style: NumberStyle) -> str:
    """`value` written for its unit, or "n/a"."""
    if _missing(value):
        return NOT_AVAILABLE
    assert value is not None
    if style.unit is Unit.CURRENCY:
        return _currency(value, style)
    if style.unit is Unit.PERCENT:
        pattern = _decimal_pattern(style.decimals) + NBSP + "%"
        return format_percent(value, format=pattern, locale=style.locale)
    if style.unit is Unit.DURATION:
        return _duration(value, style, style.duration_unit)
    return format_decimal(value, format=_decimal_pattern(style.decimals), locale=style.locale)


def kpi_style(result: KpiResult, locale: str, currency: str) -> NumberStyle:
    """How a KPI's figures are written in one row: a duration's value, previous, last year and target all
    in hours or all in days (by the largest of them)."""
    unit = None
    if result.unit is Unit.DURATION:
        shown = [v for v in (result.value, result.previous, result.last_year, result.target) if not _missing(v)]
        unit = duration_unit([float(v) for v in shown if v is not None])
    return NumberStyle(result.unit, result.decimals, locale, currency, unit)


def _currency(value: float, style: NumberStyle) -> str:
    pattern = Locale.parse(style.locale).currency_formats["standard"].pattern
    pattern = pattern.split(";")[0]
    pattern = re.sub(r"#,##0(\.0+)?", _decimal_pattern(style.decimals), pattern)
    if get_currency_symbol(style.currency, locale=style.locale)[-1:].isalpha():
        pattern = re.sub(r"¤(?=[#0])", "¤" + NBSP, pattern)  # "DKK 1,234", but "£1,234"
    return format_currency(value, style.currency, format=pattern, locale=style.locale, currency_digits=False)


DAY_HOURS = 48  # durations from 48 hours on are shown in days


def _duration(hours: float, style: NumberStyle, unit: str | None = None) -> str:
    decimals = max(style.decimals, 1)
    unit = unit or duration_unit([hours])
    amount = hours / 24 if unit == "d" else hours
    return format_decimal(amount, format=_decimal_pattern(decimals), locale=style.locale) + NBSP + unit


def duration_unit(hours: list[float]) -> str:
    """'d' when the largest duration is 48 hours or more, else 'h': one unit for a whole axis."""
    return "d" if max((abs(h) for h in hours), default=0.0) >= DAY_HOURS else "h"


def axis_scale(style: NumberStyle, shown: list[float | None]) -> float:
    """Raw units per axis unit: 24 for a duration chart in days (its largest value 48 h or more), else 1.
    A chart places its ticks on round numbers of the axis unit (1 d, 1.5 d; not 45 h = 1.875 d)."""
    numbers = [v for v in shown if v is not None and not math.isnan(v)]
    return 24.0 if style.unit is Unit.DURATION and duration_unit(numbers) == "d" else 1.0


def axis_labels(ticks: list[float], style: NumberStyle, scale: float = 1.0) -> list[str]:
    """A chart axis's tick labels in one unit (a duration axis in days when `scale` is 24, else hours), with
    as many decimals as the step between ticks needs, the same for every tick."""
    if not ticks:
        return []
    shown_scale = 0.01 if style.unit is Unit.PERCENT else scale  # percent: the step in percentage points
    steps = [abs(b - a) / shown_scale for a, b in zip(ticks, ticks[1:]) if b != a]
    step = min(steps) if steps else abs(ticks[0]) / shown_scale or 1.0
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    if style.unit is Unit.DURATION:
        unit = "d" if scale == 24.0 else "h"
        return [format_decimal(t / scale, format=_decimal_pattern(decimals), locale=style.locale) + NBSP + unit
                for t in ticks]
    return [format_value(t, NumberStyle(style.unit, decimals, style.locale, style.currency)) for t in ticks]


def format_number(value: float | None, decimals: int, locale: str = "en") -> str:
    """A plain number with fixed decimals in the locale ("0.34", "0,34")."""
    if _missing(value):
        return NOT_AVAILABLE
    return format_decimal(value, format=_decimal_pattern(decimals), locale=locale)


def format_kpi_change(change: Change | None, style: NumberStyle) -> str:
    """A KPI's change as every output shows it: "+4.2 %", "−0.3 pp", or "+5" when the base was 0."""
    if change is None:
        return NOT_AVAILABLE
    if change.kind is ChangeKind.RELATIVE:
        return format_relative(change.amount, style.locale)
    return format_change(change.amount, style)


def sentence(text: str) -> str:
    """`text` ended with one full stop, also when it ends in an abbreviation ("444.068 kr.")."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


@dataclass(frozen=True)
class LocaleWords:
    """Writes the numbers of a sentence from another stage (see `pipeline.core.wording`) in `locale`;
    `value` placeholders in the unit of `style` (a KPI's figure)."""

    locale: str = "en"
    style: NumberStyle | None = None

    def count(self, value: int) -> str:
        return format_decimal(value, format="#,##0", locale=self.locale)

    def share(self, value: float) -> str:
        return format_percent(value, format="#,##0" + NBSP + "%", locale=self.locale)

    def decimal(self, value: float, digits: int) -> str:
        return format_number(value, digits, self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def value(self, value: float) -> str:
        if self.style is None:
            return format_decimal(value, locale=self.locale)
        return format_value(value, self.style)


def format_change(value: float | None, style: NumberStyle) -> str:
    """An absolute change with an explicit sign, in the KPI's unit."""
    if _missing(value):
        return NOT_AVAILABLE
    assert value is not None
    if style.unit is Unit.PERCENT:
        points = format_decimal(abs(value) * 100, format=_decimal_pattern(max(style.decimals, 1)), locale=style.locale)
        return f"{_sign(value)}{points}{NBSP}pp"
    return _sign(value) + format_value(abs(value), style)


def format_relative(value: float | None, locale: str = "en") -> str:
    """A relative change as a signed percentage with one decimal ("+4.2 %")."""
    if _missing(value):
        return NOT_AVAILABLE
    assert value is not None
    return _sign(value) + format_percent(abs(value), format="#,##0.0" + NBSP + "%", locale=locale)


def _sign(value: float) -> str:
    if value > 0:
        return "+"
    if value < 0:
        return "\u2212"  # minus sign
    return "±"


def period_name(period: Period, locale: str = "en") -> str:
    """A period as words: "October 2026", "2026-Q3", "Week 42, 2026", "2026"."""
    if period.grain is Grain.MONTH:
        return format_date(period.start, format="LLLL y", locale=locale)
    if period.grain is Grain.WEEK:
        year, week = period.label.split("-W")
        return f"{period.label} ({format_date(period.start, format='d MMM', locale=locale)})"
    return period.label


def long_date(day: date, locale: str = "en") -> str:
    """A date as words: "31 October 2026"."""
    return format_date(day, format="long", locale=locale)


def date_range(start: date, end_exclusive: date, locale: str = "en") -> str:
    """A span as words, last day inclusive: "1 October 2026 – 31 October 2026"."""
    last_day = date.fromordinal(end_exclusive.toordinal() - 1)
    return f"{long_date(start, locale)} – {long_date(last_day, locale)}"
