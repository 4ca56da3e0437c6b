"""Ad hoc query runs: a KPI by name, a .sql file or SQL text, over the sources.

The `periods` table is registered for the chosen period's window, so a KPI
query runs unchanged; results print as a terminal table or are written as
CSV, JSON, Parquet or Excel (to stdout for the text formats, or `-o FILE`).
Failed checks of the sources the query reads (what would stop `pulse run`)
are printed as warnings on stderr above the output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from pipeline.config import ProjectConfig, did_you_mean
from pipeline.core.errors import UsageError
from pipeline.core.paths import display_path
from pipeline.core.periods import Grain, history_back
from pipeline.kpis import queries as kpis
from pipeline.kpis.lineage import query_sources

from . import workspace

FORMATS = ["table", "csv", "json", "parquet", "xlsx"]
BINARY_FORMATS = {"parquet", "xlsx"}
FORMATS_BY_SUFFIX = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class QueryText:
    sql: str
    shown: str  # how errors name it: a file path or "query text"
    params: dict[str, object]
    is_kpi: bool = False  # a KPI query: rows are sorted by period, company-wide first


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
        return QueryText(path.read_text(encoding="utf-8"), display_path(path), params, is_kpi=True)
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
    now: datetime | None = None,
) -> None:
    if fmt is None:  # not given: from the output file's extension, else a table
        fmt = FORMATS_BY_SUFFIX.get(output.suffix.lower(), "table") if output is not None else "table"
    if fmt in BINARY_FORMATS and output is None:
        raise UsageError(f"--format {fmt} writes a binary file", "add -o FILE")
    ws = workspace.open_workspace(root, progress or (lambda _m: None))
    try:
        query = resolve_query(ws.config, name_or_sql)
        calendar = workspace.calendar_for(ws.config, Grain(grain))
        period = workspace.resolve_period(ws.config, Grain(grain), period_text, now)
        # what `pulse run` would stop on, for the sources the query reads: warnings on stderr
        warnings = workspace.interactive_warnings(ws, calendar, period, query_sources(ws.config, query.sql), now)
        kpis.register_periods(ws.con, calendar.window(period, history_back(calendar.grain)))
        available = {**kpis.builtin_parameters(period), **query.params}
        params = kpis.bind_parameters(query.sql, query.shown, available)
        columns, rows = kpis.run_sql(ws.con, query.sql, params, query.shown)
    finally:
        ws.con.close()
    for line in warnings:
        print(line, file=sys.stderr)
    columns = _unique_names(columns)
    if query.is_kpi and rows:
        # KPI queries have no ORDER BY: period, then the company-wide row before segments
        keys = list(range(len(columns) - 1)) if columns[-1] == "value" else list(range(len(columns)))
        rows = sorted(rows, key=lambda row: [(row[i] is not None, row[i]) for i in keys])
    write_result(columns, rows, fmt, output)


def _unique_names(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in columns:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result


def _text(value: object) -> str:
    """A value as text in a table or CSV cell: dates in ISO 8601, NULL as empty."""
    if value is None:
        return ""
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return str(value)


def _json_value(value: object) -> object:
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)


def table_text(columns: list[str], rows: list[tuple]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for index, name in enumerate(columns):
        numeric = any(isinstance(r[index], (int, float, Decimal)) and not isinstance(r[index], bool) for r in rows)
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*[_text(v) for v in row])
    buffer = io.StringIO()
    Console(file=buffer, width=max(80, min(240, 12 * max(1, len(columns)) + 20)), force_terminal=False).print(table)
    buffer.write(f"{len(rows)} row{'s' if len(rows) != 1 else ''}\n")
    return buffer.getvalue()


def text_format(columns: list[str], rows: list[tuple], fmt: str) -> str:
    """The result as a table, CSV or JSON (a list of objects)."""
    if fmt == "table":
        return table_text(columns, rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(v) for v in row] for row in rows)
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps([{c: _json_value(v) for c, v in zip(columns, row)} for row in rows],
                          ensure_ascii=False, allow_nan=False) + "\n"
    raise UsageError(f"unknown format '{fmt}'", "use table, csv, json, parquet or xlsx")


def write_result(columns: list[str], rows: list[tuple], fmt: str, output: Path | None) -> None:
    """Write the result in `fmt` to `output` (atomically) or to stdout."""
    if output is None:
        sys.stdout.write(text_format(columns, rows, fmt))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if fmt in BINARY_FORMATS:
            import polars as pl  # Parquet and Excel files are written by Polars

            frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
            if fmt == "parquet":
                frame.write_parquet(temp_name)
            else:
                frame.write_excel(temp_name, worksheet="result")
        else:
            Path(temp_name).write_text(text_format(columns, rows, fmt), encoding="utf-8")
        os.replace(temp_name, output)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
