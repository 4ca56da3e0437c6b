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

Two ways to open the project answer the same query (`QueryProject`): the
workspace (config validated, sources brought up to date, see `workspace`), or,
when nothing changed since a command last found the sources up to date, the
warm facts (`pipeline.app.warm`): the saved settings, the sandbox and the
check results already cached, without importing the config models. The warm
way is taken only when it can answer everything the other would print; when a
check result it needs is not cached, or the name is not a query it knows, the
workspace answers instead (and says what is wrong).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipeline.checks.coverage import sources_coverage
from pipeline.checks.gate import warning_lines
from pipeline.checks.source_checks import CheckResult, cache_parts
from pipeline.core.engine import Engine, QueryRequest, TimeLimit
from pipeline.core.errors import UsageError
from pipeline.core.paths import display_path
from pipeline.core.periods import Calendar, Grain, Period, history_back, periods_since, today_in
from pipeline.core.result_cache import ResultCache
from pipeline.core.sql_text import has_order_by
from pipeline.kpis.lineage import first_event, query_sources, sources_in
from pipeline.kpis.queries import bind_parameters, builtin_parameters, measure_columns, measures_of, query_file

from . import warm
from .query_output import BINARY_FORMATS, write_result

if TYPE_CHECKING:
    from .workspace import Workspace

FORMATS = ["table", "csv", "json", "parquet", "xlsx"]
FORMATS_BY_SUFFIX = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class QueryText:
    sql: str
    shown: str  # how errors name it: a file path or "query text"
    params: dict[str, object]
    is_kpi: bool = False  # named as a KPI (id or query name): sorted unless it has an ORDER BY
    path: Path | None = None  # the query's file (an engine may run a version of its own beside it)
    measures: frozenset[str] = frozenset()  # a KPI query's value and sample columns (lower case)


@dataclass(frozen=True)
class NamedQuery:
    """The file a KPI id or query name stands for, and the KPI's parameters."""

    path: Path
    params: dict[str, object]
    measures: frozenset[str]  # its columns holding a KPI's value or sample (see kpis.queries.measures_of)


class QueryProject(Protocol):
    """An open project as `pulse query` reads it."""

    engine: Engine
    calendar_start: int  # the fiscal year's first month

    def named(self, name: str) -> NamedQuery | None: ...

    def unknown(self, name: str) -> Exception: ...

    def today(self, now: datetime | None) -> date: ...

    def sources(self, sql: str) -> list[str]: ...

    def first_event(self, sources: Sequence[str]) -> date | None: ...

    def warnings(self, calendar: Calendar, period: Period, sources: Sequence[str], now: datetime | None) -> list[str]: ...


class NotWarm(Exception):
    """The warm facts cannot answer as the workspace would (a check result not cached, an unknown name)."""


class OpenedProject:
    """`pulse query` on a workspace (config validated, sources up to date)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.engine = ws.engine
        self.calendar_start = ws.config.project.fiscal_year_start

    def named(self, name: str) -> NamedQuery | None:
        config = self.ws.config
        path = query_file(config.queries_dir, {k: config.query_path(k) for k in config.kpis}, name)
        if path is None:
            return None
        return NamedQuery(path, dict(config.kpis[name].params) if name in config.kpis else {},
                          measure_columns(config, path))

    def unknown(self, name: str) -> Exception:
        from pipeline.config import did_you_mean

        return UsageError(f"'{name}' is neither a KPI, a query under queries/, nor SQL text",
                          did_you_mean(name, self.ws.config.kpis))

    def today(self, now: datetime | None) -> date:
        return today_in(self.ws.config.project.timezone, now)

    def sources(self, sql: str) -> list[str]:
        return query_sources(self.ws.config, sql)

    def first_event(self, sources: Sequence[str]) -> date | None:
        return first_event(sources, self.ws.ranges)

    def warnings(self, calendar: Calendar, period: Period, sources: Sequence[str], now: datetime | None) -> list[str]:
        from . import workspace

        return workspace.interactive_warnings(self.ws, calendar, period, sources, now)


class WarmProject:
    """`pulse query` on the warm facts: nothing changed since the sources were last found up to date."""

    def __init__(self, facts: warm.ProjectFacts, state: warm.WarmState) -> None:
        from pipeline.core.sandbox import Sandbox
        from pipeline.kpis.duckdb_engine import DuckDBEngine

        self.facts = facts
        self.ranges = state.ingest.coverage
        self.sandbox = Sandbox(facts.database, facts.timezone, facts.sandbox, facts.memory_limit, facts.threads)
        self.engine = DuckDBEngine(None, self.sandbox)
        self.calendar_start = facts.fiscal_year_start
        self.cache = ResultCache({name: s.contract for name, s in facts.sources.items()},
                                 {s.name: s.fingerprint for s in state.ingest.sources}, facts.timezone)

    def named(self, name: str) -> NamedQuery | None:
        queries_dir = self.facts.queries_dir
        files = {k: queries_dir / file for k, file in self.facts.kpi_queries.items()}
        path = query_file(queries_dir, files, name)
        if path is None:
            return None
        columns = ((files[k], names) for k, names in self.facts.kpi_columns.items())
        return NamedQuery(path, dict(self.facts.kpi_params.get(name, {})), measures_of(columns, path))

    def unknown(self, name: str) -> Exception:
        return NotWarm(name)  # the workspace says what is wrong, with its did-you-mean

    def today(self, now: datetime | None) -> date:
        return today_in(self.facts.timezone, now)

    def sources(self, sql: str) -> list[str]:
        return sources_in(sql, list(self.facts.sources))

    def first_event(self, sources: Sequence[str]) -> date | None:
        return first_event(sources, self.ranges)

    def warnings(self, calendar: Calendar, period: Period, sources: Sequence[str], now: datetime | None) -> list[str]:
        """The workspace's warnings from the cached check results (a result not cached: NotWarm)."""
        today = self.today(now)
        failed: list[CheckResult] = []
        for name, source in self.facts.sources.items():
            if name in sources:
                parts = cache_parts(source.checks, source.event_column, calendar, period, today)
                found = self.cache.checks(self.engine.local, name, parts, _not_cached)
                failed.extend(c for c in (CheckResult(**item) for item in found) if c.failed)
        grace = {name: source.grace_days for name, source in self.facts.sources.items()}
        return warning_lines(failed, sources_coverage(self.ranges, sources, period, today, grace), period)

    def close(self) -> None:
        self.sandbox.close()


