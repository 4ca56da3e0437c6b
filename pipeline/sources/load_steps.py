"""The steps of loading one file that the staged and the direct CSV path share.

Matching the file's columns to the contract, the cast of every column, the
file's transaction (its earlier rows out; marks, bookkeeping and commit) and
the check that every value cast (see `all_cast`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.config import ColumnType, SourceConfig, did_you_mean
from pipeline.core.database import quote_ident
from pipeline.core.errors import InputError
from pipeline.core.paths import display_path
from pipeline.core.periods import now_utc

from . import dedupe, quarantine
from .casting import SQL_TYPES, NumberStyle, Profile, cast_expression, format_params, profile
from .csv_reader import Staged

UNTYPED = ("VARCHAR", "BLOB")


@dataclass(frozen=True)
class ExportFile:
    """An export file to load: where it is, its path in the project (as `_file` and in `_pulse_files`),
    what the file system says of it, and whether it sorts after every loaded file of its source."""

    source: str
    path: Path
    rel: str
    size: int
    mtime_ns: int
    append: bool  # the incremental path: it sorts after every file loaded before (see `dedupe.mark_file`)


@dataclass(frozen=True)
class FileLoaded:
    """One file loaded: its rows, what reading it found, its keys repeated within it, and its sha256."""

    rows: int
    staged: Staged
    repeated_keys: int
    sha256: str


@dataclass(frozen=True)
class Casts:
    """The INSERT's select list and, per typed column, its cast and raw text (for checks)."""

    selects: list[str]
    checks: list[tuple[str, str, str]]  # (contract column, cast SQL, raw text SQL)
    params: dict[str, object]


def match_columns(path: Path, name: str, source: SourceConfig, file_columns: list[str],
                  duplicates: tuple[str, ...], delimiter: str | None) -> dict[str, str]:
    """Contract column -> the file's column (case-insensitively); a required one missing is an error."""
    by_lower = {c.lower(): c for c in reversed(file_columns)}  # the first of duplicate names
    matched: dict[str, str] = {}
    for column, spec in source.columns.items():
        in_file = by_lower.get(column.lower())
        if in_file is not None and column.lower() in duplicates:
            raise InputError(f"{display_path(path)}: column '{column}' of source '{name}' appears more than once "
                             "in the header", "remove or rename the duplicate column in the export")
        if in_file is None and spec.required:
            hint = f"the file has {', '.join(file_columns)}"
            suggestion = did_you_mean(column, file_columns)
            if suggestion.startswith("did you mean"):  # else it would list the columns again
                hint += f"; {suggestion}"
            if delimiter and len(file_columns) == 1:
                hint += f"; read with delimiter {delimiter!r}: set options.delimiter if that is wrong"
            raise InputError(f"{display_path(path)}: required column '{column}' of source '{name}' is missing", hint)
        if in_file is not None:
            matched[column] = in_file
    return matched


def number_columns(source: SourceConfig, matched: dict[str, str], types: dict[str, str]) -> list[str]:
    """The file's text columns that hold contract integers or numbers."""
    return [f for c, f in matched.items()
            if source.columns[c].type in (ColumnType.INTEGER, ColumnType.NUMBER) and types[f] == "VARCHAR"]


def typed_columns(source: SourceConfig, matched: dict[str, str], types: dict[str, str]) -> dict[str, str]:
    """Contract column -> the file column's type, for the columns that are cast (not text)."""
    return {c: types[f] for c, f in matched.items() if source.columns[c].type is not ColumnType.TEXT}


def cast_all(source: SourceConfig, matched: dict[str, str], types: dict[str, str], style: NumberStyle | None,
             seen: Profile) -> Casts:
    params = format_params(source)
    if style is not None:
        params.update(style.params())
    selects: list[str] = []
    checks: list[tuple[str, str, str]] = []
    for column, spec in source.columns.items():
        in_file = matched.get(column)
        if in_file is None:
            selects.append(f"CAST(NULL AS {SQL_TYPES[spec.type]}) AS {quote_ident(column)}")
            continue
        plain = style is not None and style.decimal == "." and in_file not in seen.separators
        expr, raw_text = cast_expression(quote_ident(in_file), types[in_file], spec, source, plain)
        selects.append(f"{expr} AS {quote_ident(column)}")
        checks.append((column, expr, raw_text))
    return Casts(selects, checks, params)


