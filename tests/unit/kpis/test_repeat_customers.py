"""The demo's repeat-customer rate (a column of its order-line query), on a handful of orders checked by hand.

The query counts, per period, the active customers and those of them whose first
non-cancelled order falls in the period (new), and returns (active - new) / active
on the company-wide rows; its region rows have none (the KPI lists dimensions: []).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

QUERY = Path(__file__).resolve().parents[3] / "queries" / "sales" / "order_lines.sql"
ORDERS = [  # customer, order time (UTC), status
    ("anna", "2026-08-10 12:00:00+00", "completed"),
    ("anna", "2026-10-05 12:00:00+00", "completed"),  # repeat in October
    ("bo", "2026-09-30 22:30:00+00", "completed"),  # 1 October 00:30 in Copenhagen: bo is new in October
    ("bo", "2026-10-20 12:00:00+00", "completed"),
    ("carl", "2026-09-15 12:00:00+00", "cancelled"),  # a cancelled order is no order
    ("carl", "2026-10-15 12:00:00+00", "completed"),  # so carl is new in October
    ("dora", "2026-09-01 12:00:00+00", "returned"),  # a returned order counts
    ("dora", "2026-10-02 12:00:00+00", "completed"),  # repeat in October
    (None, "2026-10-03 12:00:00+00", "completed"),  # no customer: not counted either way
    (None, "2026-08-03 12:00:00+00", "completed"),
]


def _rows() -> list[dict]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Copenhagen'")
    con.execute("CREATE TABLE sales (customer_id VARCHAR, order_ts TIMESTAMPTZ, status VARCHAR, order_id VARCHAR, "
                "region VARCHAR, quantity INTEGER, unit_price DOUBLE, discount DOUBLE)")
    con.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?, 1, 10.0, NULL)",
                    [(*order, f"o{i}", "East" if i % 2 else "West") for i, order in enumerate(ORDERS)])
    con.execute("CREATE TABLE periods AS SELECT * FROM (VALUES "
                "(DATE '2026-08-01', DATE '2026-09-01', '2026-08'), (DATE '2026-09-01', DATE '2026-10-01', '2026-09'), "
                "(DATE '2026-10-01', DATE '2026-11-01', '2026-10'), (DATE '2026-11-01', DATE '2026-12-01', '2026-11')"
                ") t(period_start, period_end, label)")
    cursor = con.execute(QUERY.read_text(encoding="utf-8"))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def test_repeat_customers_by_hand():
    rows = _rows()
    rates = {r["period"]: r["repeat_customer_rate"] for r in rows if r["region"] is None}
    # August: anna new (the customer-less order is no customer) -> 0 of 1
    # September: dora new (carl's only order was cancelled) -> 0 of 1
    # October: anna and dora repeat, bo and carl new -> 2 of 4
    assert rates == {date(2026, 8, 1): 0.0, date(2026, 9, 1): 0.0, date(2026, 10, 1): 0.5}
    # November: nobody ordered -> no row (the KPI's fill decides; it has none: no value)
    assert {r["repeat_customer_rate"] for r in rows if r["region"] is not None} == {None}
