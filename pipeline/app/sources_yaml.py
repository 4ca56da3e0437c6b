"""config/sources.yaml written from inferred sources (`pulse init --from`), every proposal explained.

What the files decide is written as configuration; what Pulse only proposes
(a primary key, the event-time column) carries a CHECK comment; what the files
leave open (a date column that reads day-first and month-first, numbers whose
decimal separator no value shows) is written as `CHOOSE` with the choices in a
comment above it: the project does not load until the user picks one, so
nothing is ever read the wrong way round.
"""

from __future__ import annotations

import os
import re
from fnmatch import fnmatchcase
from pathlib import Path

from pipeline.core.database import quote_ident
from pipeline.sources.inference import Inference, InferredSource, Question

from .scaffold import kpi_query, quoted, scalar

CHOOSE = "CHOOSE"
RESERVED = {"all", "and", "as", "asc", "by", "case", "date", "desc", "end", "from", "group", "join", "limit", "on",
            "or", "order", "select", "table", "time", "timestamp", "to", "user", "where"}
MAX_UP = 2  # exports at most this many folders above the project are named relatively (../exports)
ENCODINGS = {"cp1252": "Windows-1252 / Latin-1", "utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}


def project_path(pattern: str, root: Path) -> tuple[str, bool]:
    """A glob as config/sources.yaml names it: relative to the project, and whether it leaves the project."""
    root_abs = os.path.abspath(root)
    relative = os.path.relpath(pattern, root_abs)
    if not relative.startswith(".."):
        return relative, False
    ups = len([part for part in Path(relative).parts if part == ".."])
    near = os.path.commonpath([root_abs, os.path.abspath(pattern)]) != Path(root_abs).anchor and ups <= MAX_UP
    return (relative if near else pattern), True


def sources_yaml(inference: Inference, root: Path, made: str) -> str:
    lines = [
        "# Where the exports are and what columns they hold, written by `pulse init --from` from",
        f"# {made}. Read it once: CHECK marks what Pulse proposes, CHOOSE what only you can decide",
        "# (the project does not load until every CHOOSE is replaced by one of the values listed above it).",
        "# Every key is explained in Pulse's docs/configuration.md 'Sources'.",
        "# Types: text, integer, number, date, timestamp, boolean; required: false = some files lack the column.",
        "sources:",
    ]
    for index, source in enumerate(inference.sources):
        if index:
            lines.append("")
        lines += _source(source, root)
    return "\n".join(lines) + "\n"


def _source(source: InferredSource, root: Path) -> list[str]:
    span = ""
    if source.first_event and source.last_event:
        span = f", {source.first_event.isoformat()} to {source.last_event.isoformat()}"
    lines = [f"  {source.name}:",
             f"    # {len(source.files)} file(s), {source.rows:,} rows{span}",
             "    description: ''"]
    for note in source.notes:
        lines.append(f"    # CHECK: {note}")
    lines.append("    paths:")
    for pattern in source.patterns:
        path, _outside = project_path(pattern, root)
        count = sum(1 for f in source.files if _matches(f, pattern))
        lines.append(f"      - {scalar(path)}" + (f"   # {count} files" if count > 1 else ""))
    lines += _options(source)
    lines.append("    columns:")
    for column in source.columns:
        spec = f"type: {column.type.value}" + ("" if column.required else ", required: false")
        comment = [] if column.required else ["missing in some files"]
        if column.note:
            comment.append(column.note)
        lines.append(f"      {scalar(column.name)}: {{{spec}}}" + (f"   # {'; '.join(comment)}" if comment else ""))
    if source.primary_key:
        key = ", ".join(scalar(k) for k in source.primary_key)
        lines.append(f"    primary_key: [{key}]   # CHECK: unique within every file; a later file's row replaces "
                     "an earlier one with the same key")
    else:
        lines.append("    # primary_key: [...]   # no id-like column is unique within every file: rows are kept "
                     "as they are")
    lines += _event_time(source)
    return lines


def _matches(path: Path, pattern: str) -> bool:
    return fnmatchcase(str(path), pattern)


def _options(source: InferredSource) -> list[str]:
    active: list[str] = []
    if source.delimiter:
        active.append(f"      delimiter: {quoted('tab' if source.delimiter == chr(9) else source.delimiter)}")
    questions = {q.key: q for q in source.questions}
    if "options.decimal" in questions:
        active += _question(questions["options.decimal"], "decimal")
    elif source.decimal:
        note = f"   # {source.decimal_note}" if source.decimal_note else ""
        active.append(f"      decimal: {quoted(source.decimal)}{note}")
    for key, value in (("date_format", source.date_format), ("timestamp_format", source.timestamp_format)):
        if f"options.{key}" in questions:
            active += _question(questions[f"options.{key}"], key)
        elif value:
            active.append(f"      {key}: {quoted(value)}")
    lines = []
    if source.encodings:
        found = ", ".join(f"{e} ({ENCODINGS.get(e, e)})" for e in source.encodings)
        lines.append(f"    # encoding: detected per file, found {found}; set options.encoding only to force one")
    return lines + (["    options:", *active] if active else [])


def _question(question: Question, key: str) -> list[str]:
    lines = [f"      # CHOOSE {key}: {question.text}; one of:"]
    lines += [f"      #   {key}: {quoted(value)}   # {meaning}" for value, meaning in question.choices]
    lines.append(f"      {key}: {CHOOSE}")
    return lines


def _event_time(source: InferredSource) -> list[str]:
    if source.event_time is None:
        return ["    # no date or timestamp column: this source cannot be counted per period"]
    note = f"   # {source.event_note}" if source.event_note else ""
    return [f"    event_time: {scalar(source.event_time)}{note}"]


def example_kpi(source: InferredSource) -> tuple[str, str, str]:
    """(KPI id, title, query text) of the example KPI: the source's rows per period."""
    assert source.event_time is not None
    title = f"{source.name.replace('_', ' ').capitalize()} rows"
    return f"{source.name}_rows", title, kpi_query(title, source.name, sql_name(source.event_time))


def sql_name(name: str) -> str:
    """A column name as SQL text: plain when it can be, else quoted."""
    plain = re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in RESERVED
    return name if plain else quote_ident(name)
