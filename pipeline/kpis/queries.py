"""Run KPI queries: one execution per query returns the whole series of every KPI it holds.

Before the queries run, a `periods` table (period_start DATE, period_end DATE
exclusive, label VARCHAR) is registered with one row per period of the window.
A KPI query joins its facts to it and returns `period` and `value` columns,
optionally `sample_size` (how many observations the value rests on, for the
KPI's `min_sample`) and, optionally, dimension columns: every other column
(rows whose dimensions are all NULL are the company-wide figure). A KPI may
name another column as its value (`value:`) and as its sample (`sample:`):
KPIs naming columns of one query file (with the same parameters) share one
execution, and none of the columns they name is a dimension. A KPI listing
its `dimensions:` is broken down by those only (`[]`: company-wide figures
only); rows setting another dimension are not its own. Values are
bound as named parameters: `$name` in a query is the KPI's `params.name`, or one of the built-ins `report_start`,
`report_end` (the report period's bounds).

A period without a row is filled per the KPI's `fill` only inside the days its
sources have data (see `lineage.DataSpan`). A period entirely before their
first event or after their last one has no value (None), whatever the query
returns for it: no false zero, no figure the data cannot back.

Queries run in the sandbox (see `pipeline.core.sandbox`): a KPI file holds
exactly one SELECT, checked by DuckDB's parser before the cache is asked or
the query runs; it runs read-only, reads files only where the project allows,
and is stopped at `project.query_timeout` seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipeline.core.database import first_line
from pipeline.core.engine import Engine, QueryRequest, TimeLimit
from pipeline.core.errors import PulseError, QueryError
from pipeline.core.paths import display_path
from pipeline.core.periods import Period
from pipeline.core.result_cache import ResultCache
from pipeline.core.sandbox import (
    NESTED_LOOP_ROWS,
    SANDBOX_HINT,
    Sandbox,
    TimeLimitReached,
    check_statement,
    run_limited,
)
from pipeline.core.sql_text import query_parameters
from pipeline.sources.coverage import SourceRange

from .lineage import DataSpan, data_span, query_sources

if TYPE_CHECKING:
    from pipeline.config import KpiConfig, ProjectConfig

Series = dict[date, "float | None"]
Samples = dict[date, "int | None"]
Group = tuple[Path, str]  # a query file and its bound parameter values: one execution
SAMPLE_COLUMN = "sample_size"  # reserved like period and value: never a dimension
KPI_QUERY = "a KPI file holds exactly one SELECT"
READ_HINT = ("SQL reads files only under the folders of the sources' paths and queries/, and no network; "
             "see docs/security.md 'What a query may read'")


@dataclass(frozen=True)
class KpiSeries:
    """A KPI's value per period start (company-wide), after filling gaps.

    `by_dimension[column][segment]` is the series of one segment, from rows
    where exactly that dimension column is set (e.g. region = 'Sjælland').
    `samples` (and `samples_by_dimension`, shaped the same) hold the query's
    `sample_size` per period when it returns one; a period without a row has None.
    """

    kpi_id: str
    values: Series
    by_dimension: dict[str, dict[str, Series]] = field(default_factory=dict)
    samples: Samples = field(default_factory=dict)
    samples_by_dimension: dict[str, dict[str, Samples]] = field(default_factory=dict)
    dimensions: tuple[str, ...] = ()  # the dimension columns the query returns, as it names them (rows or not)

    def segment_samples(self, dimension: str, segment: str) -> Samples:
        return self.samples_by_dimension.get(dimension, {}).get(segment, {})


def register_periods(target: duckdb.DuckDBPyConnection | Sandbox, window: list[Period]) -> duckdb.DuckDBPyConnection:
    """(Re)create the `periods` temp table for this run's window; returns the connection holding it.

    A KPI query joins its facts to `periods` by a range (start <= ts < end).
    With a few dozen periods, comparing every fact row with every period
    (DuckDB's nested loop join) is two to three times faster than its
    sort-based range joins, so the threshold for choosing it is raised to the
    window's size, and at least `NESTED_LOOP_ROWS` (DuckDB's default is 5
    rows). A sandbox's settings are locked, so it takes the threshold when it
    (re)opens: a window of the same or a smaller size keeps the connection
    open, with what it has read into memory.
    """
    threshold = max(NESTED_LOOP_ROWS, len(window) + 1)
    rows = [{"start": p.start, "end": p.end, "label": p.label} for p in window]

    def create(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE OR REPLACE TEMP TABLE periods (period_start DATE, period_end DATE, label VARCHAR)")
        con.executemany("INSERT INTO periods VALUES ($start, $end, $label)", rows)

    if isinstance(target, Sandbox):
        con = target.configure(nested_loop_join_threshold=threshold)
        target.prepare(create)  # on each of its cursors too (TEMP tables are a connection's own)
        return con
    target.execute("SET nested_loop_join_threshold = $n", {"n": threshold})
    create(target)
    return target


def bind_parameters(sql: str, path_shown: str, available: dict[str, object]) -> dict[str, object]:
    """The parameter values a query needs; an unknown name is a clear error."""
    params: dict[str, object] = {}
    for name in query_parameters(sql):
        if name not in available:
            raise QueryError(
                f"{path_shown}: unknown parameter ${name}",
                f"define it under the KPI's 'params:' in config/kpis.yaml (available: {', '.join(sorted(available)) or 'none'})",
            )
        params[name] = available[name]
    return params


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object], path_shown: str,
            limit: TimeLimit | None = None, *, rule: str | None = KPI_QUERY, explain: bool = False, name: str = ""):
    """Check `sql` is one read-only SELECT (`explain`: or EXPLAIN of one), run it within `limit` and
    return (columns, rows); DuckDB's errors name the file and line they come from. `name` says what
    ran in a time-limit message (e.g. "KPI 'revenue'"). `rule` None: Pulse's own SQL, not checked."""
    if rule is not None:
        check_statement(con, sql, path_shown, rule, explain)
    try:
        return run_limited(con, sql, params, limit.seconds if limit else None)
    except TimeLimitReached as exc:
        assert limit is not None
        who = f"{name} ({path_shown})" if name else path_shown
        raise QueryError(f"{who}: stopped after {exc.seconds:g} s, its time limit ({limit.setting})",
                         limit.hint) from None
    except duckdb.Error as exc:
        message = first_line(exc)
        line = re.search(r"LINE (\d+):", str(exc))
        where = f"{path_shown}:{line.group(1)}" if line else path_shown
        if isinstance(exc, duckdb.PermissionException):
            raise QueryError(f"{where}: refused: {message.removeprefix('Permission Error: ')}", READ_HINT) from None
        if "configuration has been locked" in message or "read-only mode" in message:
            raise QueryError(f"{where}: refused: {message}", SANDBOX_HINT) from None
        raise QueryError(f"{where}: {message}", "fix the query; try it with 'pulse query' to iterate") from None


