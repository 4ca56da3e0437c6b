"""Ingest: load each source's export files into the project's DuckDB file.

For every source, files matching its globs (kept inside the project, see
`source_paths`) are read (see `readers` and `csv_reader`), their columns
matched to the source's column contract (case-insensitively), cast to the
contract's types (see `casting`) and appended to a raw table `_raw_<source>`
together with the file they came from. The source's own table keeps one row
per primary key: the one from the newest file (files sort by path, so name
monthly exports `sales_2026-10.csv` and the later month wins).

A value that does not cast stops the load with its file, line and column
(`on_bad_rows: fail`, the default), or with `on_bad_rows: quarantine` its row
is kept out and listed in `_pulse_rejects` (see `rejects`); rows are never
dropped silently. Empty and header-only files load no rows; rows repeating
the header (concatenated exports) are dropped and counted.

A later run re-reads only files whose size, modification time and content
hash changed; removed files drop out. A changed column contract or reader
option reloads the source.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from . import rejects as quarantine
from .casting import SQL_TYPES, NumberStyle, bad_value, bound, cast_expression, check_casts, format_params, number_style
from .config import ColumnType, ProjectConfig, SourceConfig, did_you_mean
from .csv_reader import remove_stale_temp_files
from .database import first_line, quote_ident
from .errors import InputError
from .readers import STAGE_TABLE, Staged, detect_format, stage_file
from .rejects import Reject, rejects
from .source_paths import expand
from .yamlfile import display_path

__all__ = ["FileLoad", "IngestReport", "Reject", "SQL_TYPES", "SourceSummary", "ingest", "latest_date", "rejects"]


@dataclass(frozen=True)
class FileLoad:
    """What ingest did with one export file."""

    source: str
    path: str
    status: str  # "loaded", "unchanged" or "removed"
    rows: int  # rows taken into the source's raw table
    sha256: str
    rejected: int = 0  # rows kept out (on_bad_rows: quarantine), listed by `rejects`
    skipped_headers: int = 0  # rows repeating the header, dropped
    skipped_blank: int = 0  # rows with every field empty (e.g. trailing ';;;;'), dropped


@dataclass(frozen=True)
class SourceSummary:
    """A source after ingest: its row count and a fingerprint of its files."""

    name: str
    rows: int
    fingerprint: str
    rejected: int = 0  # rows of its current files in quarantine


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileLoad, ...]
    sources: tuple[SourceSummary, ...]

    @property
    def loaded(self) -> list[FileLoad]:
        return [f for f in self.files if f.status == "loaded"]

    @property
    def rejected(self) -> dict[str, int]:
        """Rows in quarantine per source (sources without any are left out)."""
        return {s.name: s.rejected for s in self.sources if s.rejected}


def ingest(con: duckdb.DuckDBPyConnection, config: ProjectConfig, progress=None) -> IngestReport:
    """Bring every source's table up to date with its export files."""
    _ensure_bookkeeping(con)
    tmp_dir = config.workdir / "tmp"
    remove_stale_temp_files(tmp_dir)
    quarantine.forget_other_sources(con, list(config.sources))
    loads: list[FileLoad] = []
    summaries: list[SourceSummary] = []
    for name, source in config.sources.items():
        files = expand(config.root, name, source.paths, config.project.allow_outside_paths)
        loads.extend(_sync_source(con, config.root, tmp_dir, name, source, files, progress))
        summaries.append(_summarise(con, name))
    return IngestReport(files=tuple(loads), sources=tuple(summaries))


def _ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS _pulse_files (source VARCHAR, path VARCHAR, size BIGINT, "
        "mtime_ns BIGINT, sha256 VARCHAR, rows BIGINT, loaded_at TIMESTAMPTZ, PRIMARY KEY (source, path))"
    )
    con.execute("ALTER TABLE _pulse_files ADD COLUMN IF NOT EXISTS skipped_headers BIGINT DEFAULT 0")
    con.execute("ALTER TABLE _pulse_files ADD COLUMN IF NOT EXISTS skipped_blank BIGINT DEFAULT 0")
    con.execute("CREATE TABLE IF NOT EXISTS _pulse_contracts (source VARCHAR PRIMARY KEY, contract VARCHAR)")
    quarantine.ensure_table(con)


