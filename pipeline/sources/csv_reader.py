"""Read one CSV export into the staging table, detecting what the file does not say.

DuckDB parses the file (`read_csv` with every dialect option given, strict
mode, no comment character, all text); Python only does what DuckDB cannot:

- encoding: an explicit `encoding:` wins; else a UTF-16 BOM, UTF-8 (with or
  without BOM) when the bytes decode as UTF-8, or Windows-1252 (a superset of
  Latin-1's printable characters) when they hold no valid multi-byte UTF-8
  sequence at all; UTF-8 text mixed with bytes that are not UTF-8 is an error
  (see `csv_text.decode`). Anything not UTF-8 is transcoded to a temporary
  UTF-8 copy under the project's working folder, deleted afterwards.
- the header record (Python's csv module, one record) and the line it is on:
  DuckDB's sniffer gives up on files with broken rows, and duplicates must be
  seen before DuckDB renames them.
- the file's own line number of every record (`_line`), counting blank lines
  and newlines inside quoted values, so errors name the line an editor shows.

The delimiter, when not configured, is sniffed by DuckDB (and checked against
the header line). Blank lines are skipped, rows equal to the header (exports
concatenated with their headers) and rows with every field empty are dropped
and counted. Rows DuckDB cannot parse (wrong number of fields, unterminated
quote) stop the load with their line, or in quarantine mode come back as
rejects (DuckDB's `store_rejects`); they are never dropped silently.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.config.sources import ReaderOptions
from pipeline.core.database import first_line, quote_ident
from pipeline.core.errors import InputError
from pipeline.core.paths import display_path

from .csv_text import Lines, decode, shown

STAGE_TABLE = "_pulse_stage_raw"  # the staged file: its columns, `_row` and `_line`
STAGE_DATA = "_pulse_stage_data"  # a CSV file's fields as read; STAGE_TABLE is then a view numbering them
REJECTS_TABLE = "_pulse_csv_reject_errors"
REJECTS_SCAN = "_pulse_csv_reject_scans"
CANDIDATES = (",", ";", "\t", "|")
UTF8 = ("utf-8", "utf-8-sig")
NOT_BLANK = re.compile(r"[^ \t\r\n]")
HEAD_BYTES = 1 << 18  # the head decoded to find the header of a plain UTF-8 file
READ_HINT = "fix the file, or set on_bad_rows: quarantine on the source to load the other rows"

REASONS = {
    "TOO MANY COLUMNS": "has more fields than the header",
    "MISSING COLUMNS": "has fewer fields than the header",
    "UNQUOTED VALUE": "a quoted value is not closed (or text follows its closing quote)",
    "LINE SIZE OVER MAXIMUM": "the line is longer than DuckDB's maximum line size",
    "INVALID ENCODING": "invalid characters for the file's encoding",
}


@dataclass(frozen=True)
class RawReject:
    """A row the reader could not use: its line, column (if known), text and why."""

    line: int
    column: str | None
    value: str
    reason: str


@dataclass(frozen=True)
class Staged:
    """What staging one file found."""

    columns: list[str]  # the file's columns in order (empty for an empty file)
    empty: bool = False  # 0 bytes or only blank lines: no columns, no rows
    delimiter: str | None = None
    encoding: str | None = None
    skipped_headers: int = 0  # rows equal to the header, dropped
    skipped_blank: int = 0  # rows with every field empty, dropped
    duplicate_columns: tuple[str, ...] = ()  # header names present twice (lower case)
    rejects: tuple[RawReject, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CsvFile:
    """A CSV file ready for DuckDB's reader: what to read, with which options, what its header says."""

    read_path: Path  # the file, or its transcoded UTF-8 copy
    utf8: bytes
    lines: Lines
    encoding: str
    params: dict[str, object]  # the parameters of READ_CSV, plus $offset: lines before the first record
    names: list[str]  # the header's names (column0... without a header)
    duplicates: tuple[str, ...]  # header names present twice (lower case)
    delimiter: str

    @property
    def columns(self) -> list[str]:
        return list(self.params["columns"])  # type: ignore[arg-type]


