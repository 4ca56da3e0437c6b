"""The query sandbox's rules on `engine: spark` (a local session): a KPI file or ad hoc query that is not one
read-only SELECT is refused as on DuckDB (the same message: file, statement, why; exit code 2; nothing written),
and the time limits stop a Spark job. Tiny one-source projects (support.messy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.messy import make
from support.project import pulse, run_pulse

ROWS = "id;amount;name;day\n" + "".join(f"{i};{i},5;n{i};2026-10-{1 + i % 28:02d}\n" for i in range(60))


def project(root: Path, spark: bool, **settings) -> Path:
    make(root, {"data/a.csv": ROWS}, project=settings or None)
    if spark:
        with open(root / "config" / "pulse.yaml", "a", encoding="utf-8") as handle:
            handle.write("engine:\n  name: spark\n  master: local[2]\n")
    return root


def error_line(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("error:"))


@pytest.mark.parametrize("sql", [
    "COPY (SELECT * FROM items) TO 'data/out.csv'",
    "SELECT 1 AS value FROM items; DROP TABLE items",
    "WITH gone AS (DELETE FROM items RETURNING *) SELECT * FROM gone",
])
def test_a_kpi_file_that_is_not_one_select_is_refused_as_on_duckdb(tmp_path, monkeypatch, capsys, sql):
    lines = []
    for spark in (False, True):
        root = project(tmp_path / ("spark" if spark else "duckdb"), spark)
        (root / "queries" / "item_count.sql").write_text(sql, encoding="utf-8")
        code, _out, err = run_pulse(["kpis", "--period", "2026-10"], root, monkeypatch, capsys)
        assert code == 2, err
        lines.append(error_line(err))
        assert not (root / "data" / "out.csv").exists()
    duck, spark_line = lines
    assert spark_line == duck
    assert duck.startswith("error: queries/item_count.sql: refused")


def test_an_override_file_is_refused_in_the_same_words(tmp_path, monkeypatch, capsys):
    root = project(tmp_path / "p", True)
    (root / "queries" / "item_count.spark.sql").write_text("INSERT INTO items SELECT * FROM items", encoding="utf-8")
    code, _out, err = run_pulse(["kpis", "--period", "2026-10"], root, monkeypatch, capsys)
    assert code == 2
    assert error_line(err).startswith(
        "error: queries/item_count.spark.sql: refused: 'INSERT INTO items SELECT * FROM items' is a INSERT statement, "
        "and it changes the database; a KPI file holds exactly one SELECT")


SLOW = "SELECT count(*) AS n FROM items a, items b, items c, items d, items e, items f"  # 60^6 rows


def test_the_time_limits_stop_a_spark_job(tmp_path):
    """As a user runs it, in its own process: past the limit the command stops with the error (the query alone
    runs for minutes), and its local Spark session ends with it. Spark cancels the job at once; a task in a loop
    that never looks for cancellation, like this cross join of one small table, keeps its core until the JVM
    ends, so the command runs as a process and not inside the test worker. KPI queries stop the same way
    (`SparkEngine._collect`); their wording is the sandbox's (tests/integration/test_sandbox.py)."""
    root = project(tmp_path / "p", True)
    done = pulse(["query", SLOW, "--timeout", "1"], root)
    assert done.returncode == 2, done.stderr
    assert error_line(done.stderr).startswith("error: query text: stopped after 1 s, its time limit (--timeout)")


def test_pulse_query_refuses_explain_on_spark(tmp_path, monkeypatch, capsys):
    root = project(tmp_path / "p", True)
    code, _out, err = run_pulse(["query", "EXPLAIN SELECT * FROM items"], root, monkeypatch, capsys)
    assert code == 2
    assert error_line(err).startswith("error: query text: refused: 'EXPLAIN SELECT * FROM items' is a EXPLAIN "
                                      "statement, and it explains a query instead of returning its rows; pulse query "
                                      "runs exactly one SELECT")
