"""Cached KPI query results and data-quality checks, in the working database.

A KPI query's result depends only on its SQL text, the values bound to it,
the period window and the data it reads. Its rows are stored in
`_pulse_kpi_cache` under a hash of exactly those (the data as the
fingerprints of the files and column contracts of the sources the query
names, plus the time zone and the DuckDB version), so a run whose exports did
not change, for example after a template edit, renders without querying, and
a new support export leaves the sales KPIs cached. Changing a query, a
parameter, an export it reads or the window is a different key: a miss, and
the query runs. A query naming anything but sources (and `periods`), or one
that does not parse, depends on every source. Check results are kept the same
way (`_pulse_check_cache`), keyed by the source's checks configuration, the
data and the period and day checked.

`pulse run --no-cache` (`enabled=False`) neither reads nor writes the cache.
Values are stored as JSON (dates and decimals tagged), never pickled.

Queries run on the read-only sandboxed connection (see `pipeline.core.sandbox`),
so the cache reads its tables through the connection it is given and keeps new
results in memory until `flush` writes them on a read-write connection, after
the sandbox is closed. The workspace creates the tables while it ingests,
hands its cache to `kpis.run_kpis` and `checks.run_source_checks`, and flushes
it when it closes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import duckdb

from . import tables
from .sql_text import tables_named

KPI_TABLE = "_pulse_kpi_cache"
CHECK_TABLE = "_pulse_check_cache"
KEEP = 2000  # entries kept per table (oldest dropped first)


def encode(value: object) -> object:
    if isinstance(value, dict):
        return {"map": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"text": str(value)}


def decode(value: object) -> object:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        (kind, inner), = value.items()
        if kind == "map":
            return {k: decode(v) for k, v in inner.items()}
        return {"datetime": datetime.fromisoformat, "date": date.fromisoformat, "decimal": Decimal,
                "text": str}[kind](inner)
    return value


def _digest(parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def sources_read(sql: str, sources: list[str]) -> list[str] | None:
    """The sources a query reads: the tables it names that are sources (their views, in the main
    schema, any case) or their raw tables; None when it names anything else but `periods`, names no
    source, or does not parse (then it depends on every source)."""
    names = tables_named(sql)
    if names is None:
        return None
    known = {name.lower(): name for name in sources} | {f"_raw_{name}".lower(): name for name in sources}
    read: set[str] = set()
    for written in names:
        bare = written.removeprefix("main.").strip('"').lower()
        if bare == "periods":
            continue
        if bare not in known or ("." in written and not written.startswith("main.")):
            return None
        read.add(known[bare])
    return sorted(read) or None  # no source named: it may read files by itself


class ResultCache:
    """Look up and store KPI results and check results for one open workspace.

    `contracts` are the sources' configurations (as JSON-able values) and
    `fingerprints` their files' hashes: together the data a result depends on.
    """

    def __init__(self, contracts: dict[str, object], fingerprints: dict[str, str], timezone: str,
                 enabled: bool = True, engine: str | None = None) -> None:
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self._contracts = contracts
        self._fingerprints = fingerprints
        # the engine that computes the results (DuckDB's version by default; Spark's when it runs them)
        self._data = {"sources": fingerprints, "contracts": self._contracts, "timezone": timezone,
                      "duckdb": duckdb.__version__ if engine is None or engine.startswith("duckdb") else engine}
        self._new_kpis: dict[str, tuple[str, str]] = {}  # key -> (kpi, result JSON), not yet written
        self._new_checks: dict[str, tuple[str, str]] = {}  # key -> (source, result JSON)

    @staticmethod
    def prepare(con: duckdb.DuckDBPyConnection) -> None:
        """Create the cache tables (on a read-write connection, before queries run)."""
        tables.ensure(con, *tables.CACHE)

    @property
    def pending(self) -> bool:
        """New results not yet written (see `flush`)."""
        return bool(self._new_kpis or self._new_checks)

    def flush(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the new results on a read-write connection and keep the newest `KEEP` of each table."""
        for table, new, column in ((KPI_TABLE, self._new_kpis, "kpi"), (CHECK_TABLE, self._new_checks, "source")):
            if not new:
                continue
            con.executemany(f"INSERT OR REPLACE INTO {table} (key, {column}, result) VALUES ($k, $n, $r)",
                            [{"k": key, "n": name, "r": result} for key, (name, result) in new.items()])
            con.execute(f"DELETE FROM {table} WHERE key IN (SELECT key FROM {table} "
                        "ORDER BY stored_at DESC OFFSET $keep)", {"keep": KEEP})
            new.clear()

    # -- KPI query results ------------------------------------------------------
    def kpi_key(self, kpi_id: str, sql: str, params: dict[str, object], window: list, ran: str | None = None) -> str:
        """`ran`: the text the engine runs when it is not `sql` (a translation, an override file)."""
        periods = [(p.start.isoformat(), p.end.isoformat(), p.label) for p in window]
        bound = {k: encode(v) for k, v in sorted(params.items())}
        read = sources_read(sql, list(self._contracts))
        data = self._data if read is None else {
            **self._data, "sources": {s: self._fingerprints.get(s) for s in read},
            "contracts": {s: self._contracts[s] for s in read}}
        parts = {"kpi": kpi_id, "sql": sql, "params": bound, "periods": periods, "data": data}
        if ran is not None and ran != sql:
            parts["ran"] = ran
        return _digest(parts)

    def get_kpi(self, con: duckdb.DuckDBPyConnection, key: str) -> tuple[list[str], list[tuple]] | None:
        if not self.enabled:
            return None
        found = _stored(con, KPI_TABLE, key, self._new_kpis)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        stored = json.loads(found)
        return stored["columns"], [tuple(decode(v) for v in row) for row in stored["rows"]]

    def put_kpi(self, key: str, kpi_id: str, columns: list[str], rows: list[tuple]) -> None:
        if not self.enabled:
            return
        self._new_kpis[key] = (kpi_id, json.dumps({"columns": columns, "rows": [[encode(v) for v in row] for row in rows]}))

    # -- data-quality checks ----------------------------------------------------
    def checks(self, con: duckdb.DuckDBPyConnection, source: str, parts: object,
               compute: Callable[[], list[dict]]) -> list[dict]:
        """The source's check results (as JSON-able records) for `parts` (its checks config, period,
        day), computed on a miss."""
        if not self.enabled:
            return compute()
        key = _digest({"source": source, "parts": parts, "data": self._data})
        found = _stored(con, CHECK_TABLE, key, self._new_checks)
        if found is not None:
            self.hits += 1
            return [decode(item) for item in json.loads(found)]
        self.misses += 1
        results = compute()
        self._new_checks[key] = (source, json.dumps([encode(item) for item in results]))
        return results


def _stored(con: duckdb.DuckDBPyConnection, table: str, key: str, new: dict[str, tuple[str, str]]) -> str | None:
    """The result stored under `key`: one of this run's, else the table's."""
    if key in new:
        return new[key][1]
    found = con.execute(f"SELECT result FROM {table} WHERE key = $k", {"k": key}).fetchall()
    return found[0][0] if found else None
