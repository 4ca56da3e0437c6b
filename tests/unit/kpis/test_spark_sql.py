"""DuckDB SQL for Spark (pipeline.kpis.spark_sql): translation, refusals, override files; no Spark needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.engine import QueryRequest
from pipeline.core.errors import QueryError
from pipeline.core.paths import display_path
from pipeline.core.sandbox import check_statement
from pipeline.core.sql_text import parser_connection
from pipeline.kpis.queries import KPI_QUERY
from pipeline.kpis.spark_sql import check, override_path, spark_error, spark_query, translate
from support.project import REPO

SOURCES = ["sales", "tickets"]


def request(sql: str, **kw) -> QueryRequest:
    return QueryRequest(sql, kw.pop("params", {}), kw.pop("shown", "queries/x.sql"), **kw)


@pytest.mark.parametrize("path", sorted((REPO / "queries").rglob("*.sql")), ids=lambda p: p.stem)
def test_every_demo_query_translates(path):
    text = translate(request(path.read_text(), kpi=path.stem), SOURCES)
    assert "$" not in text and "TIMESTAMPTZ" not in text.upper()


def test_parameters_become_spark_markers_and_stay_bound():
    query = spark_query(request("SELECT p.period_start AS period, count(*) * $sla_hours AS value FROM periods p "
                                "GROUP BY ALL", params={"sla_hours": 24}), SOURCES)
    assert ":sla_hours" in query.sql and "24" not in query.sql
    assert query.params == {"sla_hours": 24}


def test_epoch_microseconds_are_spark_s_unix_micros_of_the_instant():
    text = translate(request("SELECT median((epoch_us(t.resolved_at) - EPOCH_US(t.created_at)) / 3600e6) "
                             "FROM tickets t"), SOURCES)
    assert "UNIX_MICROS(CAST(t.resolved_at AS TIMESTAMP)) - UNIX_MICROS(CAST(t.created_at AS TIMESTAMP))" in text
    assert "EPOCH" not in text.upper()


def test_decimal_literals_become_doubles():
    # Spark would average DECIMAL(2,1) into DECIMAL(6,5), rounding the rate to five places; DuckDB uses doubles
    text = translate(request("SELECT avg(CASE WHEN status = 'returned' THEN 1.0 ELSE 0.0 END) / 3600.0, 3 FROM sales"),
                     SOURCES)
    assert text.count("AS DOUBLE)") == 3
    assert "CAST(3 AS DOUBLE)" not in text


REFUSED = [
    "INSERT INTO sales VALUES (1)",
    "CREATE TABLE x AS SELECT 1",
    "SET threads = 1",
    "ATTACH 'other.duckdb'",
    "PRAGMA version",
    "DROP TABLE sales",
    "COPY (SELECT * FROM sales) TO 'out.csv'",
    "EXPLAIN SELECT * FROM sales",
    "SELECT 1 FROM sales; SELECT 2 FROM sales",
    "SELECT 1 FROM sales; DROP TABLE sales",
    "WITH gone AS (DELETE FROM sales RETURNING *) SELECT * FROM gone",
    "-- nothing but a comment",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_anything_but_one_select_is_refused_in_the_sandbox_s_words(sql):
    """Spark runs the DuckDB sandbox's own statement check: the same message (file, statement, why), exit 2."""
    with pytest.raises(QueryError) as on_duckdb:
        check_statement(parser_connection(), sql, "queries/x.sql", KPI_QUERY)
    with pytest.raises(QueryError) as on_spark:
        check(request(sql, rule=KPI_QUERY), SOURCES)
    assert on_spark.value.message == on_duckdb.value.message
    assert on_spark.value.hint == on_duckdb.value.hint
    assert on_spark.value.exit_code == 2


