"""The executive summary's sentences: which KPIs, in which order, in which words.

A hand-checked month: revenue fell 9.2 % and slipped below its target; the open
backlog is off track as before; first response improved from watch to on track;
complaints, the return rate and tickets moved by 23.5 %, 12 % and 5.7 %; CSAT
fell hard but from 23 answers (low sample); active customers did not move.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pipeline.config import KpiConfig
from pipeline.core.periods import Calendar, Grain
from pipeline.kpis.comparisons import compare
from pipeline.report.formatting import format_kpi_change, kpi_style
from pipeline.report.movers import BETTER, MOVED, OFF_TARGET, WORSE, group, movers, rank

NB = "\u00a0"
CAL = Calendar(Grain.MONTH)
OCTOBER = CAL.parse("2026-10", date(2026, 11, 25))
SEPTEMBER = CAL.shift(OCTOBER, -1)
WINDOW = CAL.window(OCTOBER, 23)


def result(kpi_id: str, kpi: KpiConfig, september: float, october: float, samples: int | None = None):
    values = {p.start: september for p in WINDOW}
    values[OCTOBER.start] = october
    counts = None if samples is None else {**{p.start: 100 for p in WINDOW}, OCTOBER.start: samples}
    return compare(kpi_id, kpi, values, CAL, OCTOBER, samples=counts)


@pytest.fixture
def month():
    return [
        # 489,000 -> 444,000: -45,000 / 489,000 = -9.2 %; target 480,000: green before, red now (below 456,000)
        result("revenue", KpiConfig(title="Revenue", unit="currency", target=480000), 489000, 444000),
        # 644 -> 644: no move, no status
        result("active_customers", KpiConfig(title="Active customers", unit="count"), 644, 644),
        # 17 -> 13: -4 / 17 = -23.5 %
        result("complaints", KpiConfig(title="Complaints", unit="count", direction="down"), 17, 13),
        # 5.8 h -> 3.9 h: -1.9 / 5.8 = -32.8 %; thresholds 4 / 8: watch -> on track
        result("first_response", KpiConfig(title="Median first response", unit="duration", decimals=1,
                                           direction="down", thresholds={"good": 4, "warn": 8}), 5.8, 3.9),
        # 2.5 % -> 2.2 %: -0.3 pp (-12 %); thresholds 3 % / 4.5 %: on track both months
        result("return_rate", KpiConfig(title="Return rate", unit="percent", decimals=1, direction="down",
                                        thresholds={"good": 0.03, "warn": 0.045}), 0.025, 0.022),
        # 122 -> 129: +7 / 122 = +5.7 %, neutral
        result("tickets", KpiConfig(title="Tickets opened", unit="count", direction="neutral"), 122, 129),
        # 20 -> 21: +5 %; thresholds 10 / 12: off track both months
        result("backlog", KpiConfig(title="Open backlog", unit="count", direction="down",
                                    thresholds={"good": 10, "warn": 12}), 20, 21),
        # 3.9 -> 3.2: -17.9 %, but from 23 answers (min_sample 30)
        result("csat", KpiConfig(title="CSAT", unit="number", decimals=2, min_sample=30), 3.9, 3.2, samples=23),
    ]


def test_status_changes_and_off_target_come_before_size(month):
    by_id = {r.kpi_id: r for r in month}
    assert group(by_id["revenue"]) == WORSE
    assert group(by_id["backlog"]) == OFF_TARGET
    assert group(by_id["first_response"]) == BETTER
    assert group(by_id["complaints"]) == group(by_id["return_rate"]) == group(by_id["tickets"]) == MOVED
    assert group(by_id["csat"]) is None  # low sample: not ranked as if it were solid
    assert group(by_id["active_customers"]) is None  # did not move
    assert [r.kpi_id for r in rank(month)] == [
        "revenue", "backlog", "first_response", "complaints", "return_rate", "tickets"]


def test_the_sentences_say_from_which_period_and_where_the_kpi_stands(month):
    assert movers(month, CAL, OCTOBER, "en", "DKK") == (
        f"Revenue fell 9.2{NB}% from September to DKK{NB}444,000, DKK{NB}36,000 behind target, "
        "now off track (was on track).",
        f"Open backlog rose 5.0{NB}% from September to 21, off track.",
        f"Median first response fell 32.8{NB}% from September to 3.9{NB}h, now on track (was watch).",
    )
    assert movers(month, CAL, OCTOBER, "en", "DKK", count=6)[3:] == (
        f"Complaints fell 23.5{NB}% from September to 13.",
        f"Return rate fell 0.3{NB}pp from September to 2.2{NB}%.",
        f"Tickets opened rose 5.7{NB}% from September to 129.",
    )


def test_the_sentence_carries_the_same_change_as_the_table(month):
    for r in rank(month):
        shown = format_kpi_change(r.change, kpi_style(r, "da", "DKK"))
        (sentence,) = movers([r], CAL, OCTOBER, "da", "DKK")
        assert shown.lstrip("+\u2212") in sentence, (shown, sentence)


def test_a_sentence_ending_in_a_currency_abbreviation_has_one_full_stop():
    aov = result("aov", KpiConfig(title="Average order value", unit="currency"), 588, 590)
    assert movers([aov], CAL, OCTOBER, "da", "DKK") == (f"Average order value rose 0,3{NB}% from september to 590{NB}kr.",)
    assert movers([aov], CAL, OCTOBER, "en_DK", "DKK")[0].endswith(f"590{NB}kr.")


def test_a_segment_speaks_only_of_its_own_figures(month):
    """In a segment's report, company-wide KPIs (no segment breakdown) are left out of the sentences."""
    marked = [replace(r, company_wide=True) if r.kpi_id in ("revenue", "complaints") else r for r in month]
    ranked = [r.kpi_id for r in rank(marked)]
    assert "revenue" not in ranked and "complaints" not in ranked
    assert ranked[:2] == ["backlog", "first_response"]


def test_a_quarter_is_named_in_full():
    cal = Calendar(Grain.QUARTER)
    q4 = cal.parse("2026-Q4", date(2027, 1, 20))
    values = {p.start: 100.0 for p in cal.window(q4, 8)}
    values[q4.start] = 110.0
    up = compare("orders", KpiConfig(title="Orders", unit="count"), values, cal, q4)
    assert movers([up], cal, q4, "en", "DKK") == (f"Orders rose 10.0{NB}% from 2026-Q3 to 110.",)
