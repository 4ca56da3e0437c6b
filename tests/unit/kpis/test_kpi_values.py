"""Every demo KPI checked against values computed independently from the raw exports.

"Numbers are the product": a wrong KPI is worse than a crash.  The expected values
below are computed with Polars straight from the export files the `demo_exports`
fixture generates -- never through DuckDB or any Pulse module -- following the
KPI definitions in config/kpis.yaml and the header comments of queries/**/*.sql:

* sales: every sales_*.csv / sales_*.xlsx; per (order_id, line_id) the row of the
  file whose path sorts last wins; `order_ts` is UTC ("...Z") and is bucketed by
  its Europe/Copenhagen local time.
* tickets: every tickets_*.json (NDJSON); per ticket_id the last file wins;
  timestamps are naive local time.
* a month is [first instant of the month, first instant of the next month).

Pulse is then asked for several report periods (months and a quarter) and its
value, previous, last_year and 12-point series must equal the independent ones.
A few properties (Copenhagen bucketing, re-export dedupe) are checked explicitly
because they are the subtle ways these numbers go wrong.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from pipeline.app import workspace
from pipeline.core.periods import Grain
from support.project import NOW, make_project
from support.reference import (
    ADDITIVE,
    KPI_IDS,
    REPORT_MONTHS,
    REPORT_QUARTER,
    SALES_TYPES,
    ZERO_FILLED,
    Independent,
    add_months,
    dedupe,
    label_of,
    month_start,
    sales_kpis,
)


# --------------------------------------------------------------------------
# Fixtures: independent frames and one Pulse workspace per module
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def independent(demo_exports: Path) -> Independent:
    return Independent(demo_exports)


@pytest.fixture(scope="module")
def ws(tmp_path_factory, demo_exports: Path):
    root = make_project(tmp_path_factory.mktemp("kpi_values") / "project", demo_exports)
    opened = workspace.open_workspace(root)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def monthly(ws) -> dict[str, dict]:
    """Pulse's KpiResults per report month and KPI id."""
    calendar = workspace.calendar_for(ws.config, Grain.MONTH)
    found = {}
    for label in REPORT_MONTHS:
        period = workspace.resolve_period(ws.config, Grain.MONTH, label, NOW)
        assert period.label == label
        found[label] = {r.kpi_id: r for r in workspace.kpi_results(ws, KPI_IDS, calendar, period)}
    return found


@pytest.fixture(scope="module")
def quarterly(ws) -> dict:
    calendar = workspace.calendar_for(ws.config, Grain.QUARTER)
    period = workspace.resolve_period(ws.config, Grain.QUARTER, REPORT_QUARTER, NOW)
    return {r.kpi_id: r for r in workspace.kpi_results(ws, KPI_IDS, calendar, period)}


def assert_kpi(actual: float | None, expected: float | None, what: str) -> None:
    if expected is None:
        assert actual is None, f"{what}: Pulse gives {actual!r}, expected no value"
    else:
        assert actual is not None, f"{what}: Pulse gives no value, expected {expected!r}"
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), (
            f"{what}: Pulse gives {actual!r}, independent value is {expected!r}"
        )


# --------------------------------------------------------------------------
# Value, previous, last year for every KPI and several months
# --------------------------------------------------------------------------
def test_demo_kpis_are_the_report_kpis(ws):
    assert set(KPI_IDS) == set(ws.config.kpis)
    assert ZERO_FILLED == {k for k, v in ws.config.kpis.items() if v.fill == "zero"}


@pytest.mark.parametrize("label", REPORT_MONTHS)
@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_month_value_previous_last_year(monthly, independent, label, kpi_id):
    result = monthly[label][kpi_id]
    start = month_start(label)
    assert result.period.label == label
    assert_kpi(result.value, independent.month(label)[kpi_id], f"{kpi_id} {label} value")
    previous = label_of(add_months(start, -1))
    assert_kpi(result.previous, independent.month(previous)[kpi_id], f"{kpi_id} {label} previous ({previous})")
    last_year = label_of(add_months(start, -12))
    assert_kpi(result.last_year, independent.month(last_year)[kpi_id], f"{kpi_id} {label} last_year ({last_year})")


