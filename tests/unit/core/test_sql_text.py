"""Reading a query's text: its parameters, and the tables it names (CTEs and aliases left out)."""

from __future__ import annotations

import threading

import duckdb
import pytest

from pipeline.core import sql_text
from pipeline.core.sql_text import has_order_by, open_parser_early, query_parameters, tables_named


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


def test_a_query_text_is_parsed_once(monkeypatch):
    """KPIs sharing a query file ask for the same text's tables: DuckDB parses it once, and the set handed
    out cannot be changed by one caller under another."""
    parsed = []
    real = sql_text._parser

    class Counting:
        def get_table_names(self, sql, qualified):
            parsed.append(sql)
            return real().get_table_names(sql, qualified=qualified)

    monkeypatch.setattr(sql_text, "_parser", Counting)
    sql = "SELECT count(*) FROM sales s JOIN periods p ON s.day >= p.period_start -- parsed once"
    first = tables_named(sql)
    assert tables_named(sql) is first and first == {"sales", "periods"} and isinstance(first, frozenset)
    assert len(parsed) == 1
    tables_named(sql + " ")
    assert len(parsed) == 2  # another text is parsed


def test_the_parser_opens_once_in_its_thread_and_every_caller_gets_that_one(monkeypatch):
    """`open_parser_early` opens the parser's database in a thread (joined at exit); whoever asks after it,
    from any thread, gets that connection, locked down as ever, and no second one is opened."""
    opened = []
    real_connect = duckdb.connect

    def connect(*args, **kwargs):
        opened.append(threading.current_thread().name)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(sql_text, "_PARSER", [])
    monkeypatch.setattr(sql_text.duckdb, "connect", connect)
    monkeypatch.setattr(sql_text.atexit, "register", lambda join: join())  # joined here instead of at exit
    open_parser_early()
    assert opened == ["pulse-parser"]
    con = sql_text._parser()
    asked = [threading.Thread(target=lambda: asked_for.append(sql_text._parser())) for _ in range(4)]
    asked_for: list = []
    for thread in asked:
        thread.start()
    for thread in asked:
        thread.join()
    assert opened == ["pulse-parser"] and all(c is con for c in asked_for) and len(asked_for) == 4
    with pytest.raises(duckdb.Error):  # the connection opened in the thread is the locked-down one
        con.execute("SELECT * FROM read_text('/etc/hostname')").fetchall()


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
