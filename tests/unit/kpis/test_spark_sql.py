"""DuckDB SQL for Spark (pipeline.kpis.spark_sql): translation, refusals, override files; no Spark needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.engine import QueryRequest
from pipeline.core.errors import QueryError
from pipeline.kpis.spark_sql import override_path, spark_error, spark_query, translate
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


def test_decimal_literals_become_doubles():
    # Spark would average DECIMAL(2,1) into DECIMAL(6,5), rounding the rate to five places; DuckDB uses doubles
    text = translate(request("SELECT avg(CASE WHEN status = 'returned' THEN 1.0 ELSE 0.0 END) / 3600.0, 3 FROM sales"),
                     SOURCES)
    assert text.count("AS DOUBLE)") == 3
    assert "CAST(3 AS DOUBLE)" not in text


@pytest.mark.parametrize("sql, word", [
    ("INSERT INTO sales VALUES (1)", "INSERT"),
    ("CREATE TABLE x AS SELECT 1", "CREATE"),
    ("SET threads = 1", "SET"),
    ("ATTACH 'other.duckdb'", "ATTACH"),
    ("PRAGMA version", "PRAGMA"),
    ("DROP TABLE sales", "DROP"),
])
def test_anything_but_a_select_is_refused(sql, word):
    with pytest.raises(QueryError, match=f"only a SELECT can run as a query, not {word}"):
        translate(request(sql), SOURCES)


def test_several_statements_are_refused():
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