@pytest.mark.parametrize("label", REPORT_MONTHS)
def test_changes_follow_from_the_independent_values(monthly, independent, label):
    start = month_start(label)
    for kpi_id in KPI_IDS:
        result = monthly[label][kpi_id]
        value = independent.month(label)[kpi_id]
        previous = independent.month(label_of(add_months(start, -1)))[kpi_id]
        if value is None or previous is None:
            assert result.change_abs is None and result.change_rel is None, kpi_id
            continue
        assert result.change_abs == pytest.approx(value - previous, rel=1e-9, abs=1e-9), kpi_id
        if previous == 0:
            assert result.change_rel is None, kpi_id
        else:
            assert result.change_rel == pytest.approx((value - previous) / abs(previous), rel=1e-9, abs=1e-12), kpi_id


@pytest.mark.parametrize("label", REPORT_MONTHS)
def test_series_is_the_twelve_months_ending_at_the_period(monthly, independent, label):
    start = month_start(label)
    months = [label_of(add_months(start, -k)) for k in range(11, -1, -1)]
    for kpi_id in KPI_IDS:
        series = monthly[label][kpi_id].series
        assert [p.label for p in series] == months, kpi_id
        assert [p.start for p in series] == [month_start(m).date() for m in months], kpi_id
        for point in series:
            assert_kpi(point.value, independent.month(point.label)[kpi_id], f"{kpi_id} series point {point.label}")


def test_independent_values_are_not_trivially_empty(independent):
    """Guard against the test agreeing with Pulse because both see no data."""
    xlsx_rows = independent.sales_all.filter(pl.col("_file") == "sales_2025-06.xlsx")
    assert xlsx_rows.height > 500, "the 2025-06 export is the .xlsx one"
    assert independent.month("2025-06")["orders"] > 500
    for label in REPORT_MONTHS:
        values = independent.month(label)
        for kpi_id in KPI_IDS:
            assert values[kpi_id] is not None, (label, kpi_id)
        assert values["revenue"] > 100_000 and values["orders"] > 300 and values["tickets_opened"] > 50, label
        assert 0 < values["return_rate"] < 0.2 and 1 <= values["csat"] <= 5, label
    # 2025-12 is the peak month of the demo year by orders and tickets
    # (revenue peaks in Black-Friday November)
    for kpi_id in ("orders", "tickets_opened"):
        by_month = {m: independent.month(f"2025-{m:02d}")[kpi_id] for m in range(1, 13)}
        assert max(by_month, key=by_month.get) == 12, kpi_id
    # before the first export no KPI has a value, zero-filled or not (nothing covers the month)
    empty = independent.month("2024-08")
    assert all(v is None for v in empty.values())
    # (inside the data a zero-filled KPI without rows is 0: tests/unit/kpis/test_fill_coverage.py)


# --------------------------------------------------------------------------
# Quarter grain
# --------------------------------------------------------------------------
QUARTER_BOUNDS = {  # 2026-Q3 with fiscal_year_start 1, and its comparison quarters
    "value": (datetime(2026, 7, 1), datetime(2026, 10, 1)),
    "previous": (datetime(2026, 4, 1), datetime(2026, 7, 1)),
    "last_year": (datetime(2025, 7, 1), datetime(2025, 10, 1)),
}


def test_quarter_period(ws, quarterly):
    assert ws.config.project.fiscal_year_start == 1
    period = quarterly["revenue"].period
    assert (period.label, period.start, period.end) == (
        REPORT_QUARTER,
        QUARTER_BOUNDS["value"][0].date(),
        QUARTER_BOUNDS["value"][1].date(),
    )


@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_quarter_value_previous_last_year(quarterly, independent, kpi_id):
    result = quarterly[kpi_id]
    for field, (start, end) in QUARTER_BOUNDS.items():
        expected = independent.kpis(start, end)[kpi_id]
        assert_kpi(getattr(result, field), expected, f"{kpi_id} {REPORT_QUARTER} {field}")


@pytest.mark.parametrize("kpi_id", ADDITIVE)
def test_quarter_of_additive_kpis_is_the_sum_of_its_months(quarterly, independent, kpi_id):
    months = sum(independent.month(f"2026-{m:02d}")[kpi_id] for m in (7, 8, 9))
    assert quarterly[kpi_id].value == pytest.approx(months, rel=1e-9)


def test_quarter_active_customers_is_not_the_sum_of_its_months(quarterly, independent):
    months = sum(independent.month(f"2026-{m:02d}")["active_customers"] for m in (7, 8, 9))
    assert quarterly["active_customers"].value < months  # customers ordering in two months count once


