"""Quarantined rows: kept out of the source tables, listed in `_pulse_rejects`.

A source with `on_bad_rows: quarantine` loads the rows that parse and stores
every problem of the others here, one row per bad value (or per unreadable
row): source, file, line, column, the text found and why it was rejected. A
file's rejects are replaced when it is reloaded and removed with the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # the checks read the rejects on every command without the loaders' modules
    from .csv_reader import RawReject

TABLE = "_pulse_rejects"


@dataclass(frozen=True)
class Reject:
    source: str
    file: str
    line: int
    column_name: str | None
    value: str | None
    reason: str

    def where(self) -> str:
        column = f" column '{self.column_name}'" if self.column_name else ""
        shown = "" if self.value is None else f": '{self.value}'"
        return f"{self.file}:{self.line}:{column} {self.reason}{shown}"


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = $t AND NOT temporary", {"t": TABLE}
    ).fetchall()[0][0] > 0


def rejects(con: duckdb.DuckDBPyConnection, source: str | None = None) -> list[Reject]:
    """Every quarantined value (of one source, or all), by source, file and line."""
    if not _exists(con):
        return []
    rows = con.execute(
        f"SELECT source, file, line, column_name, value, reason FROM {TABLE} "
        "WHERE $source IS NULL OR source = $source ORDER BY source, file, line, column_name NULLS FIRST",
        {"source": source},
    ).fetchall()
    return [Reject(*row) for row in rows]


def rejected_rows(con: duckdb.DuckDBPyConnection, source: str, file: str | None = None) -> int:
    """How many rows (distinct file lines) of a source, or of one of its files, were kept out."""
    if not _exists(con):
        return 0
    return con.execute(
        f"SELECT count(DISTINCT (file, line)) FROM {TABLE} WHERE source = $s AND ($f IS NULL OR file = $f)",
        {"s": source, "f": file},
    ).fetchall()[0][0]


def rejected_by_file(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    """Rows kept out per file of a source (files without any left out)."""
    if not _exists(con):
        return {}
    return dict(con.execute(
        f"SELECT file, count(DISTINCT line) FROM {TABLE} WHERE source = $s GROUP BY file", {"s": source}
    ).fetchall())


def forget(con: duckdb.DuckDBPyConnection, source: str, file: str | None = None) -> None:
    """Remove the rejects of a file (reloaded or gone), or of a whole source."""
    con.execute(f"DELETE FROM {TABLE} WHERE source = $s AND ($f IS NULL OR file = $f)", {"s": source, "f": file})


def forget_other_sources(con: duckdb.DuckDBPyConnection, sources: list[str]) -> None:
    con.execute(f"DELETE FROM {TABLE} WHERE NOT list_contains($names, source)", {"names": sources})


def record_unreadable(con: duckdb.DuckDBPyConnection, source: str, file: str, found: tuple[RawReject, ...]) -> None:
    """Store rows the reader could not parse (wrong field count, open quote)."""
    if not found:
        return
    con.execute(
        f"INSERT INTO {TABLE} SELECT $s, $f, unnest($lines), unnest($columns), unnest($values), unnest($reasons)",
        {"s": source, "f": file, "lines": [r.line for r in found], "columns": [r.column for r in found],
         "values": [r.value for r in found], "reasons": [r.reason for r in found]},
    )


def record_bad_values(con: duckdb.DuckDBPyConnection, source: str, file: str, column: str, bad: str, raw_text: str,
                      reason: str, params: dict) -> None:
    """Store the staged values of `column` that match the SQL condition `bad`."""
    from .casting import bound
    from .csv_reader import STAGE_TABLE

    sql = f"INSERT INTO {TABLE} SELECT $s, $f, _line, $column, {raw_text}, $reason FROM {STAGE_TABLE} WHERE {bad}"
    con.execute(sql, {**bound(sql, params), "s": source, "f": file, "column": column, "reason": reason})
