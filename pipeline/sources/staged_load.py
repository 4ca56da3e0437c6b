"""Load one export file into its source's raw table: stage, type-check, insert, mark.

The file is staged as it is (see `formats`), its columns matched to the
contract and cast (see `casting`). With `on_bad_rows: fail` the rows are
inserted in one pass and the cast checked afterwards: a cast value is NULL
exactly where the file had no value or one that does not fit, so equal counts
of NULLs and of missing values per column mean every value fitted; otherwise
the transaction is rolled back and the first bad value named by file, line and
column. With `quarantine` the bad values are recorded and their rows kept out.
Plain CSV files are inserted straight from DuckDB's reader (see `direct_load`);
anything unusual about them takes this staged path. The file's bookkeeping row,
its rejects and the superseded marks (see `dedupe`) commit with its rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.config import SourceConfig
from pipeline.core.database import first_line, quote_ident
from pipeline.core.errors import InputError
from pipeline.core.paths import display_path

from . import dedupe, quarantine
from .casting import bad_value, bound, check_casts, number_style, profile
from .csv_reader import STAGE_TABLE, drop_stage
from .formats import detect_format, stage_file
from .load_steps import (
    ExportFile,
    FileLoaded,
    all_cast,
    cast_all,
    finish_file,
    match_columns,
    number_columns,
    rollback,
    start_file,
    typed_columns,
)


def load_file(con: duckdb.DuckDBPyConnection, tmp_dir: Path, source: SourceConfig, file: ExportFile, sha256: str,
              data: bytes | None = None) -> FileLoaded:
    """Stage, type-check and append one file (`data`: its bytes, when already read)."""
    name, path, rel = file.source, file.path, file.rel
    fmt = detect_format(path, source.format)
    keep_out = source.on_bad_rows == "quarantine"
    raw = dedupe.raw_table(name)
    staged = stage_file(con, path, fmt, source.options, tmp_dir, keep_out, data)
    if staged.empty:  # 0 bytes or blank: no rows, whatever the contract
        definitions = ", ".join(f"{quote_ident(c)} VARCHAR" for c in source.columns)
        drop_stage(con)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} ({definitions}, _row BIGINT, _line BIGINT)")
        file_columns = list(source.columns)
    else:
        file_columns = staged.columns
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {STAGE_TABLE})").fetchall())
    matched = match_columns(path, name, source, file_columns, staged.duplicate_columns, staged.delimiter)
    numbers = number_columns(source, matched, types)
    seen = profile(con, {}, numbers)
    style = number_style(con, path, name, source, numbers, staged.delimiter, seen) if numbers else None
    casts = cast_all(source, matched, types, style, seen)
    names = ", ".join(quote_ident(c) for c in source.columns)
    where = ""
    if keep_out:
        any_bad = " OR ".join(bad_value(raw_text, expr) for _, expr, raw_text in casts.checks) or "false"
        where = f" WHERE NOT ({any_bad})"
    insert = (f"INSERT INTO {raw} ({names}, _file) SELECT {', '.join(casts.selects)}, $file AS _file "
              f"FROM {STAGE_TABLE}{where}")
    params = casts.params
    try:
        start_file(con, raw, name, rel)
        if keep_out:
            quarantine.record_unreadable(con, name, rel, staged.rejects)
            for column, expr, raw_text in casts.checks:
                quarantine.record_bad_values(con, name, rel, column, bad_value(raw_text, expr), raw_text,
                                             f"not a valid {source.columns[column].type.value}", params)
        rows = con.execute(insert, {**bound(insert, params), "file": rel}).fetchall()[0][0]
        if not keep_out and not all_cast(con, raw, rel, typed_columns(source, matched, types), STAGE_TABLE, {},
                                         matched):
            con.execute("ROLLBACK")
            check_casts(con, path, name, source, casts.checks, params, style)  # names the first bad value
            raise InputError(f"{display_path(path)}: a value of source '{name}' does not fit its column type",
                             "check the column types in config/sources.yaml")
        loaded = finish_file(con, source, file, sha256, rows, staged)
    except duckdb.Error as exc:
        rollback(con)
        raise InputError(f"{display_path(path)}: cannot load into source '{name}': {first_line(exc)}") from None
    drop_stage(con)
    return loaded
