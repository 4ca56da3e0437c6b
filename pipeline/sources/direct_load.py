"""Insert plain CSV and Parquet files straight from DuckDB's readers into their raw table, unstaged.

Most exports are plain: UTF-8 CSV or Parquet, the same header (schema) in
every monthly file, no repeated header lines or blank rows, numbers with a
decimal point and no thousands separators, every value fitting its column.
Such files (one, or a run of new ones read alike) are read once, by a single
INSERT that casts and stores them all (DuckDB reads the files in parallel),
and checked afterwards on what was stored, per file:

- the number style: values with a comma, a space or an apostrophe do not
  cast as plain numbers, so the cast check below sends such a file back;
  one value that can only have a decimal point (found by a query that stops
  at the first) rules out the ambiguous "1.234" case; without any dot or
  comma nothing needs interpreting (a source whose number columns all hold
  integers has only its first rows looked at: with no separator there, its
  numbers must be digits only, so one with a separator sends the file back);
- every value cast: NULLs after the cast equal the file's missing values
  (see `load_steps.all_cast`);
- (CSV) no row is blank (every contract column NULL) and none repeats the
  header (its first text column equal to its name): either would have been
  dropped. Both are looked for only where they can be: a file in which some
  column has no NULL has no blank row, and a repeated header would have
  failed the cast of a number column named with letters.

Parquet files qualify when their number columns are typed (numbers stored as
text take the staged path, which detects their style).

Only the head of a file is decoded in Python (DuckDB checks the rest is UTF-8
as it reads); files are hashed in threads while DuckDB works. Whenever
something is not plain (a number style that needs every value looked at, a
source without text columns, a suspect row, a value that does not fit, a row
DuckDB cannot parse) nothing is kept and None is returned: the staged path
then loads each file, or names the problem, exactly as it always does.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.config import ColumnType, SourceConfig
from pipeline.core.database import quote_ident
from pipeline.core.errors import InputError

from . import dedupe
from .casting import (
    DOT_SQL,
    NumberStyle,
    Profile,
    bound,
    declared_style,
    detected_style,
    detection_params,
    number_values,
    quick_style,
)
from .csv_reader import HEAD_BYTES, READ_CSV, CsvFile, Staged, header_field, prepare_head
from .load_steps import (
    ExportFile,
    FileLoaded,
    cast_all,
    match_columns,
    missing,
    number_columns,
    record_files,
    rollback,
    start_file,
)

TABLE = f"{READ_CSV})"
PROBE_BUFFER = 1 << 20  # bytes per read while looking for the first number with a separator
PROBE_THREADS = 2  # files probed at once
PROBE_ROWS = 10_000  # rows of a file with only integer columns looked at for separators (see _point_style)
DIGITS_ONLY = NumberStyle(".", (), detected=True, digits_only=True)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ParquetFile:
    """A Parquet file's schema, as its reader gives it."""

    columns: list[str]
    types: dict[str, str]
    duplicates: tuple[str, ...]
    names: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None


def plain_run(con, files: list[ExportFile], source: SourceConfig, fmt: str) -> tuple[list, list[ExportFile]]:
    """The leading files that can be read together (plain UTF-8 heads or Parquet schemas, all alike)."""
    found: list = []
    for new in files:
        try:
            head = _csv_head(con, new.path, source) if fmt == "csv" else _parquet_head(con, new.path)
        except (OSError, duckdb.Error):
            break
        if head is None or (found and not _same_reading(found[0], head)):
            break
        found.append(head)
    return found, files[:len(found)]


def _csv_head(con, path: Path, source: SourceConfig) -> CsvFile | None:
    with path.open("rb") as handle:
        return prepare_head(con, path, handle.read(HEAD_BYTES), source.options)


def _parquet_head(con, path: Path) -> ParquetFile | None:
    if not path.stat().st_size:
        return None
    described = con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($path))",
                            {"path": str(path)}).fetchall()
    columns = [c for c, _ in described]
    lowered = [c.lower() for c in columns]
    duplicates = tuple(sorted({c for c in lowered if lowered.count(c) > 1}))
    return ParquetFile(columns, dict(described), duplicates, names=columns)


