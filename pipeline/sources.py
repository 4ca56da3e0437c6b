"""Ingest: load each source's export files into the project's DuckDB file.

For every source, files matching its globs are read (see `readers`), their
columns matched to the source's column contract (case-insensitively), cast to
the contract's types and appended to a raw table `_raw_<source>` together with
the file they came from. The source's own table keeps one row per primary key:
the one from the newest file (files sort by path, so name monthly exports
`sales_2026-10.csv` and the later month wins).

A later run re-reads only files whose size, modification time and content
hash changed; removed files drop out. A changed column contract reloads the
source.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from .config import ColumnSpec, ColumnType, ProjectConfig, SourceConfig, did_you_mean
from .database import first_line, quote_ident
from .errors import InputError
from .readers import STAGE_TABLE, detect_format, stage_file
from .yamlfile import display_path

SQL_TYPES = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.NUMBER: "DOUBLE",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.BOOLEAN: "BOOLEAN",
}


@dataclass(frozen=True)
class FileLoad:
    """What ingest did with one export file."""

    source: str
    path: str
    status: str  # "loaded", "unchanged" or "removed"
    rows: int
    sha256: str


@dataclass(frozen=True)
class SourceSummary:
    """A source after ingest: its row count and a fingerprint of its files."""

    name: str
    rows: int
    fingerprint: str


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileLoad, ...]
    sources: tuple[SourceSummary, ...]

    @property
    def loaded(self) -> list[FileLoad]:
        return [f for f in self.files if f.status == "loaded"]


def ingest(con: duckdb.DuckDBPyConnection, config: ProjectConfig, progress=None) -> IngestReport:
    """Bring every source's table up to date with its export files."""
    _ensure_bookkeeping(con)
    loads: list[FileLoad] = []
    summaries: list[SourceSummary] = []
    for name, source in config.sources.items():
        files = _expand(config.root, name, source)
        loads.extend(_sync_source(con, config.root, name, source, files, progress))
        summaries.append(_summarise(con, name))
    return IngestReport(files=tuple(loads), sources=tuple(summaries))


def _ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS _pulse_files (source VARCHAR, path VARCHAR, size BIGINT, "
        "mtime_ns BIGINT, sha256 VARCHAR, rows BIGINT, loaded_at TIMESTAMPTZ, PRIMARY KEY (source, path))"
    )
    con.execute("CREATE TABLE IF NOT EXISTS _pulse_contracts (source VARCHAR PRIMARY KEY, contract VARCHAR)")


def _expand(root: Path, name: str, source: SourceConfig) -> list[Path]:
    found: set[Path] = set()
    for pattern in source.paths:
        full = pattern if Path(pattern).is_absolute() else str(root / pattern)
        matches = [Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file()]
        if not matches:
            folder = Path(full).parent
            if not folder.exists():
                raise InputError(
                    f"sources.{name}: export folder {display_path(folder)} does not exist",
                    "create it and put the exports there, or fix 'paths' in config/sources.yaml",
                )
        found.update(matches)
    if not found:
        raise InputError(
            f"sources.{name}: no export files match {', '.join(source.paths)}",
            "check the file names and 'paths' in config/sources.yaml",
        )
    return sorted(found)


def _contract_text(source: SourceConfig) -> str:
    return json.dumps(
        {"columns": source.model_dump(mode="json")["columns"], "options": source.options.model_dump(mode="json")},
        sort_keys=True,
    )