# DuckDB reads with every dialect option given, strictly, every field as text
READ_CSV = ("read_csv($path, auto_detect=false, columns=$columns, header=$header, skip=$skip, delim=$delim, "
            "quote=$quote, escape=$escape, comment='', strict_mode=true, null_padding=false")


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, options: ReaderOptions, tmp_dir: Path,
              quarantine: bool, data: bytes | None = None) -> Staged:
    """Stage the CSV file at `path` (whose bytes may be given, already read)."""
    with open_csv(con, path, options, tmp_dir, data) as found:
        if isinstance(found, Staged):
            return found
        return _stage(con, path, found, options, quarantine)


@contextmanager
def open_csv(con, path: Path, options: ReaderOptions, tmp_dir: Path,
             data: bytes | None = None) -> Iterator[CsvFile | Staged]:
    """The file decoded and its header read (an empty Staged for a blank file); removes a transcoded copy after."""
    data = path.read_bytes() if data is None else data
    text, encoding = decode(path, data, options.encoding)
    if NOT_BLANK.search(text) is None:
        yield Staged([], empty=True, encoding=encoding)
        return
    temp: Path | None = None
    if "\n" not in text and "\r" in text:  # classic Mac line ends: give DuckDB and the line count "\n"
        text, encoding = text.replace("\r", "\n"), f"{encoding}, CR line ends"
    if encoding in UTF8:
        read_path, utf8 = path, data
    else:  # DuckDB reads UTF-8: hand it a transcoded copy
        utf8 = text.encode("utf-8")
        tmp_dir.mkdir(parents=True, exist_ok=True)
        temp = read_path = tmp_dir / f"transcoded-{uuid.uuid4().hex}.csv"
        read_path.write_bytes(utf8)
    try:
        yield _prepare(con, read_path, utf8, Lines(text), options, encoding)
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)


def prepare_head(con, path: Path, head: bytes, options: ReaderOptions) -> CsvFile | None:
    """The header and reader options of a file that looks like plain UTF-8, from its first bytes only.

    DuckDB checks the rest is UTF-8 as it reads (a file it refuses goes through
    the complete decoding); the CsvFile's `lines` are only the head's.
    """
    text = _utf8_head(head, options)
    if text is None:
        return None
    found = _prepare(con, path, head, Lines(text), options, "utf-8")
    return found if isinstance(found, CsvFile) else None


def _utf8_head(data: bytes, options: ReaderOptions) -> str | None:
    """The first lines of a file that is UTF-8 (no BOM, not UTF-16, \n line ends) as far as they show; else None."""
    if options.encoding and codecs.lookup(options.encoding).name != "utf-8":
        return None
    if options.skip_rows > 32 or data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None
    cut = data.rfind(b"\n", 0, HEAD_BYTES) + 1
    if cut == 0 or data[:4096].count(0):  # no line end in the head, or NUL bytes (UTF-16?)
        return None
    try:
        return data[:cut].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _blank(line: str) -> bool:
    return line in ("", "\r")


def _prepare(con, read_path: Path, utf8: bytes, lines: Lines, options: ReaderOptions,
             encoding: str) -> CsvFile | Staged:
    """Find the header (after skip_rows and blank lines) and the delimiter; name the columns."""
    first = options.skip_rows  # 0-based index of the header (or first data) line
    while lines.exists(first) and _blank(lines[first]):
        first += 1
    if not lines.exists(first):  # only a preamble
        return Staged([], empty=True, encoding=encoding)
    quote = options.quote
    escape = options.escape if options.escape is not None else quote
    delimiter = options.delimiter or _only_candidate(lines[first]) or _sniff_delimiter(
        con, read_path, options, first, quote, escape, lines[first])
    record, spanned = _first_record(lines, first, delimiter, quote, escape)
    if options.header:
        names = [(n.strip() or f"column{i}") for i, n in enumerate(record)]
        header_lines = spanned
    else:
        names = [f"column{i}" for i in range(len(record))]
        header_lines = 0
    lowered = [n.lower() for n in names]
    duplicates = tuple(sorted({n for n in lowered if lowered.count(n) > 1}))
    columns: dict[str, str] = {}
    for name in names:
        unique, counter = name, 1
        while unique.lower() in (c.lower() for c in columns):
            counter += 1
            unique = f"{name}_{counter}"
        columns[unique] = "VARCHAR"
    params: dict[str, object] = {
        "path": str(read_path), "columns": columns, "header": options.header, "skip": first, "delim": delimiter,
        "quote": quote, "escape": escape, "offset": first + header_lines,
    }
    return CsvFile(read_path, utf8, lines, encoding, params, names, duplicates, delimiter)