def _same_reading(a, b) -> bool:
    return (type(a) is type(b) and a.names == b.names and getattr(a, "types", None) == getattr(b, "types", None)
            and {k: v for k, v in a.params.items() if k != "path"} == {k: v for k, v in b.params.items() if k != "path"})


def load(con: duckdb.DuckDBPyConnection, source: SourceConfig, files: list[ExportFile],
         heads: list) -> list[FileLoaded] | None:
    """Load `files` (of one source, read alike, see `plain_run`) in one transaction; what each file
    gave, or None when they are not all plain (then nothing was kept)."""
    with ThreadPoolExecutor(2) as hashing:
        digests = [hashing.submit(sha256, f.path) for f in files]
        try:
            done = _insert(con, source, files, heads, digests)
        except (duckdb.Error, InputError, OSError):
            done = None
        if done is None:
            rollback(con)
            con.execute("RESET preserve_insertion_order")  # an unordered insert may have stopped half-way
        return done


def _insert(con, source: SourceConfig, files: list[ExportFile], heads: list, digests) -> list[FileLoaded] | None:
    name, append = files[0].source, files[0].append
    first = heads[0]
    parquet = isinstance(first, ParquetFile)
    paths = [str(f.path) for f in files]
    file_columns = first.columns
    matched = match_columns(files[0].path, name, source, file_columns, first.duplicates, first.delimiter)
    types = first.types if parquet else {c: "VARCHAR" for c in file_columns}
    numbers = number_columns(source, matched, types)
    texts = {c: first.names[file_columns.index(f)] for c, f in matched.items()
             if source.columns[c].type is ColumnType.TEXT}
    read = {k: v for k, v in first.params.items() if k not in ("offset", "path")}
    declared = declared_style(source.options, numbers) if numbers else None
    style = declared
    if numbers and declared is None and not parquet:
        integers = all(source.columns[c].type is ColumnType.INTEGER for c, f in matched.items() if f in numbers)
        styles = _point_styles(con, source.options, numbers, first.delimiter, read, paths, integers)
        style = styles.pop() if len(styles) == 1 else None
    if (not texts and not parquet) or (numbers and style is None):
        return None  # a repeated header would not show, or the numbers need every value looked at
    reader = "read_parquet($path, filename = true)" if parquet else f"{READ_CSV}, filename = true)"
    # plain numbers unless the source declares its style (then separators are expected)
    casts = cast_all(source, matched, types, style, Profile({}, separators=frozenset(numbers) if declared else frozenset()))
    raw = dedupe.raw_table(name)
    names = ", ".join(quote_ident(c) for c in source.columns)
    rel_of = {f"p{i}": p for i, p in enumerate(paths)} | {f"r{i}": f.rel for i, f in enumerate(files)}
    which = "CASE filename " + " ".join(f"WHEN $p{i} THEN $r{i}" for i in range(len(files))) + " END"
    insert = f"INSERT INTO {raw} ({names}, _file) SELECT {', '.join(casts.selects)}, {which} AS _file FROM {reader}"
    params = bound(insert, {**casts.params, **read, **rel_of})
    batch = append and len(files) > 1  # marked together, so inserted without keeping the row order
    con.execute("BEGIN TRANSACTION")
    for f in files:  # a file loaded before (changed since) must not count twice
        start_file(con, raw, name, f.rel, begin=False)
    _insert_rows(con, insert, params, paths, ordered=not batch)
    number_names = () if parquet else tuple(first.names[file_columns.index(f)] for f in numbers)
    counts = _checked(con, raw, source, matched, types, {} if parquet else texts, files, paths, read, reader,
                      number_names)
    if counts is None:
        return None
    # the rows are in and every value fitted: commit them, so the marks below scan stored row
    # groups (skipping those of other files) instead of one large uncommitted insert; until the
    # files are recorded (the commit below) a later run loads them again, replacing these rows
    con.execute("COMMIT")
    con.execute("BEGIN TRANSACTION")
    repeated_in = _mark_batch(con, raw, name, source, files, insert, params, paths) if batch else {}
    done = []
    for f, head, hashing in zip(files, heads, digests):
        found = Staged(file_columns, delimiter=head.delimiter, encoding=head.encoding,
                       duplicate_columns=head.duplicates)
        repeated = repeated_in[f.rel] if batch else dedupe.mark_file(con, name, source, f.rel, f.append)
        done.append(FileLoaded(counts[f.rel], found, repeated, hashing.result()))
    record_files(con, list(zip(files, done)))
    con.execute("COMMIT")
    return done


