"""Reading a query's text: its parameters, and the tables it names (CTEs and aliases left out)."""

from __future__ import annotations

import pytest

from pipeline.core.sql_text import has_order_by, query_parameters, tables_named


def test_parameters_outside_comments_and_strings():
    sql = "SELECT $a, '$not' -- $neither\n/* $nor */ FROM t WHERE x = $b AND y = $a"
    assert query_parameters(sql) == ["a", "b"]


@pytest.mark.parametrize("sql, names", [
    ("SELECT * FROM periods p JOIN sales s ON true", {"periods", "sales"}),
    ("WITH lines AS (SELECT * FROM sales) SELECT * FROM lines", {"sales"}),
    ("WITH sales AS (SELECT * FROM _raw_sales) SELECT * FROM sales", {"_raw_sales"}),
    ("SELECT * FROM main.sales AS s WHERE s.x = $p AND y = '$q' -- $r", {"main.sales"}),
    ('SELECT * FROM "Odd Name" o, (SELECT * FROM tickets) t', {'"Odd Name"', "tickets"}),
    ("SELECT (SELECT max(x) FROM tickets) FROM other.sales", {"tickets", "other.sales"}),
])
def test_tables_named(sql, names):
    assert tables_named(sql) == names


@pytest.mark.parametrize("sql", ["SELEC nothing", "SELECT 1; SELECT 2"])
def test_a_query_that_does_not_parse_names_nothing_known(sql):
    assert tables_named(sql) is None


@pytest.mark.parametrize("sql, ordered", [
    ("SELECT region, sum(x) AS v FROM sales GROUP BY ALL ORDER BY v DESC", True),
    ("WITH t AS (SELECT 1 AS a) SELECT * FROM t ORDER BY a", True),
    ("SELECT 1 AS a UNION ALL SELECT 2 ORDER BY 1", True),
    ("FROM sales SELECT region ORDER BY ALL", True),
    ("SELECT * FROM sales WHERE day >= $report_start ORDER BY day LIMIT 5", True),
    ("SELECT * FROM (SELECT a FROM t ORDER BY a) AS sub", False),  # only the inner query is ordered
    ("SELECT p.period_start AS period, count(*) AS value FROM periods p GROUP BY ALL", False),
    ("SELECT 'ORDER BY x' AS label -- ORDER BY label\nFROM t", False),
    ("SELEC broken ORDER BY 1", False),
])
def test_has_order_by_reads_the_top_level_query(sql: str, ordered: bool) -> None:
    assert has_order_by(sql) is ordered