def kpi_time_limit(config: ProjectConfig) -> TimeLimit:
    """The time limit of a KPI query: `project.query_timeout` (seconds)."""
    return TimeLimit(config.project.query_timeout, "project.query_timeout in config/pulse.yaml",
                     "make the query faster, or raise 'query_timeout' under 'project:' in config/pulse.yaml; "
                     "see docs/security.md 'Time and memory limits'")


def builtin_parameters(report_period: Period) -> dict[str, object]:
    return {"report_start": report_period.start, "report_end": report_period.end}


def run_kpis(
    engine: Engine,
    config: ProjectConfig,
    kpi_ids: Sequence[str],
    window: list[Period],
    report_period: Period,
    cache: ResultCache | None = None,
    ranges: Mapping[str, SourceRange] | None = None,
    errors: dict[str, PulseError] | None = None,
) -> dict[str, KpiSeries]:
    """Execute the KPIs' queries over the registered `periods` on `engine` and shape each KPI's series.

    KPIs whose query is the same file with the same parameter values share one
    execution. With a `cache`, a result stored for the same SQL (as the engine
    runs it), parameters, window and data is used instead of running the query
    (see `pipeline.core.result_cache`). `ranges` (each source's first and last
    event) limit `fill` to the periods the query's sources cover. With
    `errors`, a KPI's own problem (a parameter it lacks, a column its query does
    not return) is put there under its id and the KPI left out, instead of
    raised; a query that cannot be checked or run still raises.
    """
    checked: dict[Path, QueryRequest] = {}  # each query file read and checked once
    shared: dict[Group, list[str]] = {}
    requests: dict[Group, QueryRequest] = {}
    for kpi_id in dict.fromkeys(kpi_ids):
        path = config.query_path(kpi_id)
        if path not in checked:
            checked[path] = QueryRequest(path.read_text(encoding="utf-8"), {}, display_path(path), kpi=kpi_id,
                                         path=path, rule=KPI_QUERY, limit=kpi_time_limit(config))
            engine.check(checked[path])  # also before a cached result is used
        available = {**builtin_parameters(report_period), **config.kpis[kpi_id].params}
        base = checked[path]
        try:
            request = replace(base, kpi=kpi_id, params=bind_parameters(base.sql, base.shown, available))
        except PulseError as exc:
            if errors is None:
                raise
            errors[kpi_id] = exc
            continue
        group = (path, repr(sorted(request.params.items())))
        shared.setdefault(group, []).append(kpi_id)
        requests.setdefault(group, request)
    for group, ids in shared.items():
        if len(ids) > 1:  # a shared query: errors name the file, not one of its KPIs
            requests[group] = replace(requests[group], kpi=None)
    results = _results(engine, cache, {group: config.kpis[ids[0]].query or ids[0] for group, ids in shared.items()},
                       requests, window)
    out: dict[str, KpiSeries] = {}
    for group, ids in shared.items():
        request = requests[group]
        columns, rows = results[group]
        span = data_span(query_sources(config, request.sql), ranges) if ranges is not None else None
        measures = measure_columns(config, request.path)
        for kpi_id in ids:
            try:
                out[kpi_id] = shape_series(kpi_id, config.kpis[kpi_id], request.shown, columns, rows, window, span,
                                           measures)
            except PulseError as exc:
                if errors is None:
                    raise
                errors[kpi_id] = exc
    return {k: out[k] for k in kpi_ids if k in out}