# --------------------------------------------------------------------------
# Properties that catch subtle bugs
# --------------------------------------------------------------------------
def test_orders_are_bucketed_by_copenhagen_local_time(ws, monthly, independent):
    sales = independent.sales
    crossing = sales.filter(pl.col("utc_ts").dt.month() != pl.col("local_ts").dt.month())
    assert crossing.height > 0, "expected orders placed just after local midnight on the 1st"
    # Pulse stores the instant; in the reporting zone it is the local wall-clock time of the order
    sample = crossing.row(0, named=True)
    stored = ws.con.execute(
        "SELECT order_ts, CAST(order_ts AS TIMESTAMP) FROM sales WHERE order_id = $o AND line_id = $l",
        {"o": sample["order_id"], "l": sample["line_id"]},
    ).fetchall()
    assert stored[0][0].astimezone(timezone.utc).replace(tzinfo=None) == sample["utc_ts"]
    assert stored[0][1] == sample["local_ts"], f"{sample['order_id']} should be local time in the reporting zone"
    # UTC bucketing gives different revenue; Pulse must match the local bucketing
    differing = 0
    for label in REPORT_MONTHS:
        start = month_start(label)
        end = add_months(start, 1)
        local = independent.month(label)["revenue"]
        utc = sales_kpis(sales, start, end, ts="utc_ts")["revenue"]
        pulse = monthly[label]["revenue"].value
        assert pulse == pytest.approx(local, rel=1e-9)
        if utc != pytest.approx(local, rel=1e-9):
            differing += 1
            assert pulse != pytest.approx(utc, rel=1e-9), f"{label}: Pulse buckets revenue by UTC month"
    assert differing > 0
    # the month before the first export has orders in UTC only (local 1 Sep 00:xx = 31 Aug UTC)
    before = sales_kpis(sales, datetime(2024, 8, 1), datetime(2024, 9, 1), ts="utc_ts")
    assert before["orders"] > 0
    assert monthly["2024-09"]["orders"].previous is None  # before the first local order: no value, not 0


def test_restated_returns_from_reexports_win(ws, monthly, independent):
    everything = independent.sales_all
    multi = everything.group_by("order_id", "line_id").agg(
        files=pl.len(),
        first_status=pl.col("status").sort_by("_rank").first(),
        last_status=pl.col("status").sort_by("_rank").last(),
    )
    assert multi["files"].max() == 2
    restated = multi.filter((pl.col("first_status") == "completed") & (pl.col("last_status") == "returned"))
    assert restated.height > 0, "expected completed lines restated as returned by the next month's export"
    # Pulse keeps one row per line, with the restated status
    assert ws.con.execute("SELECT count(*) FROM sales").fetchall()[0][0] == independent.sales.height
    pulse_status = pl.DataFrame(
        ws.con.execute("SELECT order_id, line_id, status FROM sales").fetchall(),
        schema=["order_id", "line_id", "pulse_status"],
        orient="row",
    )
    joined = restated.join(pulse_status, on=["order_id", "line_id"], how="left")
    assert (joined["pulse_status"] == "returned").all(), joined.filter(pl.col("pulse_status") != "returned")
    # return rate with the stale (first file wins) rows differs, and Pulse uses the newest rows
    stale = dedupe(everything, ["order_id", "line_id"], keep="first")
    differing = 0
    for label in REPORT_MONTHS:
        start = month_start(label)
        stale_rate = sales_kpis(stale, start, add_months(start, 1))["return_rate"]
        pulse = monthly[label]["return_rate"].value
        assert pulse == pytest.approx(independent.month(label)["return_rate"], rel=1e-9)
        if stale_rate != pytest.approx(pulse, rel=1e-9):
            differing += 1
    assert differing > 0


def test_ticket_snapshots_newest_file_wins(ws, independent):
    everything = independent.tickets_all
    later = everything.group_by("ticket_id").agg(
        files=pl.len(), last_resolved=pl.col("resolved_at").sort_by("_rank").last()
    )
    updated = later.filter((pl.col("files") > 1) & pl.col("last_resolved").is_not_null())
    assert updated.height > 0, "expected tickets resolved after the month they were created in"
    assert ws.con.execute("SELECT count(*) FROM tickets").fetchall()[0][0] == independent.tickets.height
    assert independent.tickets.height == everything["ticket_id"].n_unique()
    # still open at the last export: only these are unresolved
    open_now = independent.tickets.filter(pl.col("resolved_at").is_null()).height
    assert open_now > 0
    assert independent.month("2026-10")["open_backlog"] == open_now