def _insert_rows(con, insert: str, params: dict, paths: list[str], ordered: bool) -> None:
    """Insert the rows of `paths`. Unless `ordered`, DuckDB need not keep the rows in file order, so it
    writes them to the database file as it reads them, in parallel, instead of leaving them all to one
    checkpoint (about a fifth of a first load's time); `dedupe.mark_batch` then checks that no file's
    order matters."""
    if not ordered:
        con.execute("SET preserve_insertion_order = false")
    con.execute(insert, {**params, "path": paths})
    if not ordered:
        con.execute("RESET preserve_insertion_order")


def _mark_batch(con, raw: str, name: str, source: SourceConfig, files: list[ExportFile], insert: str, params: dict,
                paths: list[str]) -> dict[str, int]:
    """Mark a batch inserted without its row order (see `dedupe.mark_batch`): a file that repeats a key
    is inserted again, in order, first. Each file's number of repeated keys."""
    rels = [f.rel for f in files]
    marks = dedupe.mark_batch(con, name, source, rels, unordered=rels)
    if marks.reorder:
        for rel in marks.reorder:
            con.execute(f"DELETE FROM {raw} WHERE _file = $f", {"f": rel})
        _insert_rows(con, insert, params, [p for p, f in zip(paths, files) if f.rel in marks.reorder], ordered=True)
        marks = dedupe.mark_batch(con, name, source, rels)
    return marks.repeated


def _checked(con, raw: str, source: SourceConfig, matched: dict[str, str], types: dict[str, str],
             texts: dict[str, str], files: list[ExportFile], paths: list[str], read: dict,
             reader: str, number_names: tuple[str, ...] = ()) -> dict[str, int] | None:
    """Rows per file, when every file's values cast and (CSV, `texts` given) none has a suspect row; else None.

    The suspect rows are looked for only where they can be: a blank row has every column NULL, so a file
    with a column without NULLs has none; a repeated header puts the column names in the row, which a
    number column whose name cannot be a number would have refused (see `_names_cannot_cast`;
    `number_names`: the header names of the file's number columns).
    """
    typed = [c for c in matched if source.columns[c].type is not ColumnType.TEXT]
    nulls = ", ".join(f"count(*) - count({quote_ident(c)})" for c in matched)
    params = {"files": [f.rel for f in files]}
    rows = con.execute(
        f"SELECT _file, count(*), {nulls} FROM {raw} WHERE list_contains($files, _file) GROUP BY _file", params,
    ).fetchall()
    found = {row[0]: (row[1], dict(zip(matched, row[2:]))) for row in rows}
    if texts and _suspect_rows(con, raw, matched, texts, number_names, found):
        return None
    with_nulls = sorted({c for _, counted in found.values() for c in typed if counted[c]})
    if with_nulls:  # the NULLs must be the files' missing values
        parts = ", ".join(f"count(*) FILTER (WHERE {missing(matched[c], types[matched[c]])})" for c in with_nulls)
        sql = f"SELECT filename, {parts} FROM {reader} GROUP BY filename"
        by_path = {r[0]: r[1:] for r in con.execute(sql, bound(sql, {**read, "path": paths})).fetchall()}
        for f, path in zip(files, paths):
            expected = found[f.rel][1] if f.rel in found else {}
            got = dict(zip(with_nulls, by_path.get(path, [0] * len(with_nulls))))
            if any(got[c] != expected.get(c, 0) for c in with_nulls):
                return None
    return {f.rel: (found[f.rel][0] if f.rel in found else 0) for f in files}


