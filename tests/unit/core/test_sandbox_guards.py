"""The query sandbox on its own: the statement checker, the locked read-only connection, the time limit.

Each guard is tested on its own (the checker is bypassed where the
connection is tested), so that removing any one of them fails a test here.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.core.errors import QueryError, WorkdirError
from pipeline.core.sandbox import Sandbox, SandboxRules, TimeLimitReached, check_statement, first_words, run_limited
from pipeline.core.sql_text import _parser, tables_named

RULE = "a KPI file holds exactly one SELECT"


@pytest.fixture(scope="module")
def parser():
    con = duckdb.connect(":memory:")
    yield con
    con.close()


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "-- a comment first\n/* and a block */ SELECT 1 AS value; -- and one after\n",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "FROM range(3)",
    "VALUES (1, 2)",
    "SELECT $report_start AS period, 1 AS value",
    "(SELECT 1) UNION ALL (SELECT 2)",
    "DESCRIBE SELECT 1",
    "SUMMARIZE SELECT 1 AS a",
    "SHOW TABLES",
    "PIVOT (SELECT 1 AS a) ON a IN (1, 2) USING count(*)",
    "SELECT upper('copy (select 1) to ''x''') AS text -- COPY in a string is text",
])
def test_one_select_is_accepted(parser, sql):
    check_statement(parser, sql, "q.sql", RULE)


@pytest.mark.parametrize("sql, fragment", [
    ("COPY (SELECT 1) TO 'x.csv'", "'COPY (SELECT 1) TO 'x.csv'' is a COPY statement, and it writes files"),
    ("EXPORT DATABASE 'out'", "EXPORT statement, and it writes the database to files"),
    ("ATTACH 'x.duckdb'", "ATTACH statement, and it opens another database"),
    ("DETACH x", "DETACH statement"),
    ("CREATE TABLE t AS SELECT 1", "CREATE statement, and it changes the database"),
    ("CREATE TEMP TABLE periods AS SELECT 1", "CREATE statement"),
    ("CREATE MACRO m() AS 1", "CREATE statement"),
    ("DROP VIEW sales", "DROP statement"),
    ("INSERT INTO t VALUES (1)", "INSERT statement"),
    ("UPDATE t SET a = 1", "UPDATE statement"),
    ("DELETE FROM t", "DELETE statement"),
    ("TRUNCATE t", "DELETE statement"),
    ("ALTER VIEW sales RENAME TO s", "ALTER statement"),
    ("INSTALL httpfs", "LOAD statement, and it installs or loads an extension"),
    ("LOAD httpfs", "LOAD statement"),
    ("SET memory_limit = '1TB'", "SET statement, and it changes a setting"),
    ("RESET lock_configuration", "SET statement"),
    ("SET VARIABLE x = 1", "SET statement"),
    ("USE other", "SET statement"),
    ("PRAGMA enable_profiling", "PRAGMA statement"),
    ("CALL enable_logging()", "CALL statement"),
    ("CHECKPOINT", "CALL statement"),
    ("VACUUM", "VACUUM statement"),
    ("BEGIN TRANSACTION", "TRANSACTION statement"),
    ("PREPARE p AS SELECT 1", "PREPARE statement"),
    ("EXECUTE p", "EXECUTE statement"),
    ("EXPLAIN SELECT 1", "EXPLAIN statement"),  # a KPI query returns rows
    ("PIVOT (SELECT 1 AS a) ON a USING count(*)", "PIVOT without an IN list"),
    ("MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", "MERGE_INTO statement"),
    ("UPDATE EXTENSIONS", "DuckDB does not classify as a query"),
    ("SELECT 1; SELECT 2", "2 statements (the second: 'SELECT 2')"),
    ("SELECT 1;\n-- then\nDROP TABLE x", "(statement 2 of 2): 'DROP TABLE x' is a DROP statement"),
    ("", "no SQL statement (empty, or only comments)"),
    ("-- only\n/* comments */\n", "no SQL statement"),
    (";", "no SQL statement"),
    ("WITH x AS (COPY (SELECT 1) TO 'x.csv') SELECT * FROM x", "holds a COPY in a WITH clause, and it writes files"),
    ("WITH x AS (DELETE FROM periods RETURNING *) SELECT * FROM x", "holds a DELETE in a WITH clause"),
    ("SELECT (WITH x AS (INSERT INTO periods VALUES (1) RETURNING 1) SELECT 1 FROM x)", "holds a INSERT"),
    ("SELECT 1 UNION ALL (WITH x AS (UPDATE periods SET a = 1 RETURNING a) SELECT a FROM x)", "holds a UPDATE"),
    ("SELECT * FROM query('SELECT 1')", "calls query()"),
    ("SELECT * FROM main.JSON_EXECUTE_SERIALIZED_SQL(json_serialize_sql('SELECT 1'))",
     "calls json_execute_serialized_sql()"),
])
def test_anything_else_is_refused_with_the_statement_and_why(parser, sql, fragment):
    with pytest.raises(QueryError) as info:
        check_statement(parser, sql, "queries/x.sql", RULE)
    line = info.value.one_line()
    assert line.startswith("error: queries/x.sql: ") and "\n" not in line
    assert fragment in line, line
    assert "docs/security.md" in line


def test_a_syntax_error_names_the_line(parser):
    with pytest.raises(QueryError) as info:
        check_statement(parser, "SELECT 1\nFRM sales", "q.sql", RULE)
    assert info.value.message.startswith("q.sql:2: Parser Error")


@pytest.mark.parametrize("sql", ["EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT count(*) FROM range(3)",
                                 "/* why slow? */ EXPLAIN /* x */ ANALYZE WITH a AS (SELECT 1) SELECT * FROM a"])
def test_pulse_query_may_explain_a_select(parser, sql):
    check_statement(parser, sql, "query text", RULE, explain=True)


@pytest.mark.parametrize("sql", ["EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'", "EXPLAIN CREATE TABLE t (a INT)",
                                 "EXPLAIN ANALYZE WITH x AS (COPY (SELECT 1) TO 'x.csv') SELECT * FROM x",
                                 "EXPLAIN (FORMAT json) DELETE FROM t", "EXPLAIN ANALYZE SELECT 1; SELECT 2"])
def test_but_nothing_else(parser, sql):
    with pytest.raises(QueryError, match="refused"):
        check_statement(parser, sql, "query text", RULE, explain=True)


def test_first_words_shows_a_statement_on_one_line():
    assert first_words("-- note\n  COPY (SELECT *\n  FROM sales)   TO 'x.csv';") == "COPY (SELECT * FROM sales) TO 'x.csv'"
    assert first_words("SELECT " + "x, " * 40 + "y").endswith("…")


# -- the connection --------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path) -> Path:
    """A working database with a table, and an exports folder beside a private one."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "items.csv").write_text("id\n1\n2\n", encoding="utf-8")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret.csv").write_text("id\n42\n", encoding="utf-8")
    (tmp_path / ".pulse").mkdir()
    con = duckdb.connect(str(tmp_path / ".pulse" / "pulse.duckdb"))
    con.execute("CREATE TABLE items AS SELECT 1 AS id")
    con.close()
    return tmp_path