# --------------------------------------------------------------------------
# Edge cases: a tiny hand-made export set with values known by hand
# --------------------------------------------------------------------------
# Every row sits on a boundary the demo data rarely or never hits: an order at
# exactly local midnight of the 1st (UTC: previous month), a first order at the
# period start, a cancelled line inside a valid order, a customer whose only
# earlier order was cancelled, a line restated as returned by the next export,
# a first response after exactly 24 h and 24 h + 1 s, a ticket resolved exactly
# at the month end, a ticket created exactly at the month start.
EDGE_SALES = {
    "sales_2026-01.csv": [
        "SO-1,1,2026-01-05T10:00:00Z,C-1,Hovedstaden,web,Morgenblend,Coffee,1,100.00,0.00,DKK,cancelled",
        "SO-2,1,2026-01-31T22:59:59Z,C-3,Hovedstaden,web,Morgenblend,Coffee,2,50.00,0.10,DKK,completed",
        "SO-2,2,2026-01-31T22:59:59Z,C-3,Hovedstaden,web,Kværn,Equipment,1,200.00,0.00,DKK,completed",
    ],
    "sales_2026-02.csv": [
        "SO-2,1,2026-01-31T22:59:59Z,C-3,Hovedstaden,web,Morgenblend,Coffee,2,50.00,0.10,DKK,completed",
        "SO-2,2,2026-01-31T22:59:59Z,C-3,Hovedstaden,web,Kværn,Equipment,1,200.00,0.00,DKK,returned",
        "SO-3,1,2026-01-31T23:00:00Z,C-2,Midtjylland,web,Espresso,Coffee,1,80.00,0.00,DKK,completed",
        "SO-4,1,2026-02-10T12:00:00Z,C-2,Midtjylland,shop,Filter,Accessories,1,20.00,0.00,DKK,completed",
        "SO-4,2,2026-02-10T12:00:00Z,C-2,Midtjylland,shop,Dripper,Accessories,3,10.00,0.50,DKK,cancelled",
        "SO-5,1,2026-02-11T12:00:00Z,C-1,Hovedstaden,web,Vægt,Accessories,1,100.00,0.00,DKK,returned",
        "SO-6,1,2026-02-28T23:30:00Z,C-3,Hovedstaden,web,Husblend,Coffee,1,60.00,0.25,DKK,completed",
        "SO-7,1,2026-02-20T09:00:00Z,C-3,Hovedstaden,web,Decaf,Coffee,1,40.00,0.00,DKK,completed",
    ],
}


def _ticket(tid, created, first, resolved, category, satisfaction):
    return {"ticket_id": tid, "created_at": created, "first_response_at": first, "resolved_at": resolved,
            "channel": "email", "priority": "normal", "category": category, "customer_id": "C-1",
            "agent": "Mette" if first else None, "satisfaction": satisfaction}


EDGE_TICKETS = {
    "tickets_2026-01.json": [
        _ticket("T-1", "2026-01-10 10:00:00", "2026-01-11 10:00:00", "2026-01-12 10:00:00", "billing", 5),
        _ticket("T-2", "2026-01-20 09:00:00", "2026-01-21 09:00:01", None, "complaint", None),
        _ticket("T-3", "2026-01-31 23:00:00", None, None, "delivery", None),
        _ticket("T-4", "2026-01-15 08:00:00", "2026-01-15 08:30:00", None, "product", None),
    ],
    "tickets_2026-02.json": [
        _ticket("T-2", "2026-01-20 09:00:00", "2026-01-21 09:00:01", "2026-02-01 00:00:00", "complaint", 2),
        _ticket("T-3", "2026-01-31 23:00:00", "2026-02-02 09:00:00", None, "delivery", None),
        _ticket("T-4", "2026-01-15 08:00:00", "2026-01-15 08:30:00", "2026-02-05 08:00:00", "product", None),
        _ticket("T-5", "2026-02-01 00:00:00", "2026-02-01 10:00:00", "2026-02-03 10:00:00", "complaint", 4),
        _ticket("T-6", "2026-02-27 12:00:00", None, None, "other", None),
    ],
}

