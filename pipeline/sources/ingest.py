"""Ingest: load each source's export files into the project's DuckDB file.

For every source, files matching its globs (kept inside the project, see
`paths`) are read (see `formats` and `csv_reader`), their columns
matched to the source's column contract (case-insensitively), cast to the
contract's types (see `casting`) and appended to a raw table `_raw_<source>`
together with the file they came from (see `staged_load` and `direct_load`). The source's own name
is a view showing one row per primary key: the one from the newest file (files
sort by path, so name monthly exports `sales_2026-10.csv` and the later month
wins; see `dedupe`). A new file sorting after the loaded ones is added
incrementally; other changes recompute which row wins for every key.

A value that does not cast stops the load with its file, line and column
(`on_bad_rows: fail`, the default), or with `on_bad_rows: quarantine` its row
is kept out and listed in `_pulse_rejects` (see `quarantine`); rows are never
dropped silently. Empty and header-only files load no rows; rows repeating
the header (concatenated exports) are dropped and counted.

A later run re-reads only files whose size, modification time and content
hash changed; removed files drop out. A changed column contract or reader
option reloads the source. `SourceSummary.path` says what a run did to a
source: "unchanged", "initial" (first load), "incremental" (only new files,
each sorting after the loaded ones) or "rebuild".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.config import ProjectConfig, SourceConfig
from pipeline.core import tables
from pipeline.core.database import quote_ident
from pipeline.core.engine import FileLoad, IngestReport, SourceSummary
from pipeline.core.errors import InputError, PulseError
from pipeline.core.paths import display_path

from . import dedupe, direct_load, quarantine
from .casting import SQL_TYPES
from .coverage import SourceRange, source_range
from .csv_reader import remove_stale_temp_files
from .formats import detect_format
from .load_steps import ExportFile
from .paths import match_paths, project_relative
from .quarantine import Reject, rejects
from .staged_load import load_file

__all__ = ["FileLoad", "IngestReport", "Reject", "SQL_TYPES", "SourceRange", "SourceSummary", "ingest", "ingest_each",
           "rejects"]


@dataclass(frozen=True)
class RecordedFile:
    """A file as `_pulse_files` recorded it when it was last loaded."""

    size: int
    mtime_ns: int
    sha256: str
    rows: int
    skipped_headers: int | None
    skipped_blank: int | None


@dataclass(frozen=True)
class Pending:
    """A file to load, and its place among the source's files in the ingest report."""

    slot: int
    file: ExportFile


def ingest(con: duckdb.DuckDBPyConnection, config: ProjectConfig, progress=None) -> IngestReport:
    """Bring every source's table up to date with its export files; the first problem is raised."""
    return _ingest(con, config, progress, keep_going=False)[0]


def ingest_each(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                progress=None) -> tuple[IngestReport, dict[str, list[PulseError]]]:
    """Every source that can be loaded, loaded; the problems of each other source (for `pulse validate`):
    every path pattern's problem, else the first problem of its files."""
    return _ingest(con, config, progress, keep_going=True)


def _ingest(con: duckdb.DuckDBPyConnection, config: ProjectConfig, progress,
            keep_going: bool) -> tuple[IngestReport, dict[str, list[PulseError]]]:
    tables.ensure(con, *tables.INGEST)
    # one checkpoint at the end instead of one per large commit (each file commits on its own)
    con.execute("SET checkpoint_threshold = '16GB'")
    tmp_dir = config.workdir / "tmp"
    remove_stale_temp_files(tmp_dir)
    if not keep_going:  # pulse validate may see a config with a source left out for its errors: keep its records
        quarantine.forget_other_sources(con, list(config.sources))
    loads: list[FileLoad] = []
    summaries: list[SourceSummary] = []
    problems: dict[str, list[PulseError]] = {}
    for name, source in config.sources.items():
        files, found = match_paths(config.root, name, source.paths, config.project.allow_outside_paths)
        if found and not keep_going:
            raise found[0]
        if found:
            problems[name] = list(found)
            continue
        try:
            synced, how = _sync_source(con, config.root, tmp_dir, name, source, files, progress)
        except PulseError as exc:
            if not keep_going:
                raise
            problems[name] = [exc]
            continue
        loads.extend(synced)
        summaries.append(_summarise(con, name, source, how, config.project.timezone))
    con.execute("RESET checkpoint_threshold")
    if any(f.status != "unchanged" for f in loads):
        # write the loaded rows into their final layout now: queries then read the same
        # storage as every later run (same scan order, so the same floating-point sums)
        con.execute("CHECKPOINT")
    return IngestReport(files=tuple(loads), sources=tuple(summaries)), problems