def _results(engine: Engine, cache: ResultCache | None, labels: dict[Group, str],
             requests: dict[Group, QueryRequest], window: list[Period]) -> dict[Group, tuple[list[str], list[tuple]]]:
    """Each query's result: from the cache, else run (the engine may run several at once) and cached under
    its label (the query's name). A query that fails raises the error of the first failing one, in order."""
    found: dict[Group, tuple[list[str], list[tuple]]] = {}
    keys: dict[Group, str] = {}
    for group, request in requests.items():
        if cache is None:
            continue
        keys[group] = cache.kpi_key(labels[group], request.sql, request.params, window, engine.query_text(request))
        hit = cache.get_kpi(engine.local, keys[group])
        if hit is not None:
            found[group] = hit
    missing = [group for group in requests if group not in found]
    for group, result in zip(missing, engine.run_selects([requests[g] for g in missing])):
        if cache is not None:
            cache.put_kpi(keys[group], labels[group], result.columns, result.rows)
        found[group] = (result.columns, result.rows)
    return found


def measure_columns(config: ProjectConfig, path: Path | None) -> frozenset[str]:
    """The columns of the query file at `path` that hold a KPI's value or sample (see `measures_of`)."""
    return measures_of(((config.query_path(k), (kpi.value, kpi.sample)) for k, kpi in config.kpis.items()), path)


def measures_of(kpi_columns: Iterable[tuple[Path, Sequence[str]]], path: Path | None) -> frozenset[str]:
    """The columns (lower case) of the query file at `path` that hold a KPI's value or sample: `value`,
    `sample_size`, and every column a KPI reading that file names (`kpi_columns`: each KPI's query file
    and its `value:` and `sample:` columns). Its other columns (but `period`) are dimensions."""
    named = {name.lower() for file, names in kpi_columns if file == path for name in names}
    return frozenset({"value", SAMPLE_COLUMN, *named})