EDGE_EXPECTED = {
    "2026-01": {
        "revenue": 290.0,  # SO-2: 2*50*0.9 + 200 (SO-1 cancelled; SO-3 is local Feb 1 00:00)
        "orders": 1.0,
        "average_order_value": 290.0,
        "active_customers": 1.0,
        "repeat_customer_rate": 0.0,
        "return_rate": 0.5,  # SO-2 line 2 restated as returned by the February export
        "tickets_opened": 4.0,
        "complaints": 1.0,
        "first_response_hours": (24.0 + 24.0 + 1 / 3600) / 2,  # of 0.5, 24, 24h+1s, 34 (T-3, newest export)
        "resolution_hours": 48.0,
        "sla_met_rate": 0.5,  # T-1 (exactly 24 h) and T-4 met; T-2 (24 h + 1 s) and T-3 missed
        "csat": 5.0,
        "open_backlog": 3.0,  # T-2 (resolved exactly at the month end), T-3, T-4; not T-5
    },
    "2026-02": {
        "revenue": 240.0,  # 80 + 20 + 100 + 40 (SO-4 line 2 cancelled; SO-6 is local March 1 00:30)
        "orders": 4.0,
        "average_order_value": 60.0,
        "active_customers": 3.0,
        # C-3 ordered in January; C-2's first order is exactly at the period start; C-1's
        # only earlier order was cancelled
        "repeat_customer_rate": 1 / 3,
        "return_rate": 0.25,
        "tickets_opened": 2.0,  # T-5 (created exactly at the month start), T-6
        "complaints": 1.0,
        "first_response_hours": 10.0,
        "resolution_hours": 279.0,  # median of T-2 279 h, T-4 504 h, T-5 58 h
        "sla_met_rate": 0.5,
        "csat": 3.0,  # T-2 2, T-5 4; T-4 without survey answer
        "open_backlog": 2.0,  # T-3, T-6
    },
}


@pytest.fixture(scope="module")
def edge_exports(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("edge_exports")
    (folder / "sales").mkdir()
    (folder / "support").mkdir()
    header = ",".join(SALES_TYPES)
    for name, rows in EDGE_SALES.items():
        (folder / "sales" / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    for name, tickets in EDGE_TICKETS.items():
        text = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tickets)
        (folder / "support" / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def edge_results(tmp_path_factory, edge_exports) -> dict:
    root = make_project(tmp_path_factory.mktemp("edge_project") / "project", edge_exports)
    sources = root / "config" / "sources.yaml"  # the edge exports are CSV only: a pattern must match a file
    sources.write_text(sources.read_text(encoding="utf-8").replace("      - data/sales/sales_*.xlsx\n", ""),
                       encoding="utf-8")
    opened = workspace.open_workspace(root)
    try:
        calendar = workspace.calendar_for(opened.config, Grain.MONTH)
        period = workspace.resolve_period(opened.config, Grain.MONTH, "2026-02", NOW)
        return {r.kpi_id: r for r in workspace.kpi_results(opened, KPI_IDS, calendar, period)}
    finally:
        opened.close()


def test_edge_cases_independent_values_match_hand_computed(edge_exports):
    edge = Independent(edge_exports)
    for label, expected in EDGE_EXPECTED.items():
        for kpi_id in KPI_IDS:
            assert_kpi(edge.month(label)[kpi_id], expected[kpi_id], f"independent {kpi_id} {label}")
    # UTC bucketing would move SO-3 into January and SO-6 into February
    assert sales_kpis(edge.sales, datetime(2026, 2, 1), datetime(2026, 3, 1), ts="utc_ts")["revenue"] == 205.0


@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_edge_cases_pulse(edge_results, kpi_id):
    result = edge_results[kpi_id]
    assert_kpi(result.value, EDGE_EXPECTED["2026-02"][kpi_id], f"edge {kpi_id} 2026-02 value")
    assert_kpi(result.previous, EDGE_EXPECTED["2026-01"][kpi_id], f"edge {kpi_id} 2026-02 previous (2026-01)")
    # before the first event of the KPI's source no period has a value, zero-filled or not
    assert_kpi(result.last_year, None, f"edge {kpi_id} 2026-02 last_year (no data)")
    assert [p.value for p in result.series[:-2]] == [None] * 10, kpi_id
