"""Ad hoc query runs: a KPI by name, a .sql file or SQL text, over the sources.

The `periods` table is registered for the chosen period's window, so a KPI
query runs unchanged, in the same read-only sandbox as KPI queries (see
`pipeline.core.sandbox`); results print as a terminal table or are written as
CSV, JSON, Parquet or Excel (to stdout for the text formats, or `-o FILE`;
see `query_output`). Rows come in the query's own order; only a KPI query
named by its KPI id (or query name) that has no ORDER BY of its own is sorted:
by period, the company-wide row before the segments.
Failed checks of the sources the query reads (what would stop `pulse run`)
are printed as warnings on stderr above the output.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import ProjectConfig, did_you_mean
from pipeline.core.engine import QueryRequest
from pipeline.core.errors import UsageError
from pipeline.core.paths import display_path
from pipeline.core.periods import Grain, history_back
from pipeline.core.sql_text import has_order_by
from pipeline.kpis import queries as kpis
from pipeline.kpis.lineage import query_sources

from . import workspace
from .query_output import BINARY_FORMATS, write_result

FORMATS = ["table", "csv", "json", "parquet", "xlsx"]
FORMATS_BY_SUFFIX = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class QueryText:
    sql: str
    shown: str  # how errors name it: a file path or "query text"
    params: dict[str, object]
    is_kpi: bool = False  # named as a KPI (id or query name): sorted unless it has an ORDER BY
    path: Path | None = None  # the query's file (an engine may run a version of its own beside it)


def resolve_query(config: ProjectConfig, name_or_sql: str) -> QueryText:
    """Find the SQL a user means: KPI id, query name, .sql path or SQL text."""
    path = kpis.query_file_for(config, name_or_sql)
    if path is None and name_or_sql.endswith(".sql"):
        candidate = Path(name_or_sql)
        if not candidate.is_absolute():
            candidate = Path.cwd() / candidate
        if not candidate.is_file():
            raise UsageError(f"{name_or_sql}: SQL file not found", "give a path to an existing .sql file")
        path = candidate
    if path is not None:
        params = dict(config.kpis[name_or_sql].params) if name_or_sql in config.kpis else {}
        named = not name_or_sql.endswith(".sql")  # a KPI id or query name, not a file the user points at
        return QueryText(path.read_text(encoding="utf-8"), display_path(path), params, is_kpi=named, path=path)
    if any(ch.isspace() for ch in name_or_sql.strip()):
        return QueryText(name_or_sql, "query text", {})
    raise UsageError(
        f"'{name_or_sql}' is neither a KPI, a query under queries/, nor SQL text",
        did_you_mean(name_or_sql, config.kpis),
    )


def run_query(
    root: Path,
    name_or_sql: str,
    period_text: str | None,
    grain: str,
    fmt: str | None,
    output: Path | None,
    progress=None,
    timeout: float | None = None,
    all_periods: bool = False,
    now: datetime | None = None,
) -> None:
    """Run one read-only statement in the sandbox (see `pipeline.core.sandbox`) and write its rows.

    A SELECT (DESCRIBE, SHOW, SUMMARIZE and PIVOT ... IN (...) are SELECTs to DuckDB) or EXPLAIN [ANALYZE]
    of one (on DuckDB; Spark runs one SELECT under the same rules); `timeout` seconds stop it (default:
    no limit).
    """
    if fmt is None:  # not given: from the output file's extension, else a table
        fmt = FORMATS_BY_SUFFIX.get(output.suffix.lower(), "table") if output is not None else "table"
    if fmt in BINARY_FORMATS and output is None:
        raise UsageError(f"--format {fmt} writes a binary file", "add -o FILE")
    # the cache keeps the checks behind the warnings quick; the ad hoc query itself is never cached
    with workspace.open_workspace(root, progress or (lambda _m: None)) as ws:
        query = resolve_query(ws.config, name_or_sql)
        calendar = workspace.calendar_for(ws.config, Grain(grain))
        period = workspace.resolve_period(ws.config, Grain(grain), period_text, now)
        # what `pulse run` would stop on, for the sources the query reads: warnings on stderr
        warnings = workspace.interactive_warnings(ws, calendar, period, query_sources(ws.config, query.sql), now)
        ws.engine.register_periods(_window(ws, query, calendar, period, all_periods))
        available = {**kpis.builtin_parameters(period), **query.params}
        params = kpis.bind_parameters(query.sql, query.shown, available)
        limit = None if timeout is None else kpis.TimeLimit(
            timeout, "--timeout", "give a longer --timeout, or leave it out for no limit")
        explain = ws.engine.kind == "duckdb"  # Spark returns no rows for an EXPLAIN
        rule = "pulse query runs exactly one SELECT" + (", or EXPLAIN of one" if explain else "")
        result = ws.engine.run_select(QueryRequest(query.sql, params, query.shown, path=query.path, rule=rule,
                                                   limit=limit, explain=explain))
    columns, rows = result.columns, result.rows
    for line in warnings:
        print(line, file=sys.stderr)
    columns = _unique_names(columns)
    rows = kpi_order(query, columns, rows)
    write_result(columns, rows, fmt, output, kpi_dimensions(query, columns))


def kpi_order(query: QueryText, columns: list[str], rows: list[tuple]) -> list[tuple]:
    """A KPI query without ORDER BY sorted by period, the company-wide row before segments; else as returned."""
    if not query.is_kpi or not rows or has_order_by(query.sql):
        return rows
    keys = list(range(len(columns) - 1)) if columns[-1] == "value" else list(range(len(columns)))
    return sorted(rows, key=lambda row: [(row[i] is not None, row[i]) for i in keys])


def kpi_dimensions(query: QueryText, columns: list[str]) -> list[int]:
    """A KPI query's dimension columns (all but period and value); none for other queries."""
    if not query.is_kpi:
        return []
    return [i for i, name in enumerate(columns) if name.lower() not in ("period", "value")]


def _window(ws: workspace.Workspace, query: QueryText, calendar, period, all_periods: bool) -> list:
    """The periods table: the report window, or (--all-periods) every period since the sources' first event."""
    window = calendar.window(period, history_back(calendar.grain))
    if not all_periods:
        return window
    from .series import all_periods as every_period
    from .series import first_event

    return every_period(calendar, period, first_event(ws, query_sources(ws.config, query.sql)), window)


def _unique_names(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in columns:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result
