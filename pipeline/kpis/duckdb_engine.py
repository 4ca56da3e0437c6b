"""The embedded engine: the project's DuckDB file, wrapping the sources, checks and KPI code that runs on it.

Ingest loads the exports into `.pulse/pulse.duckdb` (see `pipeline.sources.ingest`);
queries run on the same connection, which also holds Pulse's own records
(`local`). See `pipeline.core.engine` for the interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb

from pipeline.config import ProjectConfig
from pipeline.core.engine import IngestReport, Progress, QueryRequest, QueryRows
from pipeline.core.periods import Period
from pipeline.sources import ingest as sources

from . import queries


class DuckDBEngine:
    """Sources, checks and queries in the project's working DuckDB database."""

    kind = "duckdb"

    def __init__(self, config: ProjectConfig, con: duckdb.DuckDBPyConnection) -> None:
        self.config = config
        self.local = con

    def load_sources(self, progress: Progress) -> IngestReport:
        return sources.ingest(self.local, self.config, progress)

    def register_periods(self, window: Sequence[Period]) -> None:
        queries.register_periods(self.local, list(window))

    def query_text(self, request: QueryRequest) -> str:
        return request.sql

    def run_select(self, request: QueryRequest) -> QueryRows:
        columns, rows = queries.run_sql(self.local, request.sql, request.params, request.shown)
        return QueryRows(columns, rows)

    def duplicate_keys(self, source: str) -> tuple[int, str | None]:
        dupes, example = self.local.execute(
            "SELECT coalesce(sum(duplicate_keys), 0), min(path) FILTER (WHERE duplicate_keys > 0) "
            "FROM _pulse_files WHERE source = $s", {"s": source}).fetchall()[0]
        return int(dupes), example

    def latest_date(self) -> date | None:
        return sources.latest_date(self.local, self.config)

    def describe(self) -> str:
        return f"duckdb {duckdb.__version__}"

    def close(self) -> None:
        self.local.close()