def shape_series(
    kpi_id: str, kpi: KpiConfig, shown: str, columns: list[str], rows: list[tuple], window: list[Period],
    span: DataSpan | None = None, measures: frozenset[str] = frozenset({"value", SAMPLE_COLUMN}),
) -> KpiSeries:
    """Check the query's shape and turn its rows into the KPI's filled series.

    The KPI's value is its `value:` column (default `value`), its observations
    its `sample:` column (default `sample_size`) when the query returns it;
    `measures` are the columns (lower case) that hold some KPI's value or
    sample, never a dimension (see `measure_columns`). A period that overlaps
    `span` (the days its sources have data; None: unknown, every period) gets
    its row's value, or the KPI's `fill` without one; a period outside it has
    no value.
    """
    lowered = [c.lower() for c in columns]
    value, sample = kpi.value.lower(), kpi.sample.lower()
    if "period" not in lowered:
        raise QueryError(
            f"{shown}: the query returns no 'period' column (it returns {', '.join(columns) or 'nothing'})",
            "a KPI query returns 'period' (the period_start of the periods table) and 'value'",
        )
    if value not in lowered:
        whose = "" if value == "value" else f" for KPI '{kpi_id}' (its 'value:')"
        raise QueryError(
            f"{shown}: the query returns no '{kpi.value}' column{whose} (it returns {', '.join(columns) or 'nothing'})",
            "a KPI query returns 'period' (the period_start of the periods table) and 'value'" if not whose else
            "return it, or set the KPI's 'value:' to the column that holds its value; see docs/configuration.md "
            "'The KPI query contract'",
        )
    p_index, v_index = lowered.index("period"), lowered.index(value)
    s_index = lowered.index(sample) if sample in lowered else None
    if kpi.min_sample is not None and s_index is None:
        raise QueryError(
            f"{shown}: the KPI has min_sample: {kpi.min_sample} but its query returns no '{kpi.sample}' column",
            f"return the number of observations behind each value as {kpi.sample} "
            "(e.g. count(t.satisfaction) AS sample_size); see docs/configuration.md 'The KPI query contract'",
        )
    dim_indexes = [i for i in range(len(columns)) if i != p_index and lowered[i] not in measures | {value, sample}]
    dim_indexes, not_its = _its_dimensions(kpi_id, kpi, shown, columns, dim_indexes)
    starts = {p.start for p in window}
    found: dict[date, float | None] = {}
    found_samples: Samples = {}
    segments: dict[str, dict[str, dict[date, float | None]]] = {columns[i]: {} for i in dim_indexes}
    segment_samples: dict[str, dict[str, Samples]] = {columns[i]: {} for i in dim_indexes}
    for row in rows:
        period = row[p_index]
        if isinstance(period, datetime):
            period = period.date()
        if not isinstance(period, date) or period not in starts:
            raise QueryError(
                f"{shown}: period {period!r} is not a period_start of the periods table",
                "return p.period_start AS period and join the facts to periods",
            )
        if any(row[i] is not None for i in not_its):
            continue  # a breakdown the KPI is not reported by (its dimensions:)
        set_dims = [i for i in dim_indexes if row[i] is not None]
        if not set_dims:
            target, target_samples, where = found, found_samples, "for period"
        elif len(set_dims) == 1:
            column, segment = columns[set_dims[0]], str(row[set_dims[0]])
            target = segments[column].setdefault(segment, {})
            target_samples = segment_samples[column].setdefault(segment, {})
            where = f"for {column} = {row[set_dims[0]]!r} in period"
        else:
            continue  # combinations of several dimensions are not reported on
        if period in target:
            raise QueryError(
                f"{shown}: more than one row {where} {period.isoformat()}",
                "group by the period (GROUP BY ALL), or return extra columns only as dimensions",
            )
        target[period] = _number(row[v_index], shown, period)
        if s_index is not None:
            target_samples[period] = _count(row[s_index], shown, period, columns[s_index])
    filler = 0.0 if kpi.fill == "zero" else None
    inside = {p.start for p in window if span is None or span.overlaps(p)}

    def filled(values: dict[date, float | None]) -> dict[date, float | None]:
        return {p.start: values.get(p.start, filler) if p.start in inside else None for p in window}

    def counted(samples: Samples) -> Samples:
        return {p.start: samples.get(p.start) for p in window} if s_index is not None else {}

    return KpiSeries(
        kpi_id,
        filled(found),
        {column: {name: filled(v) for name, v in sorted(by.items())} for column, by in segments.items() if by},
        counted(found_samples),
        {column: {name: counted(v) for name, v in sorted(by.items())}
         for column, by in segment_samples.items() if by and s_index is not None},
        tuple(columns[i] for i in dim_indexes),
    )


