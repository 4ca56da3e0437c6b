"""One change per KPI, chosen once in the KPI stage; the previous period's health; small samples.

Hand-checked values: every expected number below is worked out in the comment beside it.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.config import KpiConfig
from pipeline.core.errors import QueryError
from pipeline.core.periods import Calendar, Grain
from pipeline.kpis.comparisons import Change, ChangeKind, Health, compare, headline_change
from pipeline.kpis.queries import shape_series

CAL = Calendar(Grain.MONTH)
OCTOBER = CAL.parse("2026-10", date(2026, 11, 25))
SEPTEMBER = CAL.shift(OCTOBER, -1)
LAST_OCTOBER = CAL.same_period_last_year(OCTOBER)
WINDOW = CAL.window(OCTOBER, 23)


def series(october: float | None, september: float | None, last_october: float | None = None,
           other: float | None = 1.0) -> dict[date, float | None]:
    values = {p.start: other for p in WINDOW}
    values[OCTOBER.start], values[SEPTEMBER.start], values[LAST_OCTOBER.start] = october, september, last_october
    return values


def test_a_rate_changes_in_percentage_points_everywhere():
    """2.5 % -> 3.5 %: +1.0 pp (not +40 %), against last year's 3.0 %: +0.5 pp."""
    kpi = KpiConfig(title="Return rate", unit="percent", decimals=1, direction="down")
    result = compare("return_rate", kpi, series(0.035, 0.025, 0.030), CAL, OCTOBER)
    assert result.change == Change(ChangeKind.POINTS, pytest.approx(0.010))
    assert result.yoy == Change(ChangeKind.POINTS, pytest.approx(0.005))
    assert result.change_rel == pytest.approx(0.4)  # kept for ranking, never shown for a rate


def test_an_amount_changes_relatively_and_absolutely_from_zero():
    kpi = KpiConfig(title="Revenue", unit="currency")
    result = compare("revenue", kpi, series(90.0, 100.0, 60.0), CAL, OCTOBER)
    assert result.change == Change(ChangeKind.RELATIVE, pytest.approx(-0.10))  # 100 -> 90: -10 %
    assert result.yoy == Change(ChangeKind.RELATIVE, pytest.approx(0.5))  # 60 -> 90: +50 %
    from_zero = compare("revenue", kpi, series(5.0, 0.0, None), CAL, OCTOBER)
    assert from_zero.change == Change(ChangeKind.ABSOLUTE, 5.0)  # no relative change from 0: +5 in the unit
    assert from_zero.yoy is None  # nothing to compare with
    assert headline_change(kpi.unit, None, 3.0) is None


def test_the_previous_health_uses_the_previous_periods_target():
    kpi = KpiConfig(title="Revenue", unit="currency", target={"2026-09": 100.0, "2026-10": 200.0})
    result = compare("revenue", kpi, series(190.0, 120.0), CAL, OCTOBER)
    assert result.previous_health is Health.GREEN  # 120 >= September's 100
    assert result.health is Health.AMBER  # 190 within 5 % of October's 200
    thresholds = KpiConfig(title="SLA met", unit="percent", thresholds={"good": 0.9, "warn": 0.8})
    slipped = compare("sla", thresholds, series(0.767, 0.861), CAL, OCTOBER)
    assert (slipped.previous_health, slipped.health) == (Health.AMBER, Health.RED)


def test_values_below_min_sample_are_marked_low_sample():
    kpi = KpiConfig(title="CSAT", unit="number", decimals=2, min_sample=30)
    samples = {p.start: 45 for p in WINDOW}
    samples[OCTOBER.start] = 23
    result = compare("csat", kpi, series(3.2, 3.9), CAL, OCTOBER, samples=samples)
    assert result.low_sample and not result.previous_low_sample and not result.solid
    assert (result.sample, result.min_sample) == (23, 30)
    assert [p.low_sample for p in result.series] == [False] * 11 + [True]
    at_minimum = {**samples, OCTOBER.start: 30}  # 30 answers are enough
    assert compare("csat", kpi, series(3.2, 3.9), CAL, OCTOBER, samples=at_minimum).solid
    september_small = {**at_minimum, SEPTEMBER.start: 1}
    previous_low = compare("csat", kpi, series(3.2, 3.9), CAL, OCTOBER, samples=september_small)
    assert not previous_low.low_sample and previous_low.previous_low_sample and not previous_low.solid
    without = compare("csat", kpi.model_copy(update={"min_sample": None}), series(3.2, 3.9), CAL, OCTOBER,
                      samples={OCTOBER.start: 1})
    assert without.solid  # no min_sample: nothing is low


