"""Which sources a cached KPI result depends on: the ones its query names, else every source."""

from __future__ import annotations

import pytest

from pipeline.core.result_cache import sources_read

SOURCES = ["sales", "tickets"]


@pytest.mark.parametrize("sql, read", [
    ("SELECT p.period_start, count(*) FROM periods p JOIN sales s ON true GROUP BY ALL", ["sales"]),
    ("SELECT * FROM main.SALES", ["sales"]),
    ('SELECT * FROM "Tickets" t', ["tickets"]),
    ("WITH sales AS (SELECT * FROM _raw_tickets) SELECT * FROM sales", ["tickets"]),
    ("SELECT (SELECT count(*) FROM tickets) FROM sales WHERE x = $p", ["sales", "tickets"]),
])
def test_the_sources_a_query_names(sql, read):
    assert sources_read(sql, SOURCES) == read


@pytest.mark.parametrize("sql", [
    "SELECT * FROM sales JOIN my_own_table USING (id)",  # not a source: cannot be fingerprinted
    "SELECT * FROM other.sales",  # another schema
    "SELECT 42",  # no source named (it might read a file by itself)
    "SELEC broken",
])
def test_anything_else_depends_on_every_source(sql):
    assert sources_read(sql, SOURCES) is None