def _its_dimensions(kpi_id: str, kpi: KpiConfig, shown: str, columns: list[str],
                    dim_indexes: list[int]) -> tuple[list[int], list[int]]:
    """The dimension columns (indexes) the KPI is broken down by, and the others: all of them unless the KPI
    lists its `dimensions:`, each of which the query must return as a dimension."""
    if kpi.dimensions is None:
        return dim_indexes, []
    wanted = {name.lower() for name in kpi.dimensions}
    returned = {columns[i].lower() for i in dim_indexes}
    missing = [name for name in kpi.dimensions if name.lower() not in returned]
    if missing:
        raise QueryError(
            f"{shown}: KPI '{kpi_id}' lists dimensions: [{', '.join(kpi.dimensions)}], but the query returns no "
            f"dimension column '{missing[0]}' ({dimensions_returned([columns[i] for i in dim_indexes])})",
            "return the column (... AS " + missing[0] + "), or correct the KPI's dimensions: in config/kpis.yaml; "
            "see docs/configuration.md 'The KPI query contract'",
        )
    return ([i for i in dim_indexes if columns[i].lower() in wanted],
            [i for i in dim_indexes if columns[i].lower() not in wanted])


def dimensions_returned(names: list[str] | tuple[str, ...]) -> str:
    """What a query returns as dimension columns, in words (for messages)."""
    return f"its dimension columns are {', '.join(names)}" if names else "it returns no dimension column"


def _count(value: object, shown: str, period: date, column: str = SAMPLE_COLUMN) -> int | None:
    """A sample_size: a whole number of observations, or NULL (none)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__int__"):
        raise QueryError(f"{shown}: {column} {value!r} for period {period.isoformat()} is not a number",
                         f"{column} is a count of observations, e.g. count(*) AS {column}")
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number) or number < 0 or number != int(number):
        raise QueryError(f"{shown}: {column} {value!r} for period {period.isoformat()} is not a whole "
                         "number of observations", f"{column} is a count, e.g. count(*) AS {column}")
    return int(number)


def _number(value: object, shown: str, period: date) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise QueryError(
            f"{shown}: value {value!r} for period {period.isoformat()} is not a number",
            "the value column must be numeric; cast it in the query",
        )
    number = float(value)  # DECIMAL results arrive as decimal.Decimal
    if math.isnan(number) or math.isinf(number):
        return None
    return steady(number) if isinstance(value, float) else number  # integers and decimals are exact


def steady(number: float) -> float:
    """A floating-point result to 12 significant digits.

    DuckDB adds the rows of a sum in parallel, in an order that can differ
    between two builds of the same data, so the last bits of a floating-point
    sum can differ too (444067.85250000004 and 444067.8524999999). Twelve
    significant digits are far more than any report shows and far less than
    that noise, so the same data always gives the same figure.
    """
    if number == 0:
        return 0.0
    return float(f"{number:.12g}")


def query_file(queries_dir: Path, kpi_files: Mapping[str, Path], name: str) -> Path | None:
    """The .sql file a name refers to: a KPI id (`kpi_files`: each KPI's query file), or a path under
    queries/."""
    if name in kpi_files:
        return kpi_files[name]
    candidate = queries_dir / (name if name.endswith(".sql") else f"{name}.sql")
    return candidate if candidate.is_file() else None