def sandbox(root: Path, **rules) -> Sandbox:
    allowed = SandboxRules(read_dirs=(f"{root}/data/",), **rules)
    return Sandbox(root / ".pulse" / "pulse.duckdb", "Europe/Copenhagen", allowed, memory_limit="256MB", threads=1)


def refused_by_duckdb(con, sql: str) -> str:
    with pytest.raises(duckdb.Error) as info:
        con.execute(sql).fetchall()
    return str(info.value)


def test_the_database_is_read_only(project):
    box = sandbox(project)
    con = box.con
    assert "read-only" in refused_by_duckdb(con, "CREATE TABLE t AS SELECT 1")
    assert "read-only" in refused_by_duckdb(con, "DROP TABLE items")
    assert "read-only" in refused_by_duckdb(con, "WITH x AS (DELETE FROM items RETURNING *) SELECT * FROM x")
    box.close()


def test_settings_are_set_then_locked(project):
    box = sandbox(project)
    con = box.configure(nested_loop_join_threshold=25)
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('TimeZone', 'memory_limit', 'threads', "
        "'nested_loop_join_threshold', 'enable_external_access', 'lock_configuration', 'autoload_known_extensions', "
        "'autoinstall_known_extensions', 'python_enable_replacements')").fetchall())
    assert settings == {"TimeZone": "Europe/Copenhagen", "memory_limit": "244.1 MiB", "threads": "1",
                        "nested_loop_join_threshold": "25", "enable_external_access": "false",
                        "lock_configuration": "true", "autoload_known_extensions": "false",
                        "autoinstall_known_extensions": "false", "python_enable_replacements": "false"}
    for statement in ("SET enable_external_access = true", "RESET allowed_directories", "SET memory_limit = '8GB'",
                      "SET lock_configuration = false", "SELECT * FROM enable_logging()", "PRAGMA enable_profiling"):
        assert "locked" in refused_by_duckdb(con, statement), statement
    assert box.configure(nested_loop_join_threshold=25) is con  # the same settings: the same connection
    again = box.configure(nested_loop_join_threshold=40)
    assert again is not con and again.execute("SELECT current_setting('nested_loop_join_threshold')").fetchall() == [(40,)]
    box.close()