def _suspect_rows(con, raw: str, matched: dict[str, str], texts: dict[str, str], number_names: tuple[str, ...],
                  found: dict[str, tuple[int, dict[str, int]]]) -> bool:
    """Does a file hold a blank row or one repeating the header (which the staged path drops and counts)?
    `found`: each file's rows and NULLs per column."""
    blank_in = [rel for rel, (_, counted) in found.items() if min(counted.values()) > 0]
    header = not _names_cannot_cast(number_names)
    if not blank_in and not header:
        return False
    parts, params = [], {"files": blank_in if not header else list(found)}
    if blank_in:
        parts.append("count(*) FILTER (WHERE " + " AND ".join(f"{quote_ident(c)} IS NULL" for c in matched) + ")")
    if header:
        column, params["h"] = next(iter(texts.items()))  # a repeated header has every text column equal to its name
        parts.append(f"count(*) FILTER (WHERE {header_field(column, 'h')})")
    sql = f"SELECT {' + '.join(parts)} FROM {raw} WHERE list_contains($files, _file)"
    return con.execute(sql, params).fetchall()[0][0] > 0


NUMBER_CHARACTERS = frozenset("0123456789+-.,'eE \u00a0\u202f")  # all a number value (or its separators) can hold


def _names_cannot_cast(number_names: tuple[str, ...]) -> bool:
    """Would a repeated header line fail a cast? It does when an integer or number column (read as text)
    is named with a character no number has, in any case and with any spaces around: that row then has a
    NULL where the file has a value, which the cast check refuses, so the header need not be looked for."""
    return any(not set(name) <= NUMBER_CHARACTERS for name in number_names)


def _point_styles(con, options, numbers: list[str], delimiter: str | None, read: dict,
                  paths: list[str], integers: bool = False) -> set[NumberStyle | None]:
    """The styles of `paths` (see `_point_style`), two files at a time: a probe of the file's first values
    is mostly DuckDB's fixed cost of starting a read, one that finds no separator reads the whole file
    (unless every number column holds `integers`: then its first rows are enough, see `_point_style`)."""
    def probe(path: str, head_only: bool) -> NumberStyle | None:
        cursor = con.cursor()
        try:
            return _point_style(cursor, options, numbers, delimiter, {**read, "path": path}, head_only)
        finally:
            cursor.close()

    with ThreadPoolExecutor(PROBE_THREADS) as pool:
        styles = list(pool.map(lambda path: probe(path, integers), paths))
        if DIGITS_ONLY in styles and len(set(styles)) > 1:  # one style casts them all: look at those whole
            again = [path for path, style in zip(paths, styles) if style == DIGITS_ONLY]
            styles = [style for style in styles if style != DIGITS_ONLY]
            styles += pool.map(lambda path: probe(path, False), again)
        return set(styles)


def _point_style(con, options, numbers: list[str], delimiter: str | None, read: dict,
                 head_only: bool = False) -> NumberStyle | None:
    """The style detection gives for this file, if separators make it fail when it is not a plain decimal point.

    A value that can only have a decimal point decides '.'; with no dot and no
    comma in any number value nothing needs interpreting (the delimiter's
    convention). Otherwise None: every value has to be looked at.

    `head_only` (every number column holds integers): when the first
    PROBE_ROWS rows show no separator, the file is not read further: its
    numbers must then be digits only (DIGITS_ONLY), so a later value with a
    separator does not cast and the staged path detects the file's style,
    exactly as reading it whole here would have.
    """
    params = {**detection_params(options, numbers), **read, "probe": PROBE_BUFFER, "rows": PROBE_ROWS}
    # the first value with a separator or an exponent, read in small buffers (it is usually on the first line)
    table = f"(SELECT * FROM {READ_CSV}, buffer_size = $probe) LIMIT $rows)" if head_only \
        else f"{READ_CSV}, buffer_size = $probe)"
    probe = number_values(numbers, table)
    sql = (f"SELECT {DOT_SQL} FROM {probe} AND (contains(v.t, '.') OR contains(v.t, ',') "
           "OR contains(v.t, 'e') OR contains(v.t, 'E')) LIMIT 1")
    first = con.execute(sql, bound(sql, params)).fetchall()
    if first and first[0][0]:
        return detected_style(options, ".")
    if head_only and not first:
        return DIGITS_ONLY
    # none has a separator (nothing to interpret), or that one did not decide: does any value say "decimal point"?
    return quick_style(con, options, numbers, delimiter, Profile({}, dot_like=bool(first)), TABLE, read)
