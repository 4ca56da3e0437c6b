"""Sources inferred from export files, for `pulse init --from PATH...`.

Files are grouped into families (`export_families`: monthly files become one
glob), every file is read as ingest reads it (`file_profile`), and what the
files show together becomes a source: a column's type is the most specific one
that reads every value of every file (boolean, integer, number, date,
timestamp, else text); a column some files lack is `required: false`. Reader
options are written only where the files decide them: the delimiter, the
decimal separator when a value can be read one way only, a date format when
exactly one reads every value. What the files leave open is never guessed: a
date column that reads as day-first and as month-first (`04-05-2026`), or
numbers like `1.234` with no value showing the separator, become a question
the user answers in the written config. A primary key is proposed where an
id-like column (or pair of them) is unique within every file, and an event-time
column among the date and timestamp columns, by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.config import ColumnType
from pipeline.core.database import connect

from .export_families import Family, collect_exports, group_families
from .file_profile import ID_LIKE, ColumnEvidence, FileProfile, profile_file
from .formats import detect_format

PRIORITY = (ColumnType.BOOLEAN, ColumnType.INTEGER, ColumnType.NUMBER, ColumnType.DATE, ColumnType.TIMESTAMP,
            ColumnType.TEXT)
KEY_TYPES = (ColumnType.TEXT, ColumnType.INTEGER)
EVENT_WORDS = re.compile(r"created|order|placed|sold|sale|purchase|book|transaction|event|opened|received|start",
                         re.I)
TIME_WORDS = re.compile(r"date|time|ts$|_at$|day|dato|datum", re.I)
NOT_EVENT = re.compile(r"resolv|closed|updat|modif|chang|due|deliver|ship|expect|forecast|end|respon|birth|paid|"
                       r"cancel|return|valid|expir|delet|last|first_resp", re.I)
FORMAT_MEANING = {"d": "day first", "m": "month first", "y": "year first", "Y": "year first"}


@dataclass(frozen=True)
class Question:
    """Something the files cannot decide; written into the config as a comment the user must answer."""

    key: str  # where it goes: options.date_format, options.decimal, ...
    text: str
    choices: tuple[tuple[str, str], ...]  # (value, what it means)


@dataclass(frozen=True)
class InferredColumn:
    name: str
    type: ColumnType
    required: bool
    note: str = ""


@dataclass(frozen=True)
class InferredSource:
    """One source as the files show it: what to write into config/sources.yaml, and why."""

    name: str
    patterns: tuple[str, ...]  # absolute globs
    files: tuple[Path, ...]
    rows: int
    columns: tuple[InferredColumn, ...]
    delimiter: str | None = None  # to write (None: sniffed, or not CSV)
    decimal: str | None = None  # ',' '.' 'auto' to write, None: nothing to write
    decimal_note: str = ""
    encodings: tuple[str, ...] = ()  # other than UTF-8, as detected per file
    date_format: str | None = None
    timestamp_format: str | None = None
    primary_key: tuple[str, ...] = ()
    event_time: str | None = None
    event_note: str = ""
    first_event: date | None = None
    last_event: date | None = None
    notes: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Inference:
    sources: tuple[InferredSource, ...]
    skipped: tuple[Path, ...]  # files that are not exports Pulse reads


def infer_sources(paths: list[Path], timezone: str, tmp_dir: Path) -> Inference:
    """Read every export under `paths` and propose one source per family of files."""
    exports, skipped = collect_exports(paths)
    con = connect(None, timezone)
    try:
        sources = []
        for family in group_families(exports):
            profiles = [profile_file(con, path, detect_format(path, "auto"), tmp_dir) for path in family.files]
            sources.append(combine(family, profiles))
    finally:
        con.close()
    return Inference(tuple(sources), tuple(skipped))


def combine(family: Family, profiles: list[FileProfile]) -> InferredSource:
    """One source from what every file of a family shows."""
    filled = [p for p in profiles if p.columns]
    by_name: dict[str, list[ColumnEvidence]] = {}
    spelling: dict[str, str] = {}
    for profile in filled:
        for evidence in profile.columns:
            spelling.setdefault(evidence.name.lower(), evidence.name)
            by_name.setdefault(evidence.name.lower(), []).append(evidence)
    notes: list[str] = []
    questions: list[Question] = []
    empty = len(profiles) - len(filled)
    if empty:
        notes.append(f"{empty} file(s) without rows")
    columns: list[InferredColumn] = []
    running: dict[ColumnType, set[str] | None] = {ColumnType.DATE: None, ColumnType.TIMESTAMP: None}
    ranges: dict[str, tuple[date, date, set[str]]] = {}
    for key, found in by_name.items():
        name = spelling[key]
        required = len(found) == len(filled)
        column_type, note, formats = _column_type(found)
        if column_type in running and formats:
            agreed = formats if running[column_type] is None else running[column_type] & formats
            if agreed:
                running[column_type] = agreed
            else:
                column_type, note = ColumnType.TEXT, "its dates are written unlike the other date columns; read as text"
        if column_type in running:
            ranges[name] = _range(found)
        columns.append(InferredColumn(name, column_type, required, note))
    date_format = _format_for(running[ColumnType.DATE], "date_format", questions, columns)
    timestamp_format = _format_for(running[ColumnType.TIMESTAMP], "timestamp_format", questions, columns)
    delimiter, decimal, decimal_note = _dialect(filled, questions)
    if _header_looks_like_data(columns):
        questions.append(Question("options.header", "the first line looks like data, not column names",
                                  (("false", "the file has no header line: columns are named column0, column1, ..."),)))
    key = _primary_key(filled, columns)
    event, event_note = _event_time(columns, by_name, sum(p.rows for p in filled))
    first = last = None
    if event is not None and event in ranges:
        first, last, formats = ranges[event]
        if not formats & {"", date_format, timestamp_format}:  # read either way: no range yet
            first = last = None
    return InferredSource(
        name=family.name, patterns=family.patterns, files=family.files, rows=sum(p.rows for p in profiles),
        columns=tuple(columns), delimiter=delimiter, decimal=decimal, decimal_note=decimal_note,
        encodings=tuple(sorted({p.encoding for p in filled if p.encoding and p.encoding != "utf-8"})),
        date_format=date_format, timestamp_format=timestamp_format, primary_key=key,
        event_time=event, event_note=event_note, first_event=first, last_event=last, notes=tuple(notes),
        questions=tuple(questions),
    )


def _column_type(found: list[ColumnEvidence]) -> tuple[ColumnType, str, set[str]]:
    """The most specific type reading every value of every file, a note, and the date formats that do."""
    with_values = [e for e in found if e.values]
    if not with_values:
        return ColumnType.TEXT, "no values in any file: check its type", set()
    kinds = set(ColumnType)
    for evidence in with_values:
        kinds &= evidence.kinds
    chosen = next(t for t in PRIORITY if t in kinds or t is ColumnType.TEXT)
    if chosen in (ColumnType.DATE, ColumnType.TIMESTAMP):
        formats = set(with_values[0].formats)
        for evidence in with_values[1:]:
            formats &= evidence.formats
        if not formats:
            return ColumnType.TEXT, "its dates are written differently in different files; read as text", set()
        return chosen, "", formats
    return chosen, "", set()


def _range(found: list[ColumnEvidence]) -> tuple[date, date, set[str]]:
    """(first, last, formats) over the files: the dates a column spans, per format that reads it."""
    firsts, lasts, formats = [], [], set()
    for evidence in found:
        for fmt, first, last in evidence.ranges:
            firsts.append((fmt, first))
            lasts.append((fmt, last))
            formats.add(fmt)
    chosen = "" if "" in formats else min(formats) if formats else ""
    days_first = [d for f, d in firsts if f == chosen and d is not None]
    days_last = [d for f, d in lasts if f == chosen and d is not None]
    return (min(days_first) if days_first else None, max(days_last) if days_last else None, formats)  # type: ignore


def _format_for(formats: set[str] | None, key: str, questions: list[Question], columns) -> str | None:
    """The one format all date (or timestamp) columns read with; several: a question, never a guess."""
    if not formats or formats == {""}:
        return None
    formats.discard("")
    if len(formats) == 1:
        return next(iter(formats))
    kind = "date" if key == "date_format" else "timestamp"
    affected = [c.name for c in columns if c.type.value == kind]
    questions.append(Question(
        f"options.{key}",
        f"{', '.join(affected)}: every value reads both ways, e.g. {' or '.join(sorted(formats))}",
        tuple((fmt, _meaning(fmt)) for fmt in sorted(formats)),
    ))
    return None


def _meaning(fmt: str) -> str:
    first = re.search(r"%([dmyY])", fmt)
    return FORMAT_MEANING[first.group(1)] if first else ""


def _dialect(filled: list[FileProfile], questions: list[Question]) -> tuple[str | None, str | None, str]:
    """The delimiter and decimal separator to write, and what the values said about the decimal separator."""
    delimiters = {p.delimiter for p in filled if p.delimiter}
    delimiter = next(iter(delimiters)) if len(delimiters) == 1 and delimiters != {","} else None
    shown = {p.decimal for p in filled if p.decimal}
    problems = [p.decimal_problem for p in filled if p.decimal_problem]
    if len(shown) == 2:
        return delimiter, "auto", "some files show decimal commas, others decimal points: decided per file"
    if shown:
        decimal = next(iter(shown))
        note = f"values such as {_example(filled, decimal)} show it" + (f"; also: {problems[0]}" if problems else "")
        return delimiter, decimal if (delimiter or decimal == ",") else None, note
    if problems:
        questions.append(Question("options.decimal", problems[0],
                                  ((",", "decimal comma: 1.234 is one thousand two hundred thirty-four"),
                                   (".", "decimal point: 1.234 is one point two three four"))))
        return delimiter, None, ""
    return delimiter, "auto" if delimiter else None, "no value shows the decimal separator yet" if delimiter else ""


def _example(filled: list[FileProfile], decimal: str) -> str:
    for profile in filled:
        if profile.decimal == decimal:
            for evidence in profile.columns:
                if evidence.example and ColumnType.NUMBER in evidence.kinds and decimal in evidence.example:
                    return f"'{evidence.example}'"
    return f"'{decimal}'"


def _header_looks_like_data(columns: list[InferredColumn]) -> bool:
    return any(re.fullmatch(r"[+-]?\d+([.,]\d+)?|\d{1,4}[-./]\d{1,2}[-./]\d{1,4}.*", c.name) for c in columns)


def _primary_key(filled: list[FileProfile], columns: list[InferredColumn]) -> tuple[str, ...]:
    """An id-like column (or pair of them) unique within every file, with a value in every row."""
    if not filled:
        return ()
    typed = {c.name.lower(): c for c in columns if c.type in KEY_TYPES and c.required}
    unique = set(typed)
    for profile in filled:
        unique &= {e.name.lower() for e in profile.columns if e.unique}
    id_like = [c.name for c in columns if c.name.lower() in unique and ID_LIKE.search(c.name)]
    if id_like:
        return (id_like[0],)
    pairs = set(filled[0].unique_pairs)
    for profile in filled[1:]:
        pairs &= profile.unique_pairs
    order = {c.name.lower(): i for i, c in enumerate(columns)}
    pairs = {p for p in pairs if p[0].lower() in typed and p[1].lower() in typed}
    if pairs:
        a, b = min(pairs, key=lambda p: (order[p[0].lower()], order[p[1].lower()]))
        return (typed[a.lower()].name, typed[b.lower()].name)
    return ()


def _event_time(columns: list[InferredColumn], by_name: dict[str, list[ColumnEvidence]],
                rows: int) -> tuple[str | None, str]:
    """The column that says when a row happened: the only date column, or the likeliest by name."""
    dated = [c for c in columns if c.type in (ColumnType.DATE, ColumnType.TIMESTAMP)]
    if not dated:
        return None, ""
    if len(dated) == 1:
        if NOT_EVENT.search(dated[0].name):
            return dated[0].name, "the only date or timestamp column, though its name may not say when a row " \
                                  "happened: CHECK"
        return dated[0].name, "the only date or timestamp column"

    def score(index_column: tuple[int, InferredColumn]) -> tuple:
        index, column = index_column
        name = column.name
        points = 2 * bool(EVENT_WORDS.search(name)) + bool(TIME_WORDS.search(name)) - 3 * bool(NOT_EVENT.search(name))
        complete = sum(e.values for e in by_name[name.lower()]) == rows
        return (-points, not complete, index)

    chosen = min(enumerate(dated), key=score)[1]
    others = ", ".join(c.name for c in dated if c is not chosen)
    return chosen.name, f"proposed from its name; the other date columns are {others}: CHECK"