def test_files_are_read_only_under_the_allowed_folders(project, tmp_path):
    box = sandbox(project)
    con = box.con
    assert con.execute(f"SELECT count(*) FROM read_csv('{project}/data/items.csv')").fetchall() == [(2,)]
    for sql in (f"SELECT * FROM read_csv('{project}/private/secret.csv')",
                f"SELECT * FROM read_csv('{project}/data/../private/secret.csv')",
                f"SELECT * FROM read_csv('{project}/data/**/../../private/*.csv')",
                "SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM sniff_csv('/etc/passwd')",
                "SELECT * FROM glob('/etc/*')", "SELECT * FROM read_parquet('/etc/*.parquet')",
                "SELECT * FROM read_csv('https://example.com/x.csv')",
                f"ATTACH '{tmp_path}/stolen.duckdb'", f"COPY (SELECT 1) TO '{tmp_path}/out.csv'",
                "INSTALL httpfs", "LOAD httpfs"):
        message = refused_by_duckdb(con, sql)
        assert "Permission Error" in message or "disabled" in message, (sql, message)
    assert not (tmp_path / "stolen.duckdb").exists() and not (tmp_path / "out.csv").exists()
    box.close()


def test_python_variables_are_not_tables(project):
    box = sandbox(project)
    other = duckdb.connect(":memory:")
    secret_rows = other.sql("SELECT 42 AS pin")  # noqa: F841 - the bait: a relation in the frame that queries
    with pytest.raises(duckdb.CatalogException, match="secret_rows"):
        box.con.execute("SELECT * FROM secret_rows").fetchall()
    other.close()
    box.close()


def test_outside_paths_open_local_files_but_not_the_network(project):
    box = sandbox(project, outside=True)
    con = box.con
    assert con.execute(f"SELECT id FROM read_csv('{project}/private/secret.csv')").fetchall() == [(42,)]
    assert "Permission Error" in refused_by_duckdb(con, "SELECT * FROM read_csv('https://example.com/x.csv')")
    assert "read-only" in refused_by_duckdb(con, "CREATE TABLE t AS SELECT 1")
    box.close()


def test_network_turns_external_access_on_and_never_installs(project):
    box = sandbox(project, outside=True, network=True)
    settings = dict(box.con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration', "
        "'autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
    assert settings == {"enable_external_access": "true", "lock_configuration": "true",
                        "autoinstall_known_extensions": "false", "autoload_known_extensions": "true"}
    box.close()


def test_a_database_held_by_a_writer_is_a_clear_error(project):
    writer = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"))
    try:
        with pytest.raises(WorkdirError, match="cannot open the working database for queries"):
            sandbox(project).con
    finally:
        writer.close()


# -- running a query -------------------------------------------------------------------------
def test_an_endless_query_is_interrupted_at_its_limit(project):
    box = sandbox(project)
    outcome: dict[str, BaseException] = {}

    def endless() -> None:
        try:
            run_limited(box.con, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                        "SELECT count(*) FROM r", {}, 0.5)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    started = time.perf_counter()
    worker = threading.Thread(target=endless)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # not stopped: stop it here, so the test fails instead of hanging
        box.con.interrupt()
        worker.join()
        pytest.fail("the endless query was still running after 10 s")
    assert isinstance(outcome.get("error"), TimeLimitReached), outcome
    assert outcome["error"].seconds == 0.5
    assert time.perf_counter() - started < 5
    assert run_limited(box.con, "SELECT count(*) FROM items", {}, 0.5) == (["count_star()"], [(1,)])  # usable again
    time.sleep(0.6)  # a limit that ran out after its query finished interrupts nothing
    assert run_limited(box.con, "SELECT 42 AS answer", {}, None) == (["answer"], [(42,)])
    box.close()


def test_a_change_to_the_temp_periods_table_is_rolled_back(project):
    box = sandbox(project)
    con = box.con
    con.execute("CREATE TEMP TABLE periods AS SELECT * FROM range(3) t(a)")
    columns, rows = run_limited(con, "WITH gone AS (DELETE FROM periods RETURNING *) SELECT count(*) AS n FROM gone",
                                {}, None)  # the checker refuses this; the transaction undoes it anyway
    assert rows == [(3,)]
    assert con.execute("SELECT count(*) FROM periods").fetchall() == [(3,)]
    box.close()


def test_the_parser_used_for_cache_keys_reaches_no_file(tmp_path):
    with pytest.raises(duckdb.PermissionException):
        _parser().execute("SELECT * FROM read_text('/etc/hostname')").fetchall()


def test_cache_keys_never_use_duckdbs_default_connection(monkeypatch):
    """It would try to install httpfs from the network for a query naming a URL."""
    def forbidden(*_args, **_kwargs):
        raise AssertionError("DuckDB's default connection was used")

    monkeypatch.setattr(duckdb, "get_table_names", forbidden)
    monkeypatch.setattr(duckdb, "default_connection", forbidden)
    assert tables_named("SELECT * FROM read_csv('https://example.com/x.csv')") is None
    assert tables_named("SELECT * FROM sales s JOIN periods p ON true") == {"sales", "periods"}