def _sync_source(con, root: Path, name: str, source: SourceConfig, files: list[Path], progress) -> list[FileLoad]:
    raw = quote_ident(f"_raw_{name}")
    contract = _contract_text(source)
    known = con.execute("SELECT contract FROM _pulse_contracts WHERE source = $s", {"s": name}).fetchall()
    if not known or known[0][0] != contract:
        con.execute(f"DROP TABLE IF EXISTS {raw}")
        con.execute("DELETE FROM _pulse_files WHERE source = $s", {"s": name})
    column_defs = ", ".join(f"{quote_ident(c)} {SQL_TYPES[spec.type]}" for c, spec in source.columns.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {raw} ({column_defs}, _file VARCHAR, _row BIGINT)")
    con.execute(
        "INSERT OR REPLACE INTO _pulse_contracts VALUES ($s, $c)", {"s": name, "c": contract}
    )
    recorded = {
        row[0]: row[1:]
        for row in con.execute(
            "SELECT path, size, mtime_ns, sha256, rows FROM _pulse_files WHERE source = $s", {"s": name}
        ).fetchall()
    }
    loads: list[FileLoad] = []
    changed = False
    current = {_rel(root, f) for f in files}
    for gone in sorted(set(recorded) - current):
        con.execute(f"DELETE FROM {raw} WHERE _file = $f", {"f": gone})
        con.execute("DELETE FROM _pulse_files WHERE source = $s AND path = $p", {"s": name, "p": gone})
        loads.append(FileLoad(name, gone, "removed", 0, recorded[gone][2]))
        changed = True
    try:
        for path in files:
            rel = _rel(root, path)
            stat = path.stat()
            before = recorded.get(rel)
            if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
                loads.append(FileLoad(name, rel, "unchanged", before[3], before[2]))
                continue
            digest = _sha256(path)
            if before and before[2] == digest:  # touched, not changed
                con.execute(
                    "UPDATE _pulse_files SET size = $z, mtime_ns = $m WHERE source = $s AND path = $p",
                    {"z": stat.st_size, "m": stat.st_mtime_ns, "s": name, "p": rel},
                )
                loads.append(FileLoad(name, rel, "unchanged", before[3], digest))
                continue
            if progress is not None:
                progress(f"reading {rel}")
            record = {"s": name, "p": rel, "z": stat.st_size, "m": stat.st_mtime_ns, "h": digest,
                      "t": datetime.now(timezone.utc)}
            rows = _load_file(con, raw, name, source, path, rel, record)
            loads.append(FileLoad(name, rel, "loaded", rows, digest))
            changed = True
    except Exception:
        # files loaded (or dropped) before the failure are committed and recorded,
        # so a later run sees them as unchanged: bring the table in step now
        if changed:
            _rebuild_table(con, name, source, raw)
        raise
    table_exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = $t AND NOT temporary", {"t": name}
    ).fetchall()[0][0]
    if changed or not table_exists:
        _rebuild_table(con, name, source, raw)
    return loads


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_file(con, raw: str, name: str, source: SourceConfig, path: Path, rel: str, record: dict) -> int:
    """Stage, type-check and append one file; its bookkeeping row commits with it."""
    fmt = detect_format(path, source.format)
    file_columns = stage_file(con, path, fmt, source.options)
    by_lower = {c.lower(): c for c in file_columns}
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {STAGE_TABLE})").fetchall())
    selects: list[str] = []
    checks: list[tuple[str, str, str]] = []
    for column, spec in source.columns.items():
        in_file = by_lower.get(column.lower())
        if in_file is None:
            if spec.required:
                hint = f"the file has {', '.join(file_columns)}"
                suggestion = did_you_mean(column, file_columns)
                if suggestion.startswith("did you mean"):  # else it would list the columns again
                    hint += f"; {suggestion}"
                raise InputError(
                    f"{display_path(path)}: required column '{column}' of source '{name}' is missing", hint
                )
            selects.append(f"CAST(NULL AS {SQL_TYPES[spec.type]}) AS {quote_ident(column)}")
            continue
        expr, raw_text = _cast_expression(quote_ident(in_file), types[in_file], spec, source)
        selects.append(f"{expr} AS {quote_ident(column)}")
        checks.append((column, expr, raw_text))
    params = _format_params(source)
    _check_casts(con, path, name, source, checks, params)
    rows = con.execute(f"SELECT count(*) FROM {STAGE_TABLE}").fetchall()[0][0]
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {raw} WHERE _file = $file", {"file": rel})
        con.execute(
            f"INSERT INTO {raw} SELECT {', '.join(selects)}, $file AS _file, _row FROM {STAGE_TABLE}",
            {**params, "file": rel},
        )
        con.execute("INSERT OR REPLACE INTO _pulse_files VALUES ($s, $p, $z, $m, $h, $r, $t)", {**record, "r": rows})
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise InputError(f"{display_path(path)}: cannot load into source '{name}': {first_line(exc)}") from None
    con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
    return rows


def _format_params(source: SourceConfig) -> dict[str, object]:
    params: dict[str, object] = {}
    if source.options.date_format and any(s.type is ColumnType.DATE for s in source.columns.values()):
        params["date_format"] = source.options.date_format
    if source.options.timestamp_format and any(s.type is ColumnType.TIMESTAMP for s in source.columns.values()):
        params["timestamp_format"] = source.options.timestamp_format
    return params