def start_file(con, raw: str, name: str, rel: str, begin: bool = True) -> None:
    """Open the file's transaction (unless `begin` is false: one is open): its earlier rows and rejects go."""
    if begin:
        con.execute("BEGIN TRANSACTION")
    con.execute(f"DELETE FROM {raw} WHERE _file = $file", {"file": rel})
    quarantine.forget(con, name, rel)


def finish_file(con, source: SourceConfig, file: ExportFile, sha256: str, rows: int, staged: Staged) -> FileLoaded:
    """Mark what the file supersedes, record it in `_pulse_files` and commit."""
    loaded = FileLoaded(rows, staged, dedupe.mark_file(con, file.source, source, file.rel, file.append), sha256)
    record_files(con, [(file, loaded)])
    con.execute("COMMIT")
    return loaded


def record_files(con, loaded: list[tuple[ExportFile, FileLoaded]]) -> None:
    """Record the files in `_pulse_files`, in one statement (one per file costs milliseconds each)."""
    columns = {
        "source": [f.source for f, _ in loaded], "path": [f.rel for f, _ in loaded],
        "size": [f.size for f, _ in loaded], "mtime_ns": [f.mtime_ns for f, _ in loaded],
        "sha256": [done.sha256 for _, done in loaded], "rows": [done.rows for _, done in loaded],
        "skipped_headers": [done.staged.skipped_headers for _, done in loaded],
        "skipped_blank": [done.staged.skipped_blank for _, done in loaded],
        "duplicate_keys": [done.repeated_keys for _, done in loaded],
    }
    con.execute(
        "INSERT OR REPLACE INTO _pulse_files (source, path, size, mtime_ns, sha256, rows, loaded_at, "
        "skipped_headers, skipped_blank, duplicate_keys) SELECT unnest($source), unnest($path), unnest($size), "
        "unnest($mtime_ns), unnest($sha256), unnest($rows), $loaded_at, unnest($skipped_headers), "
        "unnest($skipped_blank), unnest($duplicate_keys)",
        {**columns, "loaded_at": now_utc()},
    )


def missing(column: str, file_type: str) -> str:
    """SQL: the file has no value here (typed columns: NULL; text: NULL or blank)."""
    col = quote_ident(column)
    if file_type in UNTYPED:
        return f"NULLIF(trim(CAST({col} AS VARCHAR)), '') IS NULL"
    return f"{col} IS NULL"


def all_cast(con, raw: str, rel: str, types: dict[str, str], table: str, params: dict,
             matched: dict[str, str] | None = None) -> bool:
    """Did every value of the rows just inserted from `rel` cast (typed columns)?

    A cast result is NULL exactly where the file had no value or a value that
    does not fit; so the NULLs per column, counted after the insert, must equal
    the file's missing values, counted in `table` (the staged file, or the
    file itself) only for the columns that have NULLs at all. `types` maps
    contract columns to file column types; `matched` to file column names
    (default: the same names).
    """
    if not types:
        return True
    columns = list(types)
    parts = ", ".join(f"count(*) - count({quote_ident(c)})" for c in columns)
    nulls = dict(zip(columns, con.execute(f"SELECT {parts} FROM {raw} WHERE _file = $f", {"f": rel}).fetchall()[0]))
    names = matched or {}
    with_nulls = {c: missing(names.get(c, c), t) for c, t in types.items() if nulls[c]}
    if not with_nulls:
        return True
    found = profile(con, with_nulls, [], table, params).present
    return all(found[c] == nulls[c] for c in with_nulls)


def rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # already rolled back
