"""The embedded engine: the project's DuckDB file, wrapping the sources, checks and KPI code that runs on it.

Ingest loads the exports into `.pulse/pulse.duckdb` on the read-write
connection it is given (see `pipeline.sources.ingest`); checks, KPI and ad hoc
queries then run on the read-only query sandbox over the same file (see
`pipeline.core.sandbox`), which is also `local`. See `pipeline.core.engine`
for the interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import duckdb

from pipeline.core.engine import IngestReport, Progress, QueryRequest, QueryRows
from pipeline.core.periods import Period
from pipeline.core.sandbox import Sandbox, check_statement

from . import queries

QUERIES_AT_ONCE = 2  # KPI queries run at once (see `DuckDBEngine.run_selects`)

if TYPE_CHECKING:
    from pipeline.config import ProjectConfig


class DuckDBEngine:
    """Sources in the project's working DuckDB database; queries in its sandbox."""

    kind = "duckdb"

    def __init__(self, config: ProjectConfig | None, sandbox: Sandbox) -> None:
        """`config`: None for an engine that only runs queries (see `pipeline.app.query`'s warm start)."""
        self.config = config
        self.sandbox = sandbox

    @property
    def local(self) -> duckdb.DuckDBPyConnection:
        return self.sandbox.con

    def load_sources(self, con: duckdb.DuckDBPyConnection, progress: Progress) -> IngestReport:
        from pipeline.sources.ingest import ingest  # the loaders only for a command that loads

        assert self.config is not None, "an engine made for queries only loads nothing"
        return ingest(con, self.config, progress)

    def register_periods(self, window: Sequence[Period]) -> None:
        queries.register_periods(self.sandbox, list(window))

    def check(self, request: QueryRequest) -> None:
        if request.rule is not None:
            check_statement(self.local, request.sql, request.shown, request.rule, request.explain)

    def query_text(self, request: QueryRequest) -> str:
        return request.sql

    def run_select(self, request: QueryRequest) -> QueryRows:
        return self.run_selects([request])[0]

    @staticmethod
    def _run_on(con: duckdb.DuckDBPyConnection, request: QueryRequest) -> QueryRows:
        columns, rows = queries.run_sql(con, request.sql, request.params, request.shown, request.limit,
                                        rule=request.rule, explain=request.explain,
                                        name=f"KPI '{request.kpi}'" if request.kpi else "")
        return QueryRows(columns, rows)

    def run_selects(self, requests: Sequence[QueryRequest]) -> list[QueryRows]:
        """The requests run `QUERIES_AT_ONCE` at a time, each on its own connection of the sandbox.

        DuckDB runs each query on its threads, but the tail of a query (and
        all of one over a small table, such as the support tickets) leaves
        cores idle that the next query can use; the threads stay those of
        the one database (`threads`), and so does `memory_limit`. Even a
        single query runs in a worker thread: Python sees Ctrl-C only in a
        thread that is running Python, so the waiting main thread gets it and
        interrupts the queries (inside DuckDB it would go unnoticed until the
        query ended).
        """
        if not requests:
            return []
        from concurrent.futures import ThreadPoolExecutor, wait
        from queue import SimpleQueue

        connections = self.sandbox.cursors(min(QUERIES_AT_ONCE, len(requests)))
        free: SimpleQueue[duckdb.DuckDBPyConnection] = SimpleQueue()
        for con in connections:
            free.put(con)

        def run(request: QueryRequest) -> QueryRows:
            con = free.get()
            try:
                return self._run_on(con, request)
            finally:
                free.put(con)

        pool = ThreadPoolExecutor(QUERIES_AT_ONCE, thread_name_prefix="pulse-query")
        futures = []
        try:
            futures = [pool.submit(run, r) for r in requests]
            wait(futures)
        except BaseException:  # Ctrl-C while waiting: the queries stop too, as one running alone would
            for future in futures:
                future.cancel()
            for con in connections:
                con.interrupt()
            raise
        finally:
            pool.shutdown(wait=True)
        return [f.result() for f in futures]  # the first failure in the requests' order is raised

    def duplicate_keys(self, source: str) -> tuple[int, str | None]:
        dupes, example = self.local.execute(
            "SELECT coalesce(sum(duplicate_keys), 0), min(path) FILTER (WHERE duplicate_keys > 0) "
            "FROM _pulse_files WHERE source = $s", {"s": source}).fetchall()[0]
        return int(dupes), example

    def describe(self) -> str:
        return f"duckdb {duckdb.__version__}"

    def close(self) -> None:
        """Nothing of its own: the sandbox is the workspace's to close."""