def _stage(con, path: Path, csv_file: CsvFile, options: ReaderOptions, quarantine: bool) -> Staged:
    params, lines, utf8 = csv_file.params, csv_file.lines, csv_file.utf8
    rejects: list[RawReject] = []
    spans: dict[int, int] = {}
    if quarantine:
        rejects, spans = _read_with_rejects(con, path, params, utf8, lines)
    else:
        try:
            con.execute(_create_sql(""), params)
        except duckdb.Error as exc:
            found, _ = _read_with_rejects(con, path, params, utf8, lines)
            if found:
                bad = found[0]
                raise InputError(f"{display_path(path)}:{bad.line}: {bad.reason}: {shown(bad.value)}",
                                 READ_HINT) from None
            raise _unreadable(path, exc, params, lines) from None
    file_columns = csv_file.columns
    _numbering_view(con)
    _number_lines(con, file_columns, lines, int(params["offset"]), utf8, spans)  # type: ignore[arg-type]
    skipped_headers = _drop_header_rows(con, file_columns, csv_file.names) if options.header else 0
    skipped_blank = _drop_blank_rows(con, file_columns)
    return Staged(file_columns, delimiter=csv_file.delimiter, encoding=csv_file.encoding,
                  skipped_headers=skipped_headers, skipped_blank=skipped_blank,
                  duplicate_columns=csv_file.duplicates, rejects=tuple(rejects))


def _only_candidate(line: str) -> str | None:
    """The delimiter when the header line holds exactly one candidate: whatever DuckDB's sniffer
    says (it only ever proposes the candidates), `_sniff_delimiter` would choose it."""
    present = [c for c in CANDIDATES if c in line]
    return present[0] if len(present) == 1 else None


def _sniff_delimiter(con, path: Path, options: ReaderOptions, first: int, quote: str, escape: str,
                     line: str) -> str:
    """DuckDB's sniffed delimiter, if the header line has it; else the likeliest candidate there."""
    try:
        # ignore_errors only lets the sniffer look past broken rows; the read itself is strict
        rows = con.execute(
            "SELECT Delimiter FROM sniff_csv($path, header=$header, skip=$skip, quote=$quote, escape=$escape, "
            "comment='', all_varchar=true, ignore_errors=true)",
            {"path": str(path), "header": options.header, "skip": first, "quote": quote, "escape": escape},
        ).fetchall()
        sniffed = rows[0][0] if rows else None
    except duckdb.Error:
        sniffed = None
    counts = {c: line.count(c) for c in CANDIDATES}
    if sniffed and len(sniffed) == 1 and (line.count(sniffed) or not any(counts.values())):
        return sniffed
    best = max(CANDIDATES, key=lambda c: counts[c])
    return best if counts[best] else ","


def csv_dialect(delimiter: str, quote: str, escape: str) -> dict[str, object]:
    """Python's csv module settings for a file's delimiter, quote and escape (no quote: none)."""
    kwargs: dict[str, object] = {"delimiter": delimiter, "strict": False}
    if quote:
        kwargs.update(quotechar=quote, doublequote=escape == quote)
        if escape and escape != quote:
            kwargs["escapechar"] = escape
    else:
        kwargs["quoting"] = csv.QUOTE_NONE
    return kwargs


def _records(lines: Lines, first: int, delimiter: str, quote: str, escape: str):
    """Python's csv reader over the records from line `first` on (its `line_num` counts the lines read)."""
    return csv.reader((line.removesuffix("\r") + "\n" for line in lines.iter_from(first)),
                      **csv_dialect(delimiter, quote, escape))


