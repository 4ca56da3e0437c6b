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
    from pipeline.report.movers import movers

    cal = Calendar(Grain.MONTH)
    period = cal.parse("2026-10", day(2026, 11, 25))
    kpi = KpiConfig(title="Return rate", unit="percent", decimals=1, direction="down")
    values = {p.start: 0.025 for p in cal.window(period, 23)}
    values[period.start] = 0.035
    result = compare("return_rate", kpi, values, cal, period)
    assert movers([result], cal, period, "da", "DKK") == (f"Return rate rose 1,0{NB}pp from september to 3,5{NB}%.",)
    assert movers([result], cal, period, "en", "DKK") == (f"Return rate rose 1.0{NB}pp from September to 3.5{NB}%.",)


@pytest.mark.parametrize(
    ("kind", "amount", "unit", "locale", "expected"),
    [
        ("relative", 0.042, Unit.CURRENCY, "en", f"+4.2{NB}%"),
        ("relative", -0.133, Unit.COUNT, "da", f"\u221213,3{NB}%"),
        ("points", 0.03, Unit.PERCENT, "en_DK", f"+3,0{NB}pp"),  # a rate: never "+361.5 %"
        ("absolute", 5.0, Unit.COUNT, "en", "+5.0"),  # from 0: no relative change exists
    ],
)
def test_a_kpis_change_is_written_one_way(kind, amount, unit, locale, expected):
    from pipeline.kpis.comparisons import Change, ChangeKind
    from pipeline.report.formatting import format_kpi_change

    assert format_kpi_change(Change(ChangeKind(kind), amount), NumberStyle(unit, 1, locale, "DKK")) == expected
    assert format_kpi_change(None, NumberStyle(unit, 1, locale, "DKK")) == "n/a"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", ["32,858", "116%", "7.9", "967", "Oct 31, 2026"]),
        ("en_DK", ["32.858", f"116{NB}%", "7,9", "967", "31 Oct 2026"]),
        ("da", ["32.858", f"116{NB}%", "7,9", "967", "31. okt. 2026"]),
    ],
)
def test_sentences_from_other_stages_are_filled_in_the_reports_locale(locale, expected):
    from pipeline.core.wording import PLAIN, fill
    from pipeline.report.formatting import LocaleWords

    wording = "{rows:count}|{ratio:share}|{z:decimal}|{average:amount}|{day:date}"
    numbers = {"rows": 32858, "ratio": 1.16, "z": 7.91, "average": 967.4, "day": date(2026, 10, 31)}
    words = PLAIN if locale == "en" else LocaleWords(locale)
    filled = fill(wording, numbers, words).split("|")
    if locale == "en":
        assert filled == ["32,858", "116%", "7.9", "967", "2026-10-31"]  # plain: logs and errors
        filled = fill(wording, numbers, LocaleWords("en")).split("|")
        expected = ["32,858", f"116{NB}%", "7.9", "967", "Oct 31, 2026"]
    assert filled == expected


def test_a_wording_leaves_other_braces_alone_and_refuses_unknown_kinds():
    from pipeline.core.wording import fill
    from pipeline.report.formatting import LocaleWords

    style = NumberStyle(Unit.CURRENCY, 0, "da", "DKK")
    assert fill("{x} {baseline:value} {y:count}", {"baseline": 1234.0, "y": None}, LocaleWords("da", style)) == (
        f"{{x}} 1.234{NB}kr. n/a")
    with pytest.raises(ValueError, match="kind"):
        fill("{n:percent}", {"n": 1}, LocaleWords("da"))


def test_scores_and_sentences_in_the_locale():
    from pipeline.report.formatting import format_number, sentence

    assert format_number(0.3369, 2, "en_DK") == "0,34"
    assert format_number(0.3369, 2, "en") == "0.34"
    assert format_number(None, 2, "da") == "n/a"
    assert sentence(f"Revenue fell to 444.068{NB}kr.") == f"Revenue fell to 444.068{NB}kr."
    assert sentence("Orders rose to 753") == "Orders rose to 753."


@pytest.mark.parametrize(
    ("unit", "ticks", "scale", "locale", "expected"),
    [
        # hours labelled in days on a days axis: one unit, the decimals the step needs
        (Unit.DURATION, [36.0, 48.0, 60.0], 24.0, "da", [f"1,5{NB}d", f"2,0{NB}d", f"2,5{NB}d"]),
        (Unit.DURATION, [0.0, 24.0, 48.0], 24.0, "en", [f"0{NB}d", f"1{NB}d", f"2{NB}d"]),
        (Unit.DURATION, [5.0, 10.0, 15.0], 1.0, "en", [f"5{NB}h", f"10{NB}h", f"15{NB}h"]),
        (Unit.PERCENT, [0.0, 0.025, 0.05], 1.0, "en", [f"0.0{NB}%", f"2.5{NB}%", f"5.0{NB}%"]),
        (Unit.CURRENCY, [400000.0, 600000.0], 1.0, "en_DK", [f"400.000{NB}kr.", f"600.000{NB}kr."]),
        (Unit.NUMBER, [3.8, 4.0, 4.2], 1.0, "da", ["3,8", "4,0", "4,2"]),
    ],
)
def test_an_axis_has_one_unit_and_one_number_of_decimals(unit, ticks, scale, locale, expected):
    from pipeline.report.formatting import axis_labels

    assert axis_labels(ticks, NumberStyle(unit, 1, locale, "DKK"), scale) == expected


def test_a_duration_axis_is_in_days_when_its_largest_value_is():
    from pipeline.report.formatting import axis_scale

    style = NumberStyle(Unit.DURATION, 1, "en")
    assert axis_scale(style, [45.0, 60.0, None]) == 24.0  # one value of 2.5 d: the whole axis in days
    assert axis_scale(style, [3.9, 15.2]) == 1.0
    assert axis_scale(NumberStyle(Unit.COUNT, 0, "en"), [60.0, 90.0]) == 1.0


def test_a_duration_row_is_written_in_one_unit():
    from pipeline.config import KpiConfig
    from pipeline.kpis.comparisons import compare
    from pipeline.report.formatting import kpi_style

    cal = Calendar(Grain.MONTH)
    period = cal.parse("2026-10", date(2026, 11, 25))
    values = {p.start: 46.7 for p in cal.window(period, 23)}
    values[period.start] = 52.8
    result = compare("resolution", KpiConfig(title="Resolution", unit="duration", decimals=1), values, cal, period)
    style = kpi_style(result, "en_DK", "DKK")
    assert (format_value(result.value, style), format_value(result.previous, style)) == (f"2,2{NB}d", f"1,9{NB}d")