@pytest.mark.parametrize("sql, message", [
    ("INSERT INTO sales SELECT * FROM sales", "refused: 'INSERT INTO sales SELECT * FROM sales' is a INSERT "
                                              "statement, and it changes the database; a KPI file holds exactly "
                                              "one SELECT"),
    ("SET spark.sql.ansi.enabled = false", "is a SET statement, and it changes a setting"),
    ("CACHE TABLE sales", "is a CACHE statement, and it changes the database"),
    ("EXPLAIN SELECT * FROM sales", "is a EXPLAIN statement, and it explains a query instead of returning its rows"),
    ("SELECT 1 FROM sales; DROP TABLE sales", "refused (statement 2 of 2): 'DROP TABLE sales' is a DROP statement"),
    ("SELECT 1 FROM sales; SELECT 2 FROM sales", "refused: 2 statements (the second: 'SELECT 2 FROM sales')"),
])
def test_an_override_file_is_refused_in_the_same_words(tmp_path, sql, message):
    path = tmp_path / "revenue.sql"
    path.write_text("SELECT 1 AS value FROM sales")
    override_path(path).write_text(sql)
    req = request(path.read_text(), kpi="revenue", path=path, rule=KPI_QUERY)
    for refuse in (lambda: check(req, SOURCES), lambda: spark_query(req, SOURCES)):
        with pytest.raises(QueryError) as raised:
            refuse()
        assert raised.value.message.startswith(f"{display_path(override_path(path))}: refused")
        assert message in raised.value.message
        assert raised.value.exit_code == 2


def test_pulse_s_own_sql_is_held_to_one_select_too():
    with pytest.raises(QueryError, match="is a DROP statement"):
        translate(request("DROP TABLE sales"), SOURCES)
    with pytest.raises(QueryError, match="2 statements"):
        translate(request("SELECT 1 FROM sales; SELECT 2 FROM sales"), SOURCES)


@pytest.mark.parametrize("sql, message", [
    ("SELECT * FROM read_csv('/etc/passwd')", "reading files from a query"),
    ("SELECT * FROM other_table", "'other_table' is not a source"),
    ("SELECT * FROM other.sales", "is not a source"),
])
def test_a_query_reads_only_sources_periods_and_its_ctes(sql, message):
    with pytest.raises(QueryError, match=message):
        translate(request(sql), SOURCES)
    assert translate(request("WITH lines AS (SELECT * FROM main.sales) SELECT * FROM lines, periods"), SOURCES)


def test_an_untranslatable_construct_names_the_kpi_and_the_override_file(tmp_path):
    path = tmp_path / "queries" / "sales" / "lag.sql"
    with pytest.raises(QueryError) as raised:
        translate(request("SELECT * FROM sales s ASOF JOIN tickets t ON s.customer_id = t.customer_id "
                          "AND s.order_ts >= t.created_at", kpi="lag", path=path), SOURCES)
    assert "KPI 'lag'" in raised.value.message
    assert "lag.spark.sql" in raised.value.hint


def test_spark_rejecting_the_translation_names_the_kpi(tmp_path):
    req = request("SELECT 1 AS value FROM sales", kpi="revenue", path=tmp_path / "revenue.sql")
    error = spark_error(req, spark_query(req, SOURCES), "[UNRESOLVED_ROUTINE] Cannot resolve routine `FOO`")
    assert "KPI 'revenue'" in error.message and "UNRESOLVED_ROUTINE" in error.message
    assert "revenue.spark.sql" in error.hint


def test_an_override_file_is_used_as_written(tmp_path):
    path = tmp_path / "revenue.sql"
    path.write_text("SELECT median(x) FROM sales")
    override = override_path(path)
    assert override == tmp_path / "revenue.spark.sql"
    override.write_text("SELECT p.period_start AS period, percentile(s.amount, 0.5) * :factor AS value "
                        "FROM periods p JOIN sales s ON s.day >= p.period_start GROUP BY 1")
    query = spark_query(request(path.read_text(), kpi="revenue", path=path), SOURCES, {"factor": 2, "other": 1})
    assert query.sql == override.read_text()
    assert query.params == {"factor": 2}
    assert query.origin.endswith("revenue.spark.sql")


def test_an_override_file_keeps_the_same_rules(tmp_path: Path):
    path = tmp_path / "revenue.sql"
    path.write_text("SELECT 1 FROM sales")
    override_path(path).write_text("SELECT * FROM csv.`/etc/passwd`")
    with pytest.raises(QueryError, match="'/etc/passwd' is not a source|is not a source"):
        spark_query(request(path.read_text(), kpi="revenue", path=path), SOURCES)
    override_path(path).write_text("SELECT :missing FROM sales")
    with pytest.raises(QueryError, match="unknown parameter :missing"):
        spark_query(request(path.read_text(), kpi="revenue", path=path), SOURCES)