def _first_record(lines: Lines, first: int, delimiter: str, quote: str, escape: str) -> tuple[list[str], int]:
    """The record starting at line `first`, and how many lines it spans."""
    reader = _records(lines, first, delimiter, quote, escape)
    try:
        record = next(reader)
    except (StopIteration, csv.Error):
        return [lines[first]], 1
    return record, reader.line_num


def _create_sql(extra: str) -> str:
    """The staging statement: DuckDB reads with every dialect option given, strictly."""
    return (
        f"CREATE OR REPLACE TEMP TABLE {STAGE_DATA} AS SELECT *, CAST($offset AS BIGINT) AS _pulse_offset, "
        f"CAST(NULL AS BIGINT) AS _pulse_line FROM {READ_CSV}{extra})"
    )


def _numbering_view(con) -> None:
    """STAGE_TABLE: the read rows with their record number (`_row`) and their line in the file (`_line`).

    Rows are inserted in file order, so a row's rowid is its record number: no
    ordered pass over the file numbers it. Its line is the record number plus
    the lines before the first record, unless `_number_lines` had to set it.
    """
    con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE_TABLE} AS SELECT * EXCLUDE (_pulse_offset, _pulse_line), "
                f"rowid + 1 AS _row, coalesce(_pulse_line, rowid + 1 + _pulse_offset) AS _line FROM {STAGE_DATA}")


def drop_stage(con) -> None:
    """Remove the staged file (a view over read rows, or a table)."""
    for kind in ("VIEW", "TABLE"):
        try:
            con.execute(f"DROP {kind} IF EXISTS {STAGE_TABLE}")
        except duckdb.CatalogException:
            pass  # it is the other kind
    con.execute(f"DROP TABLE IF EXISTS {STAGE_DATA}")


def _read_with_rejects(con, path: Path, params: dict, utf8: bytes,
                       lines: Lines) -> tuple[list[RawReject], dict[int, int]]:
    """Read keeping DuckDB's rejected rows (store_rejects); return them with their file lines."""
    con.execute(f"DROP TABLE IF EXISTS {REJECTS_TABLE}")
    con.execute(f"DROP TABLE IF EXISTS {REJECTS_SCAN}")
    extra = f", store_rejects=true, rejects_table='{REJECTS_TABLE}', rejects_scan='{REJECTS_SCAN}'"
    try:
        con.execute(_create_sql(extra), params)
    except duckdb.Error as exc:
        raise _unreadable(path, exc, params, lines) from None
    found = con.execute(
        f"SELECT line_byte_position, column_name, CAST(error_type AS VARCHAR), csv_line, error_message "
        f"FROM {REJECTS_TABLE} ORDER BY line_byte_position, column_idx"
    ).fetchall()
    con.execute(f"DROP TABLE IF EXISTS {REJECTS_TABLE}")
    con.execute(f"DROP TABLE IF EXISTS {REJECTS_SCAN}")
    newlines = [m.start() for m in re.finditer(b"\n", utf8)]
    rejects: list[RawReject] = []
    spans: dict[int, int] = {}
    for position, column, kind, csv_line, message in found:
        index = bisect.bisect_left(newlines, position or 0)  # 0-based line of the position
        while index < len(lines) and _blank(lines[index]):
            index += 1
        if index in spans:  # one row, several problems: report it once
            continue
        value = (csv_line or "").strip("\r\n")
        spans[index] = value.count("\n") + 1
        reason = REASONS.get(kind, message or kind)
        if kind in ("TOO MANY COLUMNS", "MISSING COLUMNS") and message:
            reason += f" ({message.replace('Expected Number of Columns', 'expected').replace(' Found', ', found')})"
        counting = kind in ("TOO MANY COLUMNS", "MISSING COLUMNS")
        rejects.append(RawReject(index + 1, None if counting else column, value[:200], reason))
    return rejects, spans


UNREADABLE_HINT = ("fix that line of the file (a value holding a line break, a delimiter or a quote must be in "
                   "quotes): DuckDB cannot read past it, so on_bad_rows: quarantine cannot set it aside")