def _contract_text(source: SourceConfig) -> str:
    return json.dumps(
        {"columns": source.model_dump(mode="json")["columns"], "options": source.options.model_dump(mode="json"),
         "on_bad_rows": source.on_bad_rows, "primary_key": source.primary_key, "layout": tables.STORAGE_LAYOUT},
        sort_keys=True,
    )


def _sync_source(con, root: Path, tmp_dir: Path, name: str, source: SourceConfig, files: list[Path],
                 progress) -> tuple[list[FileLoad], str]:
    """Bring one source up to date; return what happened per file and the path taken."""
    raw = dedupe.raw_table(name)
    contract = _contract_text(source)
    known = con.execute("SELECT contract, rebuilding FROM _pulse_contracts WHERE source = $s",
                        {"s": name}).fetchall()
    if not known or known[0][0] != contract:
        con.execute(f"DROP TABLE IF EXISTS {raw}")
        con.execute("DELETE FROM _pulse_files WHERE source = $s", {"s": name})
        quarantine.forget(con, name)
    column_defs = ", ".join(f"{quote_ident(c)} {SQL_TYPES[spec.type]}" for c, spec in source.columns.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {raw} ({column_defs}, _file VARCHAR, _superseded BOOLEAN DEFAULT false)")
    same = bool(known) and known[0][0] == contract
    interrupted = same and bool(known[0][1])
    if not same:  # an unchanged project writes nothing here (no checkpoint needed when it closes)
        con.execute("INSERT OR REPLACE INTO _pulse_contracts (source, contract, rebuilding) VALUES ($s, $c, false)",
                    {"s": name, "c": contract})
    if not same or not dedupe.view_exists(con, name):
        dedupe.ensure_view(con, name, source)
    recorded = {
        row[0]: RecordedFile(*row[1:])
        for row in con.execute(
            "SELECT path, size, mtime_ns, sha256, rows, skipped_headers, skipped_blank FROM _pulse_files "
            "WHERE source = $s",
            {"s": name},
        ).fetchall()
    }
    loads: list[FileLoad] = []
    rejected = quarantine.rejected_by_file(con, name)
    current = {project_relative(root, f) for f in files}
    gone = sorted(set(recorded) - current)
    rebuild = interrupted or bool(gone)
    if rebuild:
        _start_rebuild(con, name)
    for rel in gone:
        con.execute(f"DELETE FROM {raw} WHERE _file = $f", {"f": rel})
        con.execute("DELETE FROM _pulse_files WHERE source = $s AND path = $p", {"s": name, "p": rel})
        quarantine.forget(con, name, rel)
        loads.append(FileLoad(name, rel, "removed", 0, recorded[rel].sha256))
    last_loaded = max((p for p in recorded if p in current), default=None)
    todo: list[Pending] = []
    try:
        for path in files:
            rel = project_relative(root, path)
            try:
                stat = path.stat()
            except OSError as exc:
                raise _unreadable(path, exc) from None
            before = recorded.get(rel)
            if before and before.size == stat.st_size and before.mtime_ns == stat.st_mtime_ns:
                loads.append(_unchanged(name, rel, before, rejected))
                continue
            if before and before.sha256 == _digest(path):  # touched, not changed
                con.execute(
                    "UPDATE _pulse_files SET size = $size, mtime_ns = $mtime_ns WHERE source = $source AND path = $path",
                    {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "source": name, "path": rel},
                )
                loads.append(_unchanged(name, rel, before, rejected))
                continue
            append = not rebuild and before is None and (last_loaded is None or rel > last_loaded)
            if not append and not rebuild:  # changed, or sorts before a loaded file: recompute the winners
                rebuild = True
                _start_rebuild(con, name)
            last_loaded = rel if last_loaded is None or rel > last_loaded else last_loaded
            todo.append(Pending(len(loads), ExportFile(name, path, rel, stat.st_size, stat.st_mtime_ns, append)))
            loads.append(FileLoad(name, rel, "loaded", 0, ""))  # filled in below
        _load_all(con, tmp_dir, name, source, todo, loads, progress)
    finally:
        # files loaded (or dropped) before a failure are committed and recorded, so
        # a later run sees them as unchanged: bring the marks in step now
        if rebuild:
            dedupe.rebuild(con, name, source)
            con.execute("UPDATE _pulse_contracts SET rebuilding = false WHERE source = $s", {"s": name})
    if rebuild:
        return loads, "rebuild"
    return loads, ("initial" if not recorded else "incremental") if todo else "unchanged"


def _load_all(con, tmp_dir: Path, name: str, source: SourceConfig, todo: list[Pending], loads: list[FileLoad],
              progress) -> None:
    """Load the files to load, in path order: runs of plain CSV or Parquet files together (see `direct_load`),
    others one by one (staged, see `staged_load`)."""
    direct = source.on_bad_rows == "fail"
    alone_until = 0  # after a run that was not plain, try its files one at a time
    index = 0
    while index < len(todo):
        slot, file = todo[index].slot, todo[index].file
        fmt = detect_format(file.path, source.format)
        if direct and fmt in ("csv", "parquet"):
            run = [todo[index]]
            while index >= alone_until and file.append and index + len(run) < len(todo) \
                    and todo[index + len(run)].file.append \
                    and detect_format(todo[index + len(run)].file.path, source.format) == fmt:
                run.append(todo[index + len(run)])
            heads, plain = direct_load.plain_run(con, [p.file for p in run], source, fmt)
            if plain and progress is not None:
                progress(f"reading {file.rel}" if len(plain) == 1 else f"reading {len(plain)} files of {name}")
            done = direct_load.load(con, source, plain, heads) if plain else None
            if done is not None:
                for pending, loaded in zip(run, done):
                    loads[pending.slot] = FileLoad(name, pending.file.rel, "loaded", loaded.rows, loaded.sha256, 0,
                                                   loaded.staged.skipped_headers, loaded.staged.skipped_blank)
                index += len(done)
                continue
            if len(plain) > 1:  # one of them is not plain: try each alone
                alone_until = index + len(plain)
                continue
        if progress is not None:
            progress(f"reading {file.rel}")
        data = _read(file.path)
        loaded = load_file(con, tmp_dir, source, file, hashlib.sha256(data).hexdigest(), data)
        del data
        loads[slot] = FileLoad(name, file.rel, "loaded", loaded.rows, loaded.sha256,
                               quarantine.rejected_rows(con, name, file.rel), loaded.staged.skipped_headers,
                               loaded.staged.skipped_blank)
        index += 1


def _start_rebuild(con, name: str) -> None:
    """Note the rebuild first, so a run killed half-way still recomputes the marks next time."""
    con.execute("UPDATE _pulse_contracts SET rebuilding = true WHERE source = $s", {"s": name})


def _unchanged(name: str, rel: str, before: RecordedFile, rejected: dict[str, int]) -> FileLoad:
    return FileLoad(name, rel, "unchanged", before.rows, before.sha256, rejected.get(rel, 0),
                    before.skipped_headers or 0, before.skipped_blank or 0)



def _digest(path: Path) -> str:
    try:
        return direct_load.sha256(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _read(path: Path) -> bytes:
    """The file's bytes (hashed, and parsed from memory when it is CSV)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: OSError) -> InputError:
    return InputError(f"{display_path(path)}: cannot read the file: {exc.strerror or exc}",
                      "check that it exists and that pulse may read it")


def _summarise(con, name: str, source: SourceConfig, how: str, timezone: str) -> SourceSummary:
    rows = con.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchall()[0][0]
    hashes = con.execute(
        "SELECT path, sha256 FROM _pulse_files WHERE source = $s ORDER BY path", {"s": name}
    ).fetchall()
    fingerprint = hashlib.sha256(json.dumps(hashes).encode()).hexdigest()
    covered = source_range(con, name, source, fingerprint + _contract_text(source), timezone)
    return SourceSummary(name=name, rows=rows, fingerprint=fingerprint, rejected=quarantine.rejected_rows(con, name),
                         path=how, coverage=covered)