def test_sample_size_is_part_of_the_contract_not_a_dimension():
    kpi = KpiConfig(title="AOV", unit="currency", min_sample=30)
    rows = [(OCTOBER.start, None, 590.0, 753), (SEPTEMBER.start, None, 588.0, 726),
            (OCTOBER.start, "Bornholm", 400.0, 1)]
    shaped = shape_series("aov", kpi, "q.sql", ["period", "region", "value", "sample_size"], rows, WINDOW)
    assert list(shaped.by_dimension) == ["region"]  # sample_size is not a dimension
    assert shaped.samples[OCTOBER.start] == 753 and shaped.samples[SEPTEMBER.start] == 726
    assert shaped.samples[LAST_OCTOBER.start] is None  # no row: no observations
    assert shaped.segment_samples("region", "Bornholm")[OCTOBER.start] == 1
    # case-insensitive, like period and value
    upper = shape_series("aov", kpi, "q.sql", ["PERIOD", "VALUE", "Sample_Size"],
                         [(OCTOBER.start, 590.0, 753)], WINDOW)
    assert upper.by_dimension == {} and upper.samples[OCTOBER.start] == 753


def test_min_sample_needs_the_sample_size_column():
    kpi = KpiConfig(title="CSAT", unit="number", min_sample=30)
    with pytest.raises(QueryError) as caught:
        shape_series("csat", kpi, "queries/support/csat.sql", ["period", "value"], [(OCTOBER.start, 3.9)], WINDOW)
    assert "queries/support/csat.sql" in caught.value.message and "min_sample: 30" in caught.value.message
    assert "sample_size" in (caught.value.hint or "")


@pytest.mark.parametrize("bad", [2.5, -1, "many"])
def test_a_sample_size_is_a_whole_count(bad):
    kpi = KpiConfig(title="CSAT", unit="number", min_sample=30)
    with pytest.raises(QueryError, match="sample_size"):
        shape_series("csat", kpi, "q.sql", ["period", "value", "sample_size"], [(OCTOBER.start, 3.9, bad)], WINDOW)


SHARED = ["period", "region", "orders", "average_order_value", "active_customers"]
SHARED_ROWS = [(OCTOBER.start, None, 753, 590.0, 700), (OCTOBER.start, "Bornholm", 2, 400.0, 2),
               (SEPTEMBER.start, None, 726, 588.0, 690)]
SHARED_MEASURES = frozenset({"value", "sample_size", "orders", "average_order_value", "active_customers"})


def test_a_kpi_takes_its_own_column_of_a_shared_query():
    """KPIs naming columns of one query: each takes its column; every named column is a measure, the rest
    (but period) dimensions; `sample:` names the column counting a KPI's observations."""
    orders = KpiConfig(title="Orders", unit="count", value="orders")
    aov = KpiConfig(title="AOV", unit="currency", value="average_order_value", sample="orders", min_sample=30)
    shaped = {k: shape_series(k, kpi, "q.sql", SHARED, SHARED_ROWS, WINDOW, measures=SHARED_MEASURES)
              for k, kpi in (("orders", orders), ("aov", aov))}
    assert shaped["orders"].values[OCTOBER.start] == 753 and shaped["orders"].values[SEPTEMBER.start] == 726
    assert shaped["aov"].values[OCTOBER.start] == 590.0
    assert shaped["aov"].samples[OCTOBER.start] == 753 and shaped["aov"].segment_samples("region", "Bornholm")[
        OCTOBER.start] == 2
    assert shaped["orders"].samples == {}  # no sample_size column and no sample: named
    for series in shaped.values():
        assert series.dimensions == ("region",) and list(series.by_dimension) == ["region"]
    assert shaped["orders"].by_dimension["region"]["Bornholm"][OCTOBER.start] == 2