def _unreadable(path: Path, exc: duckdb.Error, params: dict, lines: Lines) -> InputError:
    """The error for a file DuckDB cannot read at all (no row it could set aside): the first record
    whose number of fields is not the header's, found with Python's csv module, when there is one
    (DuckDB's parser stops on it without saying where); else DuckDB's own message."""
    expected, offset = len(params["columns"]), int(params["offset"])
    reader = _records(lines, offset, str(params["delim"]), str(params["quote"]), str(params["escape"]))
    start = offset  # 0-based line of the record being read
    try:
        for record in reader:
            if record and len(record) != expected:
                side = "fewer" if len(record) < expected else "more"
                return InputError(f"{display_path(path)}:{start + 1}: has {side} fields than the header (expected: "
                                  f"{expected}, found: {len(record)}): {shown(lines[start])}", UNREADABLE_HINT)
            start = offset + reader.line_num
    except csv.Error as error:  # a carriage return inside a value that is not in quotes, or worse
        found = "a line break inside a value that is not in quotes" if "new-line" in str(error) else str(error)
        return InputError(f"{display_path(path)}:{start + 1}: cannot be read as CSV: {found}: {shown(lines[start])}",
                          UNREADABLE_HINT)
    return InputError(f"{display_path(path)}: cannot read this csv file: {first_line(exc)}",
                      "check the reader options (delimiter, quote, encoding, header, skip_rows) of its source")


def _number_lines(con, columns: list[str], lines: Lines, start: int, utf8: bytes,
                  spans: dict[int, int]) -> None:
    """Give each staged record its line in the file (`_line`).

    Without blank lines, newlines inside quoted values or rejected rows, record
    n is on line start + n (already set). Otherwise walk the lines: each record
    takes one line plus one per newline inside its values.
    """
    if not spans:
        rows = con.execute(f"SELECT count(*) FROM {STAGE_DATA}").fetchall()[0][0]
        if lines.one_line_per_record(start, rows):
            return
    joined = "concat_ws('', " + ", ".join(quote_ident(c) for c in columns) + ")"
    embedded = f"length({joined}) - length(replace({joined}, chr(10), ''))"
    counts = [row[0] for row in con.execute(f"SELECT {embedded} FROM {STAGE_TABLE} ORDER BY _row").fetchall()]
    numbered: list[int] = []
    index = start
    for extra in counts:
        while index < len(lines) and (_blank(lines[index]) or index in spans):
            index += spans.get(index, 1)
        numbered.append(index + 1)
        index += 1 + extra
    con.execute(f"UPDATE {STAGE_DATA} SET _pulse_line = ($numbered)[rowid + 1]", {"numbered": numbered})


def header_field(column: str, param: str) -> str:
    """SQL: the field repeats the header name bound to `param` (any case, spaces or BOM around it)."""
    return f"lower(trim(replace(coalesce({quote_ident(column)}, ''), chr(65279), ''))) = lower(${param})"


def blank_field(column: str) -> str:
    """SQL: the field is empty or only spaces."""
    return f"coalesce(trim({quote_ident(column)}), '') = ''"


def _drop_header_rows(con, columns: list[str], names: list[str]) -> int:
    """Drop rows that repeat the header (concatenated exports, any case); return how many."""
    params = {f"h{i}": name for i, name in enumerate(names)}
    cond = " AND ".join(header_field(c, f"h{i}") for i, c in enumerate(columns))
    return con.execute(f"DELETE FROM {STAGE_DATA} WHERE {cond}", params).fetchall()[0][0]


def _drop_blank_rows(con, columns: list[str]) -> int:
    """Drop rows whose every field is empty (e.g. Excel's trailing ';;;;' lines)."""
    cond = " AND ".join(blank_field(c) for c in columns)
    return con.execute(f"DELETE FROM {STAGE_DATA} WHERE {cond}").fetchall()[0][0]


def remove_stale_temp_files(tmp_dir: Path) -> None:
    """Delete transcoded copies left by an interrupted run."""
    if tmp_dir.is_dir():
        for leftover in tmp_dir.glob("transcoded-*.csv"):
            try:
                os.unlink(leftover)
            except OSError:
                pass
