"""What one export file shows about its columns, read the way ingest reads it.

The file is staged by the same reader as ingest (`formats.stage_file`: CSV
decoded and sniffed by `csv_text` / `csv_reader`, Parquet and JSON by DuckDB,
Excel through Polars), so whatever is found here is what ingest will see. Per
column it records every type that reads all of the file's values with Pulse's
own rules (`casting`: numbers in the file's decimal style, ISO dates, declared
strftime formats), the date formats that read every value (two formats that
both do, day-first and month-first, make the column ambiguous: never guessed),
the range of dates, and whether the column could be a key (no value missing or
repeated). The decimal style comes from `casting.number_style`: a value that
can be read one way only decides it; none leaves it open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pipeline.config import ColumnType, SourceConfig
from pipeline.config.sources import ReaderOptions
from pipeline.core.database import quote_ident
from pipeline.core.errors import InputError
from pipeline.core.paths import display_path

from .casting import NumberStyle, bound, number_style, thousands_for
from .formats import STAGE_TABLE, drop_stage, stage_file

INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT")
TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE")
ID_LIKE = re.compile(r"(id|no|nr|num|number|key|code|line|ref|nummer|#)$", re.I)
DATE_SHAPE = re.compile(r"(\d{1,4})([-./])(\d{1,2})\2(\d{1,4})(?:([ T])\d{1,2}:\d{2}(:\d{2})?)?")
ISO_START = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}")  # what DuckDB reads as a date, at least
NUMBER_START = re.compile(r"[+-]?[\d.,]")
MAX_KEY_COLUMNS = 8  # id-like columns tried in pairs


@dataclass(frozen=True)
class ColumnEvidence:
    """One column of one file: the types that read every value, and what the values look like."""

    name: str
    kinds: frozenset[ColumnType]  # every type that reads all of this file's values (all, when it has none)
    formats: frozenset[str]  # strftime formats reading every value as a date/timestamp ("" = ISO, none needed)
    values: int  # non-empty values
    unique: bool  # an id-like name, a value in every row, none repeated: a key candidate
    example: str | None
    ranges: tuple[tuple[str, date, date], ...] = ()  # (format, first, last) for the formats that read it


@dataclass(frozen=True)
class FileProfile:
    """What one file shows: its rows, columns, dialect and number style."""

    path: Path
    format: str
    rows: int
    columns: tuple[ColumnEvidence, ...]
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None  # "," or "." when a value can only be read that way
    decimal_problem: str | None = None  # why no style fits (mixed styles, or '1.234' alone)
    unique_pairs: frozenset[tuple[str, str]] = frozenset()


def profile_file(con, path: Path, fmt: str, tmp_dir: Path) -> FileProfile:
    """Stage `path` as ingest would and describe every column."""
    staged = stage_file(con, path, fmt, ReaderOptions(), tmp_dir)
    try:
        if staged.empty:
            return FileProfile(path, fmt, 0, (), staged.delimiter, staged.encoding)
        if staged.duplicate_columns:
            raise InputError(f"{display_path(path)}: column '{staged.duplicate_columns[0]}' appears more than once "
                             "in the header", "rename or remove the duplicate column in the export, then run init again")
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {STAGE_TABLE})").fetchall())
        rows = con.execute(f"SELECT count(*) FROM {STAGE_TABLE}").fetchall()[0][0]
        text = [c for c in staged.columns if types[c] == "VARCHAR"]
        basics = _text_basics(con, text)
        decimal, problem, style = _decimal(con, path, [c for c in text if basics[c]["numeric"]], staged.delimiter)
        numbers = _number_kinds(con, [c for c in text if basics[c]["numeric"]], style)
        evidence = []
        for column in staged.columns:
            if column in basics:
                evidence.append(_text_column(con, column, basics[column], numbers.get(column, set()), rows))
            else:
                evidence.append(_typed_column(con, column, types[column], rows))
        pairs = _unique_pairs(con, [e for e in evidence if e.values == rows and ID_LIKE.search(e.name)], rows)
        return FileProfile(path, fmt, rows, tuple(evidence), staged.delimiter, staged.encoding, decimal, problem,
                           pairs)
    finally:
        drop_stage(con)


def _text_basics(con, columns: list[str]) -> dict[str, dict]:
    """Per text column: counts and an example (one scan), then only the checks its example calls for.

    A value that is not a date cannot make its column one, so the date, number
    and boolean rules run only where the first value looks like one (every
    value must then pass them).
    """
    if not columns:
        return {}
    parts = []
    for c in columns:
        v = f"NULLIF(trim({quote_ident(c)}), '')"
        distinct = f"count(DISTINCT {v})" if ID_LIKE.search(c) else "NULL"  # keys are looked for by name
        parts += [f"count({v})", distinct, f"arg_min({v}, _row) FILTER (WHERE {v} IS NOT NULL)"]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {STAGE_TABLE}").fetchall()[0]
    found: dict[str, dict] = {}
    checks: list[tuple[str, str, str]] = []  # (column, what, SQL true when every value passes)
    for index, c in enumerate(columns):
        values, distinct, example = row[3 * index:3 * index + 3]
        found[c] = {"values": values, "distinct": distinct, "example": example, "boolean": False,
                    "iso_date": False, "iso_ts": False, "numeric": False}
        if example is None:
            continue
        v = f"NULLIF(trim({quote_ident(c)}), '')"
        present = f"FILTER (WHERE {v} IS NOT NULL)"
        if example.lower() in ("true", "false"):
            checks.append((c, "boolean", f"bool_and(lower({v}) IN ('true', 'false')) {present}"))
        if ISO_START.match(example):
            checks.append((c, "iso_date", f"bool_and(TRY_CAST({v} AS DATE) IS NOT NULL AND NOT contains({v}, ':')) "
                                          f"{present}"))
            checks.append((c, "iso_ts", f"bool_and(TRY_CAST({v} AS TIMESTAMPTZ) IS NOT NULL) {present}"))
        if NUMBER_START.match(example):
            checks.append((c, "numeric", f"bool_and((regexp_full_match({v}, $dot_ok) OR regexp_full_match({v}, "
                                         f"$comma_ok)) AND NOT regexp_matches({v}, '^[+-]?0[0-9]')) {present}"))
    if checks:
        params = {"dot_ok": _style(".").params()["num_ok"], "comma_ok": _style(",").params()["num_ok"]}
        sql = f"SELECT {', '.join(check for _, _, check in checks)} FROM {STAGE_TABLE}"
        for (c, what, _), passed in zip(checks, con.execute(sql, bound(sql, params)).fetchall()[0]):
            found[c][what] = bool(passed)
    return found


def _decimal(con, path: Path, columns: list[str], delimiter: str | None) -> tuple[str | None, str | None, NumberStyle]:
    """The decimal separator the values show (None: they do not say), why none fits, and the style to read them.

    `casting.number_style` decides as ingest does; asked once as if the file were
    comma- and once as if semicolon-separated, the same answer means a value
    decided it, different answers that nothing did (the delimiter's convention).
    """
    if not columns:
        return None, None, _style(".")
    source = SourceConfig(paths=["-"], columns={c: {"type": "number"} for c in columns})
    try:
        as_comma_file = number_style(con, path, "-", source, columns, ",")
        as_semicolon_file = number_style(con, path, "-", source, columns, ";")
    except InputError as exc:
        message = exc.message.replace(" of source '-'", "")
        return None, message, _style("," if delimiter == ";" else ".")
    if as_comma_file.decimal == as_semicolon_file.decimal:
        return as_comma_file.decimal, None, as_comma_file
    return None, None, as_semicolon_file if delimiter == ";" else as_comma_file


def _number_kinds(con, columns: list[str], style: NumberStyle) -> dict[str, set[ColumnType]]:
    """Which of integer / number read every value of each column, in `style`."""
    if not columns:
        return {}
    params = style.params()
    parts = []
    for c in columns:
        v = f"NULLIF(trim({quote_ident(c)}), '')"
        present = f"FILTER (WHERE {v} IS NOT NULL)"
        parts += [f"bool_and(regexp_full_match({v}, $int_ok) AND length({v}) <= 18) {present}",
                  f"bool_and(regexp_full_match({v}, $num_ok)) {present}"]
    sql = f"SELECT {', '.join(parts)} FROM {STAGE_TABLE}"
    row = con.execute(sql, bound(sql, params)).fetchall()[0]
    kinds: dict[str, set[ColumnType]] = {}
    for index, c in enumerate(columns):
        whole, number = row[2 * index], row[2 * index + 1]
        kinds[c] = ({ColumnType.INTEGER} if whole else set()) | ({ColumnType.NUMBER} if number or whole else set())
    return kinds


def _text_column(con, column: str, basics: dict, numbers: set[ColumnType], rows: int) -> ColumnEvidence:
    values, example = basics["values"], basics["example"]
    unique = values == rows and basics["distinct"] == rows and rows > 0
    if values == 0:  # nothing to go by: any type reads it
        return ColumnEvidence(column, frozenset(ColumnType), frozenset({""}), 0, False, None)
    kinds = {ColumnType.TEXT, *numbers}
    if basics["boolean"]:
        kinds.add(ColumnType.BOOLEAN)
    formats: set[str] = set()
    ranges: list[tuple[str, date, date]] = []
    v = f"NULLIF(trim({quote_ident(column)}), '')"
    if basics["iso_date"] or basics["iso_ts"]:
        kinds.update({ColumnType.DATE} if basics["iso_date"] else set())
        kinds.add(ColumnType.TIMESTAMP)
        formats.add("")
        first, last = con.execute(f"SELECT min(CAST(TRY_CAST({v} AS TIMESTAMPTZ) AS DATE)), "
                                  f"max(CAST(TRY_CAST({v} AS TIMESTAMPTZ) AS DATE)) FROM {STAGE_TABLE}").fetchall()[0]
        ranges.append(("", first, last))
    else:
        candidates = date_formats(str(example))
        if candidates:
            parts = [f"bool_and(try_strptime({v}, $f{i}) IS NOT NULL) FILTER (WHERE {v} IS NOT NULL), "
                     f"min(try_strptime({v}, $f{i})), "
                     f"max(try_strptime({v}, $f{i}))" for i in range(len(candidates))]
            row = con.execute(f"SELECT {', '.join(parts)} FROM {STAGE_TABLE}",
                              {f"f{i}": f for i, f in enumerate(candidates)}).fetchall()[0]
            for i, fmt in enumerate(candidates):
                if row[3 * i]:
                    formats.add(fmt)
                    ranges.append((fmt, _day(row[3 * i + 1]), _day(row[3 * i + 2])))
            if formats:
                kinds.add(ColumnType.TIMESTAMP if "%H" in next(iter(formats)) else ColumnType.DATE)
    return ColumnEvidence(column, frozenset(kinds), frozenset(formats), values, unique, example, tuple(ranges))


def date_formats(example: str) -> list[str]:
    """The strftime formats a value such as `04.05.2026 14:30` could be written in (not ISO 8601)."""
    shape = DATE_SHAPE.fullmatch(example.strip())
    if shape is None:
        return []
    first, sep, _middle, last, time_sep, seconds = shape.groups()
    if len(first) == 4:
        orders = [f"%Y{sep}%m{sep}%d"]
    elif len(last) == 4:
        orders = [f"%d{sep}%m{sep}%Y", f"%m{sep}%d{sep}%Y"]
    elif len(first) <= 2 and len(last) <= 2:
        orders = [f"%d{sep}%m{sep}%y", f"%m{sep}%d{sep}%y", f"%y{sep}%m{sep}%d"]
    else:
        return []
    time = "" if time_sep is None else f"{time_sep}%H:%M" + (":%S" if seconds else "")
    return [order + time for order in orders]


def _typed_column(con, column: str, file_type: str, rows: int) -> ColumnEvidence:
    """A column the reader typed (Parquet, JSON, Excel): its type says what it holds."""
    c = quote_ident(column)
    distinct_sql = f"count(DISTINCT {c})" if ID_LIKE.search(column) else "NULL"  # keys are looked for by name
    values, distinct, example = con.execute(
        f"SELECT count({c}), {distinct_sql}, CAST(arg_min({c}, _row) FILTER (WHERE {c} IS NOT NULL) AS VARCHAR) "
        f"FROM {STAGE_TABLE}").fetchall()[0]
    kinds = {ColumnType.TEXT}
    formats: frozenset[str] = frozenset()
    ranges: tuple[tuple[str, date, date], ...] = ()
    unique = values == rows and distinct == rows and rows > 0
    base = file_type.split("(")[0]
    if base in INTEGER_TYPES:
        kinds |= {ColumnType.INTEGER, ColumnType.NUMBER}
    elif base in ("FLOAT", "DOUBLE", "DECIMAL"):
        whole = con.execute(f"SELECT bool_and({c} = trunc({c})) FROM {STAGE_TABLE}").fetchall()[0][0]
        kinds |= {ColumnType.NUMBER} | ({ColumnType.INTEGER} if whole else set())
        unique = unique and bool(whole)
    elif base == "BOOLEAN":
        kinds.add(ColumnType.BOOLEAN)
    elif base == "DATE" or base in TIMESTAMP_TYPES:
        midnight, first, last = con.execute(
            f"SELECT bool_and(CAST({c} AS TIMESTAMP) = CAST(CAST({c} AS DATE) AS TIMESTAMP)), "
            f"min(CAST({c} AS DATE)), max(CAST({c} AS DATE)) FROM {STAGE_TABLE}").fetchall()[0]
        kinds |= {ColumnType.TIMESTAMP} | ({ColumnType.DATE} if midnight or base == "DATE" else set())
        formats, ranges = frozenset({""}), (("", first, last),) if first is not None else ()
    if values == 0:
        return ColumnEvidence(column, frozenset(ColumnType), frozenset({""}), 0, False, None)
    return ColumnEvidence(column, frozenset(kinds), formats, values, unique, example, ranges)


def _unique_pairs(con, candidates: list[ColumnEvidence], rows: int) -> frozenset[tuple[str, str]]:
    """Pairs of id-like columns whose combination is unique in this file (with no value missing)."""
    names = [e.name for e in candidates if not e.unique][:MAX_KEY_COLUMNS]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    if not pairs or rows == 0:
        return frozenset()
    parts = [f"count(DISTINCT ({quote_ident(a)}, {quote_ident(b)}))" for a, b in pairs]
    counts = con.execute(f"SELECT {', '.join(parts)} FROM {STAGE_TABLE}").fetchall()[0]
    return frozenset(pair for pair, count in zip(pairs, counts) if count == rows)


def _style(decimal: str) -> NumberStyle:
    return NumberStyle(decimal, thousands_for("auto", decimal))


def _day(value: datetime | date | None) -> date:
    if isinstance(value, datetime):
        return value.date()
    assert value is not None
    return value
