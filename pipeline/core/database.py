"""The project's DuckDB database: opening it and quoting identifiers.

The session TimeZone is always set explicitly to the project's reporting zone,
never left to the machine. `memory_limit` (e.g. "1.5GB") and `threads` come
from config/pulse.yaml; past the limit DuckDB spills to disk instead of
growing.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .errors import WorkdirError


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB; the only place identifiers enter SQL text."""
    return '"' + name.replace('"', '""') + '"'


def connect(path: Path | None, timezone: str, memory_limit: str | None = None,
            threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the database at `path`, or an in-memory one."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path) if path is not None else ":memory:")
    except duckdb.IOException as exc:
        raise WorkdirError(
            f"{path}: cannot open the working database: {str(exc).splitlines()[0]}",
            "another pulse command may be running on this project; wait for it or delete the file to rebuild",
        ) from None
    con.execute("SET TimeZone = $tz", {"tz": timezone})
    try:
        if memory_limit:
            con.execute("SET memory_limit = $limit", {"limit": memory_limit})
        if threads:
            con.execute("SET threads = $threads", {"threads": threads})
    except duckdb.Error as exc:
        con.close()
        raise WorkdirError(f"config/pulse.yaml: project: memory_limit / threads: {first_line(exc)}",
                         "use a size such as 1.5GB and a whole number of threads") from None
    return con


def connect_project(config) -> duckdb.DuckDBPyConnection:
    """The project's working database, with its configured memory limit and threads."""
    settings = config.project
    return connect(config.workdir / "pulse.duckdb", settings.timezone, settings.memory_limit, settings.threads)


def first_line(exc: BaseException) -> str:
    """DuckDB's message without its multi-line context block."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