def test_without_the_other_kpis_columns_they_would_be_dimensions():
    """What `measures` guards against: a column another KPI takes read as a dimension (no company-wide row)."""
    orders = KpiConfig(title="Orders", unit="count", value="orders")
    alone = shape_series("orders", orders, "q.sql", SHARED, SHARED_ROWS, WINDOW)
    assert alone.values[OCTOBER.start] is None  # every row has a 'dimension' set: nothing company-wide


def test_a_missing_value_column_names_the_kpi_and_its_setting():
    kpi = KpiConfig(title="Orders", unit="count", value="order_count")
    with pytest.raises(QueryError) as caught:
        shape_series("orders", kpi, "queries/sales/order_lines.sql", SHARED, SHARED_ROWS, WINDOW,
                     measures=SHARED_MEASURES | {"order_count"})
    assert caught.value.message == (
        "queries/sales/order_lines.sql: the query returns no 'order_count' column for KPI 'orders' (its 'value:') "
        "(it returns period, region, orders, average_order_value, active_customers)")
    assert "value:" in (caught.value.hint or "")


def test_a_kpi_listing_no_dimensions_is_company_wide_only():
    """dimensions: [] — the shared query's region rows (its column NULL there) are not the KPI's: no segment
    with missing figures, and a burst report refuses it unless it is declared company-wide."""
    columns = [*SHARED, "repeat_rate"]
    rows = [(*row, 0.54 if row[1] is None else None) for row in SHARED_ROWS]
    repeat = KpiConfig(title="Repeat", unit="percent", value="repeat_rate", dimensions=[])
    shaped = shape_series("repeat", repeat, "q.sql", columns, rows, WINDOW, measures=SHARED_MEASURES | {"repeat_rate"})
    assert shaped.values[OCTOBER.start] == 0.54 and shaped.values[SEPTEMBER.start] == 0.54
    assert shaped.dimensions == () and shaped.by_dimension == {}
    # listing the dimension keeps it, as leaving dimensions: out does
    for kpi in (KpiConfig(title="Orders", unit="count", value="orders", dimensions=["Region"]),
                KpiConfig(title="Orders", unit="count", value="orders")):
        listed = shape_series("orders", kpi, "q.sql", SHARED, SHARED_ROWS, WINDOW, measures=SHARED_MEASURES)
        assert listed.dimensions == ("region",)
        assert listed.by_dimension["region"]["Bornholm"][OCTOBER.start] == 2


def test_a_dimension_the_query_does_not_return_is_an_error():
    kpi = KpiConfig(title="Orders", unit="count", value="orders", dimensions=["country"])
    with pytest.raises(QueryError) as caught:
        shape_series("orders", kpi, "queries/sales/order_lines.sql", SHARED, SHARED_ROWS, WINDOW,
                     measures=SHARED_MEASURES)
    assert caught.value.message == (
        "queries/sales/order_lines.sql: KPI 'orders' lists dimensions: [country], but the query returns no "
        "dimension column 'country' (its dimension columns are region)")
    assert "dimensions:" in (caught.value.hint or "")
    # a measure is no dimension either
    kpi = KpiConfig(title="Orders", unit="count", value="orders", dimensions=["active_customers"])
    with pytest.raises(QueryError, match="no dimension column 'active_customers'"):
        shape_series("orders", kpi, "q.sql", SHARED, SHARED_ROWS, WINDOW, measures=SHARED_MEASURES)


@pytest.mark.parametrize("names", [["period"], ["region", "REGION"], ["bad name"]])
def test_dimensions_are_column_names_listed_once(names):
    with pytest.raises(ValueError):
        KpiConfig(title="Orders", unit="count", dimensions=names)
