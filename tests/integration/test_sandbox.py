"""The query sandbox through the CLI: attacks on a KPI file and on `pulse query` are refused.

Each attack runs on a copy of a project that has already built its October
report (so every other KPI and check is cached): the command stops with exit
code 2 naming the file, the statement and why, and nothing is written
anywhere: every file of the project is as before (reports/ included), no file
appears, the working database holds the same tables, views and rows, and no
file appears at the /tmp paths the attack names. An endless query is stopped
at its time limit, the lock is released and nothing is published or emailed.
Ordinary queries, the report, `pulse query` SELECTs and the KPI cache keep
working (see also test_incremental and test_report_output).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.app.lock import project_lock
from pipeline.report import render
from support.project import NOW, make_project, pulse, run_pulse, stub_pdf

PERIOD = "2026-10"
NOW_ARGS = ["--now", NOW.isoformat()]
ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)\n"
KPI_SHAPE = "SELECT p.period_start AS period, {value} AS value FROM periods p"


@pytest.fixture(scope="module")
def warm(tmp_path_factory, demo_exports) -> Path:
    """A project after `pulse run` for October: its report built, every KPI and check cached."""
    root = make_project(tmp_path_factory.mktemp("sandbox_warm") / "project", demo_exports)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "render_pdf", stub_pdf)
        from pipeline.app import runner

        runner.run_report(root, "monthly", PERIOD, now=NOW)
    return root


@pytest.fixture
def project(tmp_path, warm, monkeypatch) -> Path:
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    root = Path(shutil.copytree(warm, tmp_path / "project", symlinks=True))
    with project_lock(root / ".pulse", "setup"):  # the lock file exists, as after any earlier command
        pass
    return root


# -- what "nothing written anywhere" means -------------------------------------------------
def files_of(root: Path) -> dict[str, str]:
    """Every file under the project (the database and the warm-start state Pulse itself keeps beside it
    apart, see pipeline.app.warm) and its content hash."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if rel not in (".pulse/pulse.duckdb", ".pulse/warm.json"):
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


RUN_LOG = {"_pulse_runs", "_pulse_deliveries", "_pulse_delivery_attempts"}  # the run log and ledger


