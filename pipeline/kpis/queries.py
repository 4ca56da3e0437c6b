"""Run KPI queries: one execution per KPI returns its whole series.

Before the queries run, a `periods` table (period_start DATE, period_end DATE
exclusive, label VARCHAR) is registered with one row per period of the window.
A KPI query joins its facts to it and returns `period` and `value` columns and,
optionally, dimension columns (rows whose dimensions are all NULL are the
company-wide figure). Values are bound as named parameters: `$name` in a query
is the KPI's `params.name`, or one of the built-ins `report_start`,
`report_end` (the report period's bounds).

A period without a row is filled per the KPI's `fill` only inside the days its
sources have data (see `lineage.DataSpan`). A period entirely before their
first event or after their last one has no value (None), whatever the query
returns for it: no false zero, no figure the data cannot back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipeline.config import KpiConfig, ProjectConfig
from pipeline.core.database import first_line
from pipeline.core.errors import QueryError
from pipeline.core.paths import display_path
from pipeline.core.periods import Period
from pipeline.core.result_cache import ResultCache
from pipeline.core.sql_text import query_parameters
from pipeline.sources.coverage import SourceRange

from .lineage import DataSpan, data_span, query_sources

Series = dict[date, "float | None"]
NESTED_LOOP_DEFAULT = 5  # DuckDB's nested_loop_join_threshold


@dataclass(frozen=True)
class KpiSeries:
    """A KPI's value per period start (company-wide), after filling gaps.

    `by_dimension[column][segment]` is the series of one segment, from rows
    where exactly that dimension column is set (e.g. region = 'Sjælland').
    """

    kpi_id: str
    values: Series
    by_dimension: dict[str, dict[str, Series]] = field(default_factory=dict)


def register_periods(con: duckdb.DuckDBPyConnection, window: list[Period]) -> None:
    """(Re)create the `periods` temp table for this run's window.

    A KPI query joins its facts to `periods` by a range (start <= ts < end).
    With a few dozen periods, comparing every fact row with every period
    (DuckDB's nested loop join) is two to three times faster than its
    sort-based range joins, so the threshold for choosing it is raised to the
    window's size (DuckDB's default is 5 rows).
    """
    con.execute("SET nested_loop_join_threshold = $n", {"n": max(NESTED_LOOP_DEFAULT, len(window) + 1)})
    con.execute("CREATE OR REPLACE TEMP TABLE periods (period_start DATE, period_end DATE, label VARCHAR)")
    con.executemany(
        "INSERT INTO periods VALUES ($start, $end, $label)",
        [{"start": p.start, "end": p.end, "label": p.label} for p in window],
    )


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


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object], path_shown: str):
    """Execute `sql`, wrapping DuckDB errors with the file and line they come from."""
    try:
        cursor = con.execute(sql, params)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        message = first_line(exc)
        line = re.search(r"LINE (\d+):", str(exc))
        where = f"{path_shown}:{line.group(1)}" if line else path_shown
        raise QueryError(f"{where}: {message}", "fix the query; try it with 'pulse query' to iterate") from None
    return columns, rows


def builtin_parameters(report_period: Period) -> dict[str, object]:
    return {"report_start": report_period.start, "report_end": report_period.end}


def run_kpi(
    con: duckdb.DuckDBPyConnection,
    config: ProjectConfig,
    kpi_id: str,
    window: list[Period],
    report_period: Period,
    cache: ResultCache | None = None,
    ranges: Mapping[str, SourceRange] | None = None,
) -> KpiSeries:
    """Execute one KPI query over the registered `periods` and shape its series.

    With a `cache`, a result stored for
    the same SQL, parameters, window and data is used instead of running the
    query (see `pipeline.core.result_cache`). `ranges` (each source's first
    and last event) limit `fill` to the periods the query's sources cover.
    """
    kpi = config.kpis[kpi_id]
    path = config.query_path(kpi_id)
    shown = display_path(path)
    sql = path.read_text(encoding="utf-8")
    available = {**builtin_parameters(report_period), **kpi.params}
    params = bind_parameters(sql, shown, available)
    key = cache.kpi_key(kpi_id, sql, params, window) if cache is not None else ""
    found = cache.get_kpi(key) if cache is not None else None
    if found is not None:
        columns, rows = found
    else:
        columns, rows = run_sql(con, sql, params, shown)
        if cache is not None:
            cache.put_kpi(key, kpi_id, columns, rows)
    span = data_span(query_sources(config, sql), ranges) if ranges is not None else None
    return shape_series(kpi_id, kpi, shown, columns, rows, window, span)


def shape_series(
    kpi_id: str, kpi: KpiConfig, shown: str, columns: list[str], rows: list[tuple], window: list[Period],
    span: DataSpan | None = None,
) -> KpiSeries:
    """Check the query's shape and turn its rows into a filled series.

    A period that overlaps `span` (the days its sources have data; None:
    unknown, every period) gets its row's value, or the KPI's `fill` without
    one; a period outside it has no value.
    """
    lowered = [c.lower() for c in columns]
    for required in ("period", "value"):
        if required not in lowered:
            raise QueryError(
                f"{shown}: the query returns no '{required}' column (it returns {', '.join(columns) or 'nothing'})",
                "a KPI query returns 'period' (the period_start of the periods table) and 'value'",
            )
    p_index, v_index = lowered.index("period"), lowered.index("value")
    dim_indexes = [i for i in range(len(columns)) if i not in (p_index, v_index)]
    starts = {p.start for p in window}
    found: dict[date, float | None] = {}
    segments: dict[str, dict[str, dict[date, float | None]]] = {columns[i]: {} for i in dim_indexes}
    for row in rows:
        period = row[p_index]
        if isinstance(period, datetime):
            period = period.date()
        if not isinstance(period, date) or period not in starts:
            raise QueryError(
                f"{shown}: period {period!r} is not a period_start of the periods table",
                "return p.period_start AS period and join the facts to periods",
            )
        set_dims = [i for i in dim_indexes if row[i] is not None]
        if not set_dims:
            target, where = found, "for period"
        elif len(set_dims) == 1:
            target = segments[columns[set_dims[0]]].setdefault(str(row[set_dims[0]]), {})
            where = f"for {columns[set_dims[0]]} = {row[set_dims[0]]!r} in period"
        else:
            continue  # combinations of several dimensions are not reported on
        if period in target:
            raise QueryError(
                f"{shown}: more than one row {where} {period.isoformat()}",
                "group by the period (GROUP BY ALL), or return extra columns only as dimensions",
            )
        target[period] = _number(row[v_index], shown, period)
    filler = 0.0 if kpi.fill == "zero" else None
    inside = {p.start for p in window if span is None or span.overlaps(p)}

    def filled(values: dict[date, float | None]) -> dict[date, float | None]:
        return {p.start: values.get(p.start, filler) if p.start in inside else None for p in window}

    return KpiSeries(
        kpi_id,
        filled(found),
        {column: {name: filled(v) for name, v in sorted(by.items())} for column, by in segments.items() if by},
    )


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


def query_file_for(config: ProjectConfig, name: str) -> Path | None:
    """The .sql file a name refers to: a KPI id, or a path under queries/."""
    if name in config.kpis:
        return config.query_path(name)
    candidate = config.queries_dir / (name if name.endswith(".sql") else f"{name}.sql")
    return candidate if candidate.is_file() else None