def _cast_expression(col: str, file_type: str, spec: ColumnSpec, source: SourceConfig) -> tuple[str, str]:
    """SQL turning the file's column into the contract type, and its raw text form."""
    text = f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"
    kind = spec.type
    if kind is ColumnType.TEXT:
        return f"NULLIF(CAST({col} AS VARCHAR), '')", text
    if kind in (ColumnType.INTEGER, ColumnType.NUMBER):
        target = SQL_TYPES[kind]
        if file_type == "VARCHAR" and source.options.decimal == ",":
            return f"TRY_CAST(replace(replace({text}, '.', ''), ',', '.') AS {target})", text
        if file_type == "VARCHAR":
            return f"TRY_CAST({text} AS {target})", text
        return f"TRY_CAST({col} AS {target})", text
    if kind is ColumnType.BOOLEAN:
        return f"TRY_CAST({text} AS BOOLEAN)", text
    if kind is ColumnType.DATE:
        if source.options.date_format and file_type == "VARCHAR":
            return f"CAST(try_strptime({text}, $date_format) AS DATE)", text
        return f"TRY_CAST({text} AS DATE)", text
    # timestamps: text with an offset is converted to the session (reporting)
    # time zone; naive text is taken as already in it
    if source.options.timestamp_format and file_type == "VARCHAR":
        return f"CAST(try_strptime({text}, $timestamp_format) AS TIMESTAMP)", text
    return f"CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP)", text


def _check_casts(con, path: Path, name: str, source: SourceConfig, checks, params) -> None:
    if not checks:
        return
    parts = []
    for _, expr, raw_text in checks:
        bad = f"({raw_text} IS NOT NULL AND {expr} IS NULL)"
        parts.append(f"min(_row) FILTER (WHERE {bad})")
    row = con.execute(f"SELECT {', '.join(parts)} FROM {STAGE_TABLE}", params).fetchall()[0]
    for (column, _, raw_text), first_bad in zip(checks, row):
        if first_bad is None:
            continue
        value = con.execute(
            f"SELECT {raw_text} FROM {STAGE_TABLE} WHERE _row = $r", {"r": first_bad}
        ).fetchall()[0][0]
        spec = source.columns[column]
        line = first_bad + (1 if source.options.header else 0) + source.options.skip_rows
        hint = "fix the value or the column's type in config/sources.yaml"
        if spec.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
            hint = (
                f"dates are read as ISO (2026-10-31) unless the source declares options.{spec.type.value}_format "
                "(e.g. '%d-%m-%Y'); Pulse never guesses day-first vs year-first"
            )
        elif source.options.decimal != "," and "," in str(value):
            hint = "if the file uses decimal commas, set options.decimal: ',' on the source"
        raise InputError(
            f"{display_path(path)}:{line}: column '{column}' of source '{name}': "
            f"'{value}' is not a valid {spec.type.value}",
            hint,
        )


def _rebuild_table(con, name: str, source: SourceConfig, raw: str) -> None:
    columns = ", ".join(quote_ident(c) for c in source.columns)
    table = quote_ident(name)
    if source.primary_key:
        keys = ", ".join(quote_ident(c) for c in source.primary_key)
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} FROM {raw} "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _file DESC, _row DESC) = 1 "
            f"ORDER BY {keys}"
        )
    else:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} FROM {raw} ORDER BY _file, _row")


def _summarise(con, name: str) -> SourceSummary:
    rows = con.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchall()[0][0]
    hashes = con.execute(
        "SELECT path, sha256 FROM _pulse_files WHERE source = $s ORDER BY path", {"s": name}
    ).fetchall()
    fingerprint = hashlib.sha256(json.dumps(hashes).encode()).hexdigest()
    return SourceSummary(name=name, rows=rows, fingerprint=fingerprint)


def latest_date(con: duckdb.DuckDBPyConnection, config: ProjectConfig) -> date | None:
    """The latest date found in any source's date or timestamp columns."""
    latest = None
    for name, source in config.sources.items():
        columns = [c for c, s in source.columns.items() if s.type in (ColumnType.DATE, ColumnType.TIMESTAMP)]
        if not columns:
            continue
        parts = ", ".join(f"max(CAST({quote_ident(c)} AS DATE))" for c in columns)
        row = con.execute(f"SELECT greatest({parts}) FROM {quote_ident(name)}").fetchall()[0]
        if row[0] is not None and (latest is None or row[0] > latest):
            latest = row[0]
    return latest