def _not_cached() -> list[dict]:
    raise NotWarm("a check result is not cached")


def resolve_query(project: QueryProject, name_or_sql: str) -> QueryText:
    """Find the SQL a user means: KPI id, query name, .sql path or SQL text."""
    named = project.named(name_or_sql)
    path = named.path if named is not None else None
    if path is None and name_or_sql.endswith(".sql"):
        candidate = Path(name_or_sql)
        if not candidate.is_absolute():
            candidate = Path.cwd() / candidate
        if not candidate.is_file():
            raise UsageError(f"{name_or_sql}: SQL file not found", "give a path to an existing .sql file")
        path = candidate
    if path is not None:
        params = dict(named.params) if named is not None else {}
        is_named = not name_or_sql.endswith(".sql")  # a KPI id or query name, not a file the user points at
        return QueryText(path.read_text(encoding="utf-8"), display_path(path), params, is_kpi=is_named, path=path,
                         measures=named.measures if named is not None and is_named else frozenset())
    if any(ch.isspace() for ch in name_or_sql.strip()):
        return QueryText(name_or_sql, "query text", {})
    raise project.unknown(name_or_sql)


@dataclass(frozen=True)
class QueryAsk:
    """What `pulse query` was asked (its arguments)."""

    name_or_sql: str
    period: str | None
    grain: str
    timeout: float | None
    all_periods: bool
    now: datetime | None


def answer(project: QueryProject, ask: QueryAsk) -> tuple[QueryText, list[str], list[str], list[tuple]]:
    """The query, its warnings, and its result's columns and rows."""
    query = resolve_query(project, ask.name_or_sql)
    calendar = Calendar(grain=Grain(ask.grain), fiscal_year_start=project.calendar_start)
    period = calendar.parse(ask.period or "last", project.today(ask.now))
    read = project.sources(query.sql)
    window = calendar.window(period, history_back(calendar.grain))
    if ask.all_periods:  # every period since the sources' first event
        window = periods_since(calendar, period, project.first_event(read), window)
    project.engine.register_periods(window)
    # what `pulse run` would stop on, for the sources the query reads: warnings on stderr
    warnings = project.warnings(calendar, period, read, ask.now)
    available = {**builtin_parameters(period), **query.params}
    params = bind_parameters(query.sql, query.shown, available)
    limit = None if ask.timeout is None else TimeLimit(
        ask.timeout, "--timeout", "give a longer --timeout, or leave it out for no limit")
    explain = project.engine.kind == "duckdb"  # Spark returns no rows for an EXPLAIN
    rule = "pulse query runs exactly one SELECT" + (", or EXPLAIN of one" if explain else "")
    result = project.engine.run_select(QueryRequest(query.sql, params, query.shown, path=query.path, rule=rule,
                                                    limit=limit, explain=explain))
    return query, warnings, result.columns, result.rows


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
    ask = QueryAsk(name_or_sql, period_text, grain, timeout, all_periods, now)
    found = _warm_answer(root, ask)
    if found is None:
        from . import workspace

        # the cache keeps the checks behind the warnings quick; the ad hoc query itself is never cached
        with workspace.open_workspace(root, progress or (lambda _m: None)) as ws:
            found = answer(OpenedProject(ws), ask)
    query, warnings, columns, rows = found
    for line in warnings:
        print(line, file=sys.stderr)
    columns = _unique_names(columns)
    rows = kpi_order(query, columns, rows)
    write_result(columns, rows, fmt, output, kpi_dimensions(query, columns))


def _warm_answer(root: Path, ask: QueryAsk) -> tuple[QueryText, list[str], list[str], list[tuple]] | None:
    """The answer from the warm facts, or None when they cannot give the workspace's answer."""
    saved = warm.load_facts(root)
    if saved is None:
        return None
    project = WarmProject(*saved)
    try:
        return answer(project, ask)
    except NotWarm:
        return None
    finally:
        project.close()


def kpi_order(query: QueryText, columns: list[str], rows: list[tuple]) -> list[tuple]:
    """A KPI query without ORDER BY sorted by period and dimensions, the company-wide row before segments;
    else as returned."""
    if not query.is_kpi or not rows or has_order_by(query.sql):
        return rows
    keys = [i for i in range(len(columns)) if columns[i].lower() not in query.measures]
    return sorted(rows, key=lambda row: [(row[i] is not None, row[i]) for i in keys])


def kpi_dimensions(query: QueryText, columns: list[str]) -> list[int]:
    """A KPI query's dimension columns (all but period and its value and sample columns); none for other
    queries."""
    if not query.is_kpi:
        return []
    return [i for i, name in enumerate(columns) if name.lower() != "period" and name.lower() not in query.measures]


def _unique_names(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in columns:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result