def database_of(root: Path) -> dict[str, object]:
    """The working database's tables (row count and a hash of their rows), views and other objects."""
    con = duckdb.connect(str(root / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        state: dict[str, object] = {
            "databases": con.execute("SELECT database_name FROM duckdb_databases() ORDER BY 1").fetchall(),
            "views": con.execute("SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal "
                                 "ORDER BY ALL").fetchall(),
            "objects": con.execute("SELECT 'sequence', sequence_name FROM duckdb_sequences() UNION ALL "
                                   "SELECT 'index', index_name FROM duckdb_indexes() UNION ALL "
                                   "SELECT 'type', type_name FROM duckdb_types() WHERE NOT internal ORDER BY ALL")
                          .fetchall(),
        }
        for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall():
            if table in RUN_LOG:
                continue  # every run is recorded, a refused one too (pulse log shows it)
            name = f'"{schema}"."{table}"'
            state[name] = con.execute(f"SELECT count(*), sum(hash(t) % 1000000007) FROM {name} t").fetchall()
        return state
    finally:
        con.close()


def snapshot(root: Path) -> tuple[dict, dict]:
    return files_of(root), database_of(root)


def assert_nothing_written(root: Path, before: tuple[dict, dict], changed: str, *outside: Path) -> None:
    files, database = snapshot(root)
    expected_files = {k: v for k, v in before[0].items() if k != changed}
    assert {k: v for k, v in files.items() if k != changed} == expected_files, "a file appeared or changed"
    assert database == before[1], "the working database changed"
    for path in outside:
        assert not path.exists(), f"{path} was written"


def write_kpi(root: Path, sql: str, kpi: str = "sales/order_lines") -> str:
    rel = f"queries/{kpi}.sql"
    (root / rel).write_text(sql, encoding="utf-8")
    return rel


def set_project(root: Path, **settings) -> None:
    path = root / "config" / "pulse.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["project"].update(settings)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def refused(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    line = err.strip()
    assert line.startswith("error: ") and "\n" not in line and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in: {line}"


# -- a KPI file handed over by a colleague ---------------------------------------------------
ORDER_LINES = (Path(__file__).resolve().parents[2] / "queries" / "sales" / "order_lines.sql").read_text(encoding="utf-8")

KPI_ATTACKS = {
    "copy_to_reports": ("COPY (SELECT * FROM sales) TO '{root}/reports/leak.csv' (HEADER);\n" + ORDER_LINES,
                        ["COPY (SELECT * FROM sales) TO", "COPY statement", "writes files"], ["reports/leak.csv"]),
    "copy_into_the_exports": ("COPY (SELECT * FROM sales) TO '{root}/data/sales/sales_2099-01.csv' (HEADER);\n"
                              + ORDER_LINES, ["COPY statement", "writes files"], ["data/sales/sales_2099-01.csv"]),
    "attach": ("ATTACH '{tmp}/stolen.duckdb' AS stolen;\n" + ORDER_LINES,
               ["ATTACH '", "ATTACH statement", "opens another database"], ["{tmp}/stolen.duckdb"]),
    "create_table": ("CREATE TABLE kept AS SELECT * FROM sales;\n" + ORDER_LINES,
                     ["CREATE TABLE kept", "CREATE statement", "changes the database"], []),
    "drop_view": ("DROP VIEW tickets;\n" + ORDER_LINES, ["'DROP VIEW tickets'", "DROP statement"], []),
    "install": ("INSTALL httpfs;\n" + ORDER_LINES, ["'INSTALL httpfs'", "installs or loads an extension"], []),
    "load": ("LOAD parquet;\n" + ORDER_LINES, ["'LOAD parquet'", "installs or loads an extension"], []),
    "export_database": ("EXPORT DATABASE '{root}/data/export';\n" + ORDER_LINES,
                        ["EXPORT DATABASE", "EXPORT statement", "writes the database to files"], ["data/export"]),
    "set": ("SET enable_external_access = true;\n" + ORDER_LINES, ["'SET enable_external_access = true'",
                                                              "changes a setting"], []),
    "reset": ("RESET allowed_directories;\n" + ORDER_LINES, ["changes a setting"], []),
    "pragma": ("PRAGMA enable_profiling;\n" + ORDER_LINES, ["'PRAGMA enable_profiling'", "PRAGMA statement"], []),
    "call": ("CALL enable_logging();\n" + ORDER_LINES, ["'CALL enable_logging()'", "CALL statement"], []),
    "second_statement": (ORDER_LINES + ";\nSELECT 1 AS period, 2 AS value;",
                         ["2 statements", "the second: 'SELECT 1 AS period, 2 AS value'",
                          "exactly one SELECT"], []),
    "insert_then_select": (ORDER_LINES + ";\nINSERT INTO _pulse_kpi_cache VALUES ('k', 'revenue', '{{}}', now())",
                           ["statement 2 of 2", "INSERT statement", "changes the database"], []),
    "copy_in_a_with_clause": ("WITH leak AS (COPY (SELECT * FROM sales) TO '{root}/data/sales/sales_2099-02.csv')\n"
                              + ORDER_LINES.replace("WITH lines AS (", ", lines AS ("),
                              ["holds a COPY in a WITH clause", "writes files"], ["data/sales/sales_2099-02.csv"]),
    "delete_in_a_with_clause": ("WITH gone AS (DELETE FROM periods RETURNING *)\n"
                                + KPI_SHAPE.format(value="(SELECT count(*) FROM gone)"),
                                ["holds a DELETE in a WITH clause", "a query may only read"], []),
    "sql_run_from_text": (KPI_SHAPE.format(value="(SELECT count(*) FROM json_execute_serialized_sql("
                                                 "json_serialize_sql('SELECT 1')))"),
                          ["calls json_execute_serialized_sql()", "runs SQL given as text"], []),
    "query_function": (KPI_SHAPE.format(value="(SELECT count(*) FROM query('SELECT * FROM sales'))"),
                       ["calls query()"], []),
    "read_etc_passwd": (KPI_SHAPE.format(value="(SELECT count(*) FROM read_csv('/etc/passwd', sep = ':', "
                                               "header = false))"),
                        ['refused: Cannot access file "/etc/passwd"', "What a query may read"], []),
    "read_parquet_absolute": (KPI_SHAPE.format(value="(SELECT count(*) FROM read_parquet('{tmp}/outside.parquet'))"),
                              ['refused: Cannot access file "{tmp}/outside.parquet"'], []),
    "glob_climbing_out": (KPI_SHAPE.format(value="(SELECT count(*) FROM read_csv('{root}/data/sales/../../config/*.yaml'"
                                                 ", sep = '|'))"),
                          ["refused: Cannot access file", "../../config/*.yaml"], []),
    "glob_out_of_the_project": (KPI_SHAPE.format(value="(SELECT count(*) FROM glob('{root}/data/../../*'))"),
                                ["refused: Cannot access file"], []),
    "network": (KPI_SHAPE.format(value="(SELECT count(*) FROM read_csv('https://example.com/leak.csv'))"),
                ['refused: Cannot access file "https://example.com/leak.csv"'], []),
    "empty_file": ("", ["no SQL statement (empty, or only comments)"], []),
    "only_comments": ("-- TODO: write this query\n/* later */\n", ["no SQL statement (empty, or only comments)"], []),
}


@pytest.mark.parametrize("attack", sorted(KPI_ATTACKS))
def test_an_attack_in_a_kpi_file_is_refused_by_pulse_run(attack, project, tmp_path, monkeypatch, capsys):
    sql, fragments, written = KPI_ATTACKS[attack]
    fill = {"root": str(project), "tmp": str(tmp_path)}
    (tmp_path / "outside.parquet").write_bytes(b"PAR1 not really")  # a file outside the project to aim at
    rel = write_kpi(project, sql.format(**fill))
    before = snapshot(project)
    code, _out, err = run_pulse(["run", "--period", PERIOD, *NOW_ARGS], project, monkeypatch, capsys)
    refused(code, err, rel, *(f.format(**fill) for f in fragments))
    targets = [Path(w.format(**fill)) if w.startswith("{tmp}") else project / w for w in written]
    assert_nothing_written(project, before, rel, *targets)


def test_the_leading_comment_of_a_kpi_file_is_fine(project, monkeypatch, capsys):
    write_kpi(project, "-- Revenue, as agreed with Finance\n/* reviewed 2026-10 */\n" + ORDER_LINES + ";\n-- end\n")
    code, out, err = run_pulse(["kpis", "--period", PERIOD], project, monkeypatch, capsys)
    assert code == 0, err
    assert "Revenue" in out


def test_an_endless_kpi_query_is_stopped_at_its_time_limit(project):
    """Through a real process: the limit stops it, exit 2 names the KPI and the limit, the lock is
    free again and nothing is published."""
    set_project(project, query_timeout=1)
    rel = write_kpi(project, ENDLESS + KPI_SHAPE.format(value="(SELECT count(*) FROM r)"), "support/tickets_opened")
    before = snapshot(project)
    started = time.perf_counter()
    result = pulse(["run", "--period", PERIOD, *NOW_ARGS], project)
    elapsed = time.perf_counter() - started
    refused(result.returncode, result.stderr, "KPI 'tickets_opened'", rel, "stopped after 1 s",
            "project.query_timeout in config/pulse.yaml", "Time and memory limits")
    assert elapsed < 60, f"took {elapsed:.0f} s"  # without the limit it never ends (the test times out)
    assert_nothing_written(project, before, "config/pulse.yaml")
    with project_lock(project / ".pulse", "test"):  # released: a next command can take it
        pass


def test_pulse_due_records_the_stopped_run_and_sends_nothing(project):
    set_project(project, query_timeout=1)
    write_kpi(project, ENDLESS + KPI_SHAPE.format(value="(SELECT max(n) FROM r)"), "support/csat")
    reports = files_of(project / "reports")
    started = time.perf_counter()
    result = pulse(["due", "--now", "2026-11-02T06:00:00+00:00"], project)
    assert result.returncode == 2, result.stderr  # the scheduled run could not run its refused query (exit code 2)
    assert time.perf_counter() - started < 60
    assert "KPI 'csat'" in result.stderr and "stopped after 1 s" in result.stderr, result.stderr
    assert files_of(project / "reports") == reports, "nothing published, no email written to the outbox"
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        runs = con.execute("SELECT period, status, error FROM _pulse_runs").fetchall()
        sent = con.execute("SELECT count(*) FROM _pulse_deliveries").fetchall()[0][0]
    finally:
        con.close()
    assert [(p, s) for p, s, _ in runs] == [(PERIOD, "failed")] and "time limit" in runs[0][2]
    assert sent == 0
    with project_lock(project / ".pulse", "test"):
        pass


def test_a_result_cached_before_the_sandbox_is_not_used_for_a_refused_file(project, monkeypatch, capsys):
    """A working database from before the sandbox may hold a cached result for a file that is refused now."""
    from pipeline.app import workspace
    from pipeline.core.periods import Grain
    from pipeline.kpis import queries

    sql = "CREATE TABLE kept AS SELECT * FROM sales;\n" + ORDER_LINES
    rel = write_kpi(project, sql)
    with workspace.open_workspace(project) as ws:
        period = workspace.resolve_period(ws.config, Grain.MONTH, PERIOD, NOW)
        window = workspace.report_window(workspace.calendar_for(ws.config, Grain.MONTH), period)
        params = queries.bind_parameters(sql, rel, queries.builtin_parameters(period))
        key = ws.cache.kpi_key("revenue", sql, params, window)
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"))
    con.execute("INSERT INTO _pulse_kpi_cache (key, kpi, result) SELECT $k, kpi, result FROM _pulse_kpi_cache "
                "WHERE kpi = 'revenue' LIMIT 1", {"k": key})
    con.close()
    before = snapshot(project)
    code, _out, err = run_pulse(["kpis", "--period", PERIOD], project, monkeypatch, capsys)
    refused(code, err, rel, "CREATE statement")
    assert_nothing_written(project, before, rel)


def test_pulse_validate_lists_a_refused_kpi_query(project, monkeypatch, capsys):
    rel = write_kpi(project, "DROP VIEW sales;\n" + ORDER_LINES)
    before = snapshot(project)
    code, _out, err = run_pulse(["validate"], project, monkeypatch, capsys)
    assert code == 1, err  # validate lists every problem; errors make it exit 1
    assert f"error: {rel}: refused (statement 1 of 2): 'DROP VIEW sales' is a DROP statement" in err
    assert_nothing_written(project, before, rel)


# -- pulse query -------------------------------------------------------------------------------
QUERY_ATTACKS = {
    "drop_view": ("DROP VIEW sales", ["query text: refused", "'DROP VIEW sales' is a DROP statement"], []),
    "copy": ("COPY (SELECT * FROM sales) TO '{root}/reports/leak.csv' (HEADER)", ["COPY statement"],
             ["reports/leak.csv"]),
    "explain_analyze_copy": ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{root}/data/sales/x.csv'",
                             ["does not explain a SELECT"], ["data/sales/x.csv"]),
    "create_temp_table": ("CREATE TEMP TABLE t AS SELECT 1", ["CREATE statement"], []),
    "attach": ("ATTACH '{tmp}/stolen.duckdb'", ["ATTACH statement"], ["{tmp}/stolen.duckdb"]),
    "set": ("SET lock_configuration = false", ["SET statement", "changes a setting"], []),
    "two_selects": ("SELECT 1; SELECT 2", ["2 statements"], []),
    "read_outside": ("SELECT * FROM read_text('/etc/hostname')", ['Cannot access file "/etc/hostname"'], []),
    "copy_in_with": ("WITH x AS (COPY (SELECT 42) TO '{root}/data/sales/sales_2099-03.csv') SELECT * FROM x",
                     ["holds a COPY in a WITH clause"], ["data/sales/sales_2099-03.csv"]),
}


@pytest.mark.parametrize("attack", sorted(QUERY_ATTACKS))
def test_an_attack_through_pulse_query_is_refused(attack, project, tmp_path, monkeypatch, capsys):
    sql, fragments, written = QUERY_ATTACKS[attack]
    fill = {"root": str(project), "tmp": str(tmp_path)}
    before = snapshot(project)
    code, out, err = run_pulse(["query", sql.format(**fill)], project, monkeypatch, capsys)
    refused(code, err, *fragments)
    assert "Success" not in out
    targets = [Path(w.format(**fill)) if w.startswith("{tmp}") else project / w for w in written]
    assert_nothing_written(project, before, "", *targets)


def test_an_endless_pulse_query_is_stopped_by_its_timeout(project):
    started = time.perf_counter()
    result = pulse(["query", ENDLESS + "SELECT count(*) FROM r", "--timeout", "1"], project)
    refused(result.returncode, result.stderr, "query text: stopped after 1 s, its time limit (--timeout)")
    assert time.perf_counter() - started < 60


def test_ctrl_c_stops_an_endless_pulse_query(project):
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "query", ENDLESS + "SELECT count(*) FROM r"],
                               cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # started and running (no time limit unless given one)
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.strip() == "error: interrupted; outputs of this run were not published"  # not an internal error


