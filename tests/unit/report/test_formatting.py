"""Numbers and dates by unit and locale (Babel): English and Danish."""

from datetime import date

import pytest

from pipeline.config import Unit
from pipeline.core.periods import Calendar, Grain
from pipeline.report.formatting import NumberStyle, format_change, format_relative, format_value, long_date, period_name

NB = "\u00a0"


@pytest.mark.parametrize(
    ("locale", "unit", "decimals", "value", "expected"),
    [
        ("da", Unit.CURRENCY, 2, 1234.56, f"1.234,56{NB}kr."),
        ("da_DK", Unit.CURRENCY, 0, 1234567.4, f"1.234.567{NB}kr."),
        ("en_DK", Unit.CURRENCY, 0, 444068.2, f"444.068{NB}kr."),
        ("en", Unit.CURRENCY, 0, 1234567.4, f"DKK{NB}1,234,567"),
        ("da", Unit.PERCENT, 1, 0.1234, f"12,3{NB}%"),
        ("en", Unit.PERCENT, 1, 0.1234, f"12.3{NB}%"),
        ("da", Unit.COUNT, 0, 1234, "1.234"),
        ("en", Unit.NUMBER, 2, 4.0912, "4.09"),
        ("da", Unit.NUMBER, 2, 4.0912, "4,09"),
        ("en", Unit.DURATION, 1, 3.14, f"3.1{NB}h"),
        ("en", Unit.DURATION, 1, 47.9, f"47.9{NB}h"),
        ("en", Unit.DURATION, 1, 60.0, f"2.5{NB}d"),
        ("da", Unit.DURATION, 1, 60.0, f"2,5{NB}d"),
    ],
)
def test_values_by_unit_and_locale(locale, unit, decimals, value, expected):
    assert format_value(value, NumberStyle(unit, decimals, locale, "DKK")) == expected


def test_symbol_currencies_have_no_space_codes_do():
    assert format_value(41992.2, NumberStyle(Unit.CURRENCY, 0, "en_GB", "GBP")) == "£41,992"
    assert format_value(-12.5, NumberStyle(Unit.CURRENCY, 2, "en", "USD")) == "-$12.50"
    assert format_value(12.5, NumberStyle(Unit.CURRENCY, 2, "en", "SEK")) == f"SEK{NB}12.50"


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), float("-inf")])
def test_missing_and_undefined_values_are_not_available(bad):
    style = NumberStyle(Unit.CURRENCY, 0, "da", "DKK")
    assert format_value(bad, style) == "n/a"
    assert format_change(bad, style) == "n/a"
    assert format_relative(bad, "da") == "n/a"


def test_changes_carry_a_sign_and_percent_points():
    assert format_change(54807.2, NumberStyle(Unit.CURRENCY, 0, "da", "DKK")) == f"+54.807{NB}kr."
    assert format_change(-0.006, NumberStyle(Unit.PERCENT, 1, "en", "DKK")) == f"\u22120.6{NB}pp"
    assert format_change(0, NumberStyle(Unit.COUNT, 0, "en", "DKK")) == "±0"
    assert format_relative(0.042, "en") == f"+4.2{NB}%"
    assert format_relative(-0.133, "da") == f"\u221213,3{NB}%"


def test_month_names_and_dates_by_locale():
    october = Calendar(Grain.MONTH).parse("2026-10", date(2026, 11, 25))
    assert period_name(october, "da") == "oktober 2026"
    assert period_name(october, "en") == "October 2026"
    assert long_date(date(2026, 10, 31), "da") == "31. oktober 2026"
    assert long_date(date(2026, 10, 31), "en") == "October 31, 2026"
    q3 = Calendar(Grain.QUARTER).parse("2026-Q3", date(2026, 11, 25))
    assert period_name(q3, "da") == "2026-Q3"


def test_mover_sentences_follow_the_locale():
    from datetime import date as day

    from pipeline.config import KpiConfig
    from pipeline.kpis.comparisons import compare
    from pipeline.report.okr_section import movers

    cal = Calendar(Grain.MONTH)
    period = cal.parse("2026-10", day(2026, 11, 25))
    kpi = KpiConfig(title="Return rate", unit="percent", decimals=1, direction="down")
    values = {p.start: 0.025 for p in cal.window(period, 23)}
    values[period.start] = 0.035
    result = compare("return_rate", kpi, values, cal, period)
    assert movers([result], cal, period, "da", "DKK") == (f"Return rate rose 1,0{NB}pp on september, to 3,5{NB}%.",)
    assert movers([result], cal, period, "en", "DKK") == (f"Return rate rose 1.0{NB}pp on September, to 3.5{NB}%.",)