def _contract_text(source: SourceConfig) -> str:
    return json.dumps(
        {"columns": source.model_dump(mode="json")["columns"], "options": source.options.model_dump(mode="json"),
         "on_bad_rows": source.on_bad_rows},
        sort_keys=True,
    )


def _sync_source(con, root: Path, tmp_dir: Path, name: str, source: SourceConfig, files: list[Path],
                 progress) -> list[FileLoad]:
    raw = quote_ident(f"_raw_{name}")
    contract = _contract_text(source)
    known = con.execute("SELECT contract FROM _pulse_contracts WHERE source = $s", {"s": name}).fetchall()
    if not known or known[0][0] != contract:
        con.execute(f"DROP TABLE IF EXISTS {raw}")
        con.execute("DELETE FROM _pulse_files WHERE source = $s", {"s": name})
        quarantine.forget(con, name)
    column_defs = ", ".join(f"{quote_ident(c)} {SQL_TYPES[spec.type]}" for c, spec in source.columns.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {raw} ({column_defs}, _file VARCHAR, _row BIGINT)")
    con.execute(
        "INSERT OR REPLACE INTO _pulse_contracts VALUES ($s, $c)", {"s": name, "c": contract}
    )
    recorded = {
        row[0]: row[1:]
        for row in con.execute(
            "SELECT path, size, mtime_ns, sha256, rows, skipped_headers, skipped_blank FROM _pulse_files "
            "WHERE source = $s",
            {"s": name},
        ).fetchall()
    }
    loads: list[FileLoad] = []
    changed = False
    current = {_rel(root, f) for f in files}
    for gone in sorted(set(recorded) - current):
        con.execute(f"DELETE FROM {raw} WHERE _file = $f", {"f": gone})
        con.execute("DELETE FROM _pulse_files WHERE source = $s AND path = $p", {"s": name, "p": gone})
        quarantine.forget(con, name, gone)
        loads.append(FileLoad(name, gone, "removed", 0, recorded[gone][2]))
        changed = True
    try:
        for path in files:
            rel = _rel(root, path)
            try:
                stat = path.stat()
            except OSError as exc:
                raise _unreadable(path, exc) from None
            before = recorded.get(rel)
            if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
                loads.append(_unchanged(con, name, rel, before[3], before[2], before[4:]))
                continue
            digest = _sha256(path)
            if before and before[2] == digest:  # touched, not changed
                con.execute(
                    "UPDATE _pulse_files SET size = $z, mtime_ns = $m WHERE source = $s AND path = $p",
                    {"z": stat.st_size, "m": stat.st_mtime_ns, "s": name, "p": rel},
                )
                loads.append(_unchanged(con, name, rel, before[3], digest, before[4:]))
                continue
            if progress is not None:
                progress(f"reading {rel}")
            record = {"s": name, "p": rel, "z": stat.st_size, "m": stat.st_mtime_ns, "h": digest,
                      "t": datetime.now(timezone.utc)}
            rows, staged = _load_file(con, raw, tmp_dir, name, source, path, rel, record)
            loads.append(FileLoad(name, rel, "loaded", rows, digest, quarantine.rejected_rows(con, name, rel),
                                  staged.skipped_headers, staged.skipped_blank))
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


def _unchanged(con, name: str, rel: str, rows: int, digest: str, skipped: tuple) -> FileLoad:
    return FileLoad(name, rel, "unchanged", rows, digest, quarantine.rejected_rows(con, name, rel),
                    skipped[0] or 0, skipped[1] or 0)


def _rel(root: Path, path: Path) -> str:
    """The file's path as matched (a symlink keeps its own name), relative to the project."""
    lexical = os.path.normpath(os.path.abspath(path))
    for base in (os.path.normpath(os.path.abspath(root)), os.path.realpath(root)):
        try:
            return Path(lexical).relative_to(base).as_posix()
        except ValueError:
            continue
    return lexical


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    return digest.hexdigest()


def _unreadable(path: Path, exc: OSError) -> InputError:
    return InputError(f"{display_path(path)}: cannot read the file: {exc.strerror or exc}",
                      "check that it exists and that pulse may read it")


def _load_file(con, raw: str, tmp_dir: Path, name: str, source: SourceConfig, path: Path, rel: str,
               record: dict) -> tuple[int, Staged]:
    """Stage, type-check and append one file; its bookkeeping row and rejects commit with it."""
    fmt = detect_format(path, source.format)
    keep_out = source.on_bad_rows == "quarantine"
    staged = stage_file(con, path, fmt, source.options, tmp_dir, keep_out)
    if staged.empty:  # 0 bytes or blank: no rows, whatever the contract
        definitions = ", ".join(f"{quote_ident(c)} VARCHAR" for c in source.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} ({definitions}, _row BIGINT, _line BIGINT)")
        file_columns = list(source.columns)
    else:
        file_columns = staged.columns
    by_lower = {c.lower(): c for c in reversed(file_columns)}  # the first of duplicate names
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {STAGE_TABLE})").fetchall())
    selects: list[str] = []
    checks: list[tuple[str, str, str]] = []
    number_columns = []
    for column, spec in source.columns.items():
        in_file = by_lower.get(column.lower())
        if in_file is not None and column.lower() in staged.duplicate_columns:
            raise InputError(f"{display_path(path)}: column '{column}' of source '{name}' appears more than once "
                             "in the header", "remove or rename the duplicate column in the export")
        if in_file is None:
            if spec.required:
                hint = f"the file has {', '.join(file_columns)}"
                suggestion = did_you_mean(column, file_columns)
                if suggestion.startswith("did you mean"):  # else it would list the columns again
                    hint += f"; {suggestion}"
                if staged.delimiter and len(file_columns) == 1:
                    hint += f"; read with delimiter {staged.delimiter!r}: set options.delimiter if that is wrong"
                raise InputError(
                    f"{display_path(path)}: required column '{column}' of source '{name}' is missing", hint
                )
            selects.append(f"CAST(NULL AS {SQL_TYPES[spec.type]}) AS {quote_ident(column)}")
            continue
        if spec.type in (ColumnType.INTEGER, ColumnType.NUMBER) and types[in_file] == "VARCHAR":
            number_columns.append(in_file)
        expr, raw_text = cast_expression(quote_ident(in_file), types[in_file], spec, source)
        selects.append(f"{expr} AS {quote_ident(column)}")
        checks.append((column, expr, raw_text))
    style: NumberStyle | None = None
    params = format_params(source)
    if number_columns:
        style = number_style(con, path, name, source, number_columns, staged.delimiter)
        params.update(style.params())
    if not keep_out:
        check_casts(con, path, name, source, checks, params, style)
    any_bad = " OR ".join(bad_value(raw_text, expr) for _, expr, raw_text in checks) or "false"
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {raw} WHERE _file = $file", {"file": rel})
        quarantine.forget(con, name, rel)
        if keep_out:
            quarantine.record_unreadable(con, name, rel, staged.rejects)
            for column, expr, raw_text in checks:
                quarantine.record_bad_values(con, name, rel, column, bad_value(raw_text, expr), raw_text,
                                             f"not a valid {source.columns[column].type.value}", params)
        insert = (f"INSERT INTO {raw} SELECT {', '.join(selects)}, $file AS _file, _row FROM {STAGE_TABLE} "
                  f"WHERE NOT ({any_bad})")
        rows = con.execute(insert, {**bound(insert, params), "file": rel}).fetchall()[0][0]
        con.execute(
            "INSERT OR REPLACE INTO _pulse_files (source, path, size, mtime_ns, sha256, rows, loaded_at, "
            "skipped_headers, skipped_blank) VALUES ($s, $p, $z, $m, $h, $r, $t, $k, $b)",
            {**record, "r": rows, "k": staged.skipped_headers, "b": staged.skipped_blank},
        )
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise InputError(f"{display_path(path)}: cannot load into source '{name}': {first_line(exc)}") from None
    con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
    return rows, staged


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
    return SourceSummary(name=name, rows=rows, fingerprint=fingerprint, rejected=quarantine.rejected_rows(con, name))


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
