"""Ad hoc query runs: a KPI by name, a .sql file or SQL text, over the sources.

The `periods` table is registered for the chosen period's window, so a KPI
query runs unchanged; results print as a terminal table or are written as
CSV, JSON, Parquet or Excel (to stdout for the text formats, or `-o FILE`).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from pipeline.kpis import queries as kpis

from . import workspace
from pipeline.config import ProjectConfig
from pipeline.config import did_you_mean
from pipeline.core.errors import PulseError
from pipeline.core.periods import Grain, history_back
from pipeline.core.paths import display_path

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
            raise PulseError(f"{name_or_sql}: SQL file not found", "give a path to an existing .sql file")
        path = candidate
    if path is not None:
        params = dict(config.kpis[name_or_sql].params) if name_or_sql in config.kpis else {}
        return QueryText(path.read_text(encoding="utf-8"), display_path(path), params, is_kpi=True)
    if any(ch.isspace() for ch in name_or_sql.strip()):
        return QueryText(name_or_sql, "query text", {})
    raise PulseError(
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
) -> None:
    if fmt is None:  # not given: from the output file's extension, else a table
        fmt = FORMATS_BY_SUFFIX.get(output.suffix.lower(), "table") if output is not None else "table"
    if fmt in BINARY_FORMATS and output is None:
        raise PulseError(f"--format {fmt} writes a binary file", "add -o FILE")
    ws = workspace.open_workspace(root, progress or (lambda _m: None))
    query = resolve_query(ws.config, name_or_sql)
    calendar = workspace.calendar_for(ws.config, Grain(grain))
    period = workspace.resolve_period(ws.config, Grain(grain), period_text)
    kpis.register_periods(ws.con, calendar.window(period, history_back(calendar.grain)))
    available = {**kpis.builtin_parameters(period), **query.params}
    params = kpis.bind_parameters(query.sql, query.shown, available)
    columns, rows = kpis.run_sql(ws.con, query.sql, params, query.shown)
    ws.con.close()
    frame = to_frame(columns, rows)
    if query.is_kpi and frame.height:
        # KPI queries have no ORDER BY: period, then the company-wide row before segments
        frame = frame.sort(frame.columns[:-1] if frame.columns[-1] == "value" else frame.columns, nulls_last=False)
    if fmt == "table":
        text = table_text(frame)
    else:
        text = None
    write_result(frame, fmt, output, text)


def to_frame(columns: list[str], rows: list[tuple]) -> pl.DataFrame:
    unique = _unique_names(columns)
    return pl.DataFrame(rows, schema=unique, orient="row", infer_schema_length=None)


def _unique_names(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in columns:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result


def table_text(frame: pl.DataFrame) -> str:
    table = Table(show_lines=False)
    for name in frame.columns:
        numeric = frame.schema[name].is_numeric()
        table.add_column(name, justify="right" if numeric else "left")
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    buffer = io.StringIO()
    Console(file=buffer, width=max(80, min(240, 12 * max(1, len(frame.columns)) + 20)), force_terminal=False).print(table)
    buffer.write(f"{frame.height} row{'s' if frame.height != 1 else ''}\n")
    return buffer.getvalue()


def write_result(frame: pl.DataFrame, fmt: str, output: Path | None, text: str | None) -> None:
    """Write the result in `fmt` to `output` (atomically) or to stdout."""
    if output is None:
        if text is None:
            text = _text_format(frame, fmt)
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if fmt == "parquet":
            frame.write_parquet(temp_name)
        elif fmt == "xlsx":
            frame.write_excel(temp_name, worksheet="result")
        else:
            Path(temp_name).write_text(text if text is not None else _text_format(frame, fmt), encoding="utf-8")
        os.replace(temp_name, output)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _text_format(frame: pl.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "json":
        return frame.write_json() + "\n"
    raise PulseError(f"unknown format '{fmt}'", "use table, csv, json, parquet or xlsx")
