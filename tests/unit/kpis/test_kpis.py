"""The `periods` table: one row per period of the window, joined to facts by a nested loop.

A KPI query's range join to a few dozen periods is planned as DuckDB's
nested loop join (faster there than its sort-based range joins), and gives
the same rows as those.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.core import database
from pipeline.core.periods import Calendar, Grain
from pipeline.kpis import queries as kpis

JOIN = ("SELECT p.period_start AS period, count(*) AS value, sum(f.amount) AS total FROM periods p "
        "JOIN facts f ON f.ts >= p.period_start AND f.ts < p.period_end GROUP BY ALL ORDER BY ALL")


def plan(con) -> str:
    return "\n".join(row[1] for row in con.execute("EXPLAIN " + JOIN).fetchall()).lower().replace("_", " ")


@pytest.fixture
def con():
    connection = database.connect(None, "Europe/Copenhagen")
    # every 7 hours over three years, with amounts that make a sum sensitive to a lost or doubled row
    connection.execute("CREATE TABLE facts AS SELECT ts, row_number() OVER (ORDER BY ts) AS amount "
                       "FROM range(TIMESTAMP '2024-01-01', TIMESTAMP '2027-01-01', INTERVAL 7 HOUR) t(ts)")
    yield connection
    connection.close()


@pytest.mark.parametrize("grain, length", [(Grain.MONTH, 12), (Grain.WEEK, 52), (Grain.QUARTER, 8)])
def test_the_periods_join_is_a_nested_loop_with_the_same_rows(con, grain, length):
    calendar = Calendar(grain)
    window = calendar.window(calendar.parse("last", date(2026, 11, 25)), length)
    kpis.register_periods(con, window)
    assert con.execute("SELECT count(*) FROM periods").fetchall()[0][0] == len(window)
    assert "nested loop join" in plan(con)
    nested = con.execute(JOIN).fetchall()
    con.execute("SET nested_loop_join_threshold = 5")  # DuckDB's default: a range join
    assert "nested loop join" not in plan(con)
    assert nested == con.execute(JOIN).fetchall()
    assert len(nested) == len(window)
    hours = [(p.end - p.start).days * 24 for p in window]  # every 7 h: about a seventh of each period's hours
    assert all(abs(count - h / 7) <= 1.5 for (_, count, _), h in zip(nested, hours))


def test_float_results_are_kept_to_twelve_significant_digits():
    """Two builds can add a sum's rows in another order: the figure must not change in its last bits."""
    from pipeline.kpis.queries import _number, steady

    assert steady(444067.85250000004) == steady(444067.8524999999) == 444067.8525
    assert steady(0.1 + 0.2) == 0.3
    assert steady(-2.5e-7) == -2.5e-7
    assert _number(123456789012345, "q.sql", None) == 123456789012345.0  # integers stay exact
    from decimal import Decimal
    assert _number(Decimal("1234567890.123456"), "q.sql", None) == 1234567890.123456  # decimals are exact
