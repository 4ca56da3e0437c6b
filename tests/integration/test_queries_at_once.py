"""KPI queries run two at a time on DuckDB: each on its own connection of the one sandboxed database.

Ctrl-C stops them, one query or several: the queries run in worker threads while
the main thread waits where Python sees the signal.

The second connection is a cursor of the sandbox's: these tests hold it to
what the first one does (the project's time zone, the `periods` table of the
current window, read-only, the locked settings, the folders SQL may read), and
`run_selects` to what running the queries one after another gives: the same
rows in the same order, and the first failing query's error.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline.core.engine import QueryRequest
from pipeline.core.errors import QueryError
from pipeline.core.periods import Calendar, Grain
from pipeline.core.sandbox import Sandbox, SandboxRules, folder_rule
from pipeline.kpis import queries
from pipeline.kpis.duckdb_engine import DuckDBEngine

TZ = "Europe/Copenhagen"
CAL = Calendar(Grain.MONTH)
NOVEMBER = CAL.parse("2026-11", date(2026, 12, 5))
# 23:30 UTC on 31 October is 00:30 on 1 November in Copenhagen: a connection in UTC would count it in October
PER_MONTH = """
SELECT p.period_start AS period, count(e.ts) AS value
FROM periods p LEFT JOIN events e ON e.ts >= p.period_start AND e.ts < p.period_end
GROUP BY ALL ORDER BY period
"""


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    path = tmp_path / "work.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE events (ts TIMESTAMPTZ)")
        con.execute("INSERT INTO events VALUES ('2026-10-31 23:30:00+00'), ('2026-10-15 12:00:00+00')")
    (tmp_path / "allowed").mkdir()
    (tmp_path / "allowed" / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "secret.csv").write_text("x\n2\n", encoding="utf-8")
    box = Sandbox(path, TZ, SandboxRules(read_dirs=tuple(folder_rule(tmp_path / "allowed"))))
    yield box
    box.close()


def request(sql: str, shown: str = "queries/test.sql") -> QueryRequest:
    return QueryRequest(sql, {}, shown, kpi="test", rule=queries.KPI_QUERY)


def test_the_second_connection_has_the_sandboxes_zone_window_and_guards(sandbox, tmp_path):
    queries.register_periods(sandbox, CAL.window(NOVEMBER, 1))
    first, second = sandbox.cursors(2)
    assert first is sandbox.con and second is not first
    for con in (first, second):
        assert con.execute("SELECT current_setting('TimeZone'), count(*) FROM periods").fetchall() == [(TZ, 2)]
        assert con.execute(PER_MONTH).fetchall() == [(date(2026, 10, 1), 1), (date(2026, 11, 1), 1)]
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("SET TimeZone = 'UTC'")
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("CREATE TABLE t AS SELECT 1")
        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT * FROM read_csv($p)", {"p": str(tmp_path / "secret.csv")}).fetchall()
        assert con.execute("SELECT * FROM read_csv($p)", {"p": str(tmp_path / "allowed" / "a.csv")}).fetchall() == [(1,)]
    # a new window reaches the cursors too
    queries.register_periods(sandbox, CAL.window(NOVEMBER, 3))
    assert [c.execute("SELECT count(*) FROM periods").fetchall() for c in sandbox.cursors(2)] == [[(4,)], [(4,)]]


def test_run_selects_uses_both_connections_and_returns_what_one_at_a_time_returns(sandbox, monkeypatch):
    queries.register_periods(sandbox, CAL.window(NOVEMBER, 1))
    engine = DuckDBEngine(None, sandbox)
    asks = [request(PER_MONTH), request("SELECT p.period_start AS period, 7 AS value FROM periods p ORDER BY 1"),
            request(PER_MONTH.replace("count(e.ts)", "count(*) FILTER (WHERE e.ts IS NULL)"))] * 3
    one_by_one = [engine.run_select(r) for r in asks]
    used: list[int] = []
    original = queries.run_sql
    monkeypatch.setattr(queries, "run_sql", lambda con, *a, **k: used.append(id(con)) or original(con, *a, **k))
    assert engine.run_selects(asks) == one_by_one
    assert len(used) == len(asks) and len(set(used)) == 2
    assert one_by_one[0].rows == [(date(2026, 10, 1), 1), (date(2026, 11, 1), 1)]


def test_the_first_failing_query_in_order_is_the_error(sandbox):
    queries.register_periods(sandbox, CAL.window(NOVEMBER, 1))
    engine = DuckDBEngine(None, sandbox)
    asks = [request(PER_MONTH), request("SELECT nope FROM periods", "queries/first.sql"),
            request("SELECT p.period_start AS period, 1 AS value FROM periods p"),
            request("SELECT also_nope FROM periods", "queries/second.sql")]
    for _ in range(5):
        with pytest.raises(QueryError, match=r"^queries/first\.sql"):
            engine.run_selects(asks)


def test_a_query_on_the_second_connection_keeps_its_time_limit(sandbox):
    from pipeline.core.engine import TimeLimit

    queries.register_periods(sandbox, CAL.window(NOVEMBER, 1))
    engine = DuckDBEngine(None, sandbox)
    endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    limit = TimeLimit(0.5, "project.query_timeout in config/pulse.yaml", "make it faster")
    asks = [request(PER_MONTH), QueryRequest(endless, {}, "queries/endless.sql", kpi="endless",
                                             rule=queries.KPI_QUERY, limit=limit)]
    with pytest.raises(QueryError, match=r"KPI 'endless' \(queries/endless\.sql\): stopped after 0\.5 s"):
        engine.run_selects(asks)
    assert engine.run_selects(asks[:1] * 2)[1].rows == [(date(2026, 10, 1), 1), (date(2026, 11, 1), 1)]


CTRL_C = """
import sys
from datetime import date
from pathlib import Path
from pathlib import Path
from pipeline.core.engine import QueryRequest
from pipeline.core.periods import Calendar, Grain
from pipeline.core.sandbox import Sandbox, SandboxRules
from pipeline.kpis import queries
from pipeline.kpis.duckdb_engine import DuckDBEngine

box = Sandbox(Path(sys.argv[1]), "Europe/Copenhagen", SandboxRules())
calendar = Calendar(Grain.MONTH)
queries.register_periods(box, calendar.window(calendar.parse("2026-11", date(2026, 12, 5)), 1))
endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
asks = [QueryRequest(endless, {}, f"queries/endless_{i}.sql", kpi="endless", rule=queries.KPI_QUERY)
        for i in range(int(sys.argv[2]))]
print("running", flush=True)
try:
    engine = DuckDBEngine(None, box)
    engine.run_selects(asks) if len(asks) > 1 else engine.run_select(asks[0])  # pulse query: run_select
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.parametrize("count", [1, 3])
def test_ctrl_c_stops_the_queries_running_at_once(sandbox, count):
    import os
    import signal
    import subprocess
    import sys
    import time

    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    process = subprocess.Popen([sys.executable, "-c", CTRL_C, str(sandbox.path), str(count)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "running"
        time.sleep(1.0)  # the connections busy with an endless query (with 3: two running, one waiting)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)  # without the interrupt the queries would never end
    finally:
        process.kill()
    assert "interrupted" in out, err[-2000:]
    assert process.returncode == 0
