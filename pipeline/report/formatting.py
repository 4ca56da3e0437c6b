"""Numbers as a reader sees them: by unit, with the project's locale (Babel).

Pure: no I/O, no clock. Missing values, NaN and infinity print as "n/a".

Units:
- count, number: grouped digits with the KPI's decimals
- currency: the locale's currency pattern with the KPI's decimals ("DKK 1,234",
  "1.234 kr.")
- percent: the value is a fraction (0.123 -> "12.3 %")
- duration: the value is in hours; below 48 h shown in hours, else in days
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

NOT_AVAILABLE = "n/a"
NBSP = "\u00a0"


@dataclass(frozen=True)
class NumberStyle:
    """How one KPI's numbers are written."""

    unit: Unit
    decimals: int
    locale: str = "en"
    currency: str = "DKK"


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
        return _duration(value, style)
    return format_decimal(value, format=_decimal_pattern(style.decimals), locale=style.locale)


def _currency(value: float, style: NumberStyle) -> str:
    pattern = Locale.parse(style.locale).currency_formats["standard"].pattern
    pattern = pattern.split(";")[0]
    pattern = re.sub(r"#,##0(\.0+)?", _decimal_pattern(style.decimals), pattern)
    if get_currency_symbol(style.currency, locale=style.locale)[-1:].isalpha():
        pattern = re.sub(r"¤(?=[#0])", "¤" + NBSP, pattern)  # "DKK 1,234", but "£1,234"
    return format_currency(value, style.currency, format=pattern, locale=style.locale, currency_digits=False)


def _duration(hours: float, style: NumberStyle) -> str:
    decimals = max(style.decimals, 1)
    if abs(hours) < 48:
        return format_decimal(hours, format=_decimal_pattern(decimals), locale=style.locale) + NBSP + "h"
    days = hours / 24
    return format_decimal(days, format=_decimal_pattern(decimals), locale=style.locale) + NBSP + "d"


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
