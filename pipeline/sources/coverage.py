"""What each source covers: the first and the last day of its event time.

A source's event-time column (`event_time` in config/sources.yaml, or its only
date/timestamp column) says when a row happened. Its first and last value, as
dates in the reporting time zone, bound the periods the source can speak for:
they give a report's "data as of", fill a KPI's missing periods only where
the source has data, and let the gate refuse a period the data does not reach
(see `pipeline.checks.coverage`). Kept in `_pulse_coverage` until a file, the
contract or the time zone changes, so an unchanged project does not rescan.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import duckdb

from pipeline.core.database import quote_ident
from pipeline.core.engine import SourceRange

if TYPE_CHECKING:
    from pipeline.config import SourceConfig

__all__ = ["SourceRange", "source_range"]


def source_range(con: duckdb.DuckDBPyConnection, name: str, source: SourceConfig, state: str,
                 timezone: str) -> SourceRange:
    """The source's event-time range (its table is up to date), computed once per `state` (its files and
    contract) and time zone."""
    column = source.event_column
    if column is None:
        return SourceRange(name, None)
    key = hashlib.sha256(json.dumps([name, column, state, timezone]).encode()).hexdigest()
    found = con.execute("SELECT first_event, last_event FROM _pulse_coverage WHERE key = $k", {"k": key}).fetchall()
    if found:
        return SourceRange(name, column, found[0][0], found[0][1])
    col = quote_ident(column)
    # a timestamp's date is its date in the session's (reporting) time zone
    first, last = con.execute(
        f"SELECT CAST(min({col}) AS DATE), CAST(max({col}) AS DATE) FROM {quote_ident(name)}"
    ).fetchall()[0]
    con.execute("DELETE FROM _pulse_coverage WHERE source = $s", {"s": name})
    con.execute("INSERT INTO _pulse_coverage VALUES ($k, $s, $f, $l)", {"k": key, "s": name, "f": first, "l": last})
    return SourceRange(name, column, first, last)