def test_pulse_query_runs_selects_explain_describe_and_reads_the_exports(project, monkeypatch, capsys):
    cases = {
        "SELECT count(*) AS n FROM sales WHERE order_ts >= $report_start": "n",
        "EXPLAIN SELECT count(*) FROM sales": "explain_key",
        "DESCRIBE tickets": "column_name",
        "SELECT count(*) AS files FROM read_csv('data/sales/*.csv')": "files",  # relative to the project folder here
        f"SELECT count(*) AS rows FROM read_csv('{project}/data/sales/sales_2026-10.csv')": "rows",
        "SELECT count(*) AS periods FROM periods": "periods",
    }
    for sql, column in cases.items():
        code, out, err = run_pulse(["query", sql, "--period", PERIOD, "--format", "csv"], project, monkeypatch, capsys)
        assert code == 0, f"{sql}: {err}"
        assert out.splitlines()[0].split(",")[0] == column, out
    code, out, err = run_pulse(["query", "revenue", "--period", PERIOD, "--format", "json"], project, monkeypatch, capsys)
    assert code == 0 and '"period": "2026-10-01"' in out, err


def test_allow_outside_paths_lets_sql_read_any_local_file_but_never_write(project, tmp_path, monkeypatch, capsys):
    outside = tmp_path / "shared" / "budget.csv"
    outside.parent.mkdir()
    outside.write_text("month,budget\n2026-10,100\n", encoding="utf-8")
    sql = f"SELECT sum(budget) AS total FROM read_csv('{outside}')"
    code, _out, err = run_pulse(["query", sql], project, monkeypatch, capsys)
    refused(code, err, f'Cannot access file "{outside}"')
    set_project(project, allow_outside_paths=True)
    code, out, err = run_pulse(["query", sql, "--format", "csv"], project, monkeypatch, capsys)
    assert code == 0 and out == "total\n100\n", err
    code, _out, err = run_pulse(["query", f"COPY (SELECT 1) TO '{tmp_path}/shared/x.csv'"], project, monkeypatch, capsys)
    refused(code, err, "COPY statement")
    assert not (tmp_path / "shared" / "x.csv").exists()
    code, _out, err = run_pulse(["query", "SELECT * FROM read_csv('https://example.com/x.csv')"], project, monkeypatch,
                                capsys)
    refused(code, err, 'Cannot access file "https://example.com/x.csv"')  # the network needs its own switch


def test_allow_network_needs_allow_outside_paths(project, monkeypatch, capsys):
    set_project(project, allow_network=True)
    code, _out, err = run_pulse(["query", "SELECT 1"], project, monkeypatch, capsys)
    refused(code, err, "allow_network", "allow_outside_paths: true", "docs/security.md")


def test_the_kpi_cache_is_written_after_the_queries_and_used_by_the_next_run(project, monkeypatch, capsys):
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"))
    con.execute("DELETE FROM _pulse_kpi_cache")
    con.close()
    code, _out, err = run_pulse(["kpis", "--period", PERIOD], project, monkeypatch, capsys)
    assert code == 0, err
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"), read_only=True)
    stored = con.execute("SELECT count(*) FROM _pulse_kpi_cache").fetchall()[0][0]
    con.close()
    from pipeline.config import load_project

    config = load_project(project)
    # one per query the report's KPIs run (KPIs sharing a query share its result), written once the sandbox closed
    assert stored >= len({config.query_path(k) for k in config.reports["monthly"].kpis})
    from pipeline.kpis import queries

    calls: list[str] = []
    original = queries.run_sql
    monkeypatch.setattr(queries, "run_sql", lambda *a, **k: calls.append(a[3]) or original(*a, **k))
    code, _out, err = run_pulse(["kpis", "--period", PERIOD], project, monkeypatch, capsys)
    assert code == 0 and calls == [], err
