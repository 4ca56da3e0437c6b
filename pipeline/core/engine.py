"""The engine seam: what the pipeline asks of the database that holds the sources.

Two engines answer it: DuckDB, embedded in the project's working folder (the
default), and Apache Spark (`engine: spark` in config/pulse.yaml), for exports
that outgrow one machine. An engine is opened for one project (the workspace
composes it, see `pipeline.app.workspace`) and then:

- `load_sources` brings every source up to date on the read-write connection
  to the working database it is given (the only time Pulse writes it before
  the queries: DuckDB's ingest loads the sources there, Spark reads them into
  its own session), one row per primary key (the newest file, then the last
  row of a file, wins), and says what it read (`IngestReport`), including
  each source's first and last event (`SourceRange`: the report's "data as
  of", its coverage check, `fill` only inside covered days);
- `check` refuses anything but one read-only SELECT, before a cached result
  is used; `run_select` runs such a SELECT written in DuckDB's dialect (a KPI,
  check or ad hoc query, values bound as `$name` parameters) within its time
  limit and fetches its small result (`QueryRows`); `run_selects` runs a run's
  KPI queries, on DuckDB two at a time;
- `register_periods` makes the `periods` table of a run's window;
- `duplicate_keys` answers the source checks' primary-key check.

Whatever the engine, Pulse's own records (the file bookkeeping of DuckDB's
ingest, the result caches, the quarantine, the delivery ledger and the runs of
`pulse due`) stay in the local working database; queries see it only through
the read-only query sandbox (`local`, see `pipeline.core.sandbox`); reports
and manifests stay local files. Stages after `kpis` get series, scores and
these small values, never an engine, so they cannot tell which one ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

import duckdb

from .periods import Period

ENGINES = ("duckdb", "spark")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class FileLoad:
    """What ingest did with one export file."""

    source: str
    path: str
    status: str  # "loaded", "unchanged" or "removed"
    rows: int  # rows taken into the source's raw table
    sha256: str
    rejected: int = 0  # rows kept out (on_bad_rows: quarantine), listed by `quarantine.rejects`
    skipped_headers: int = 0  # rows repeating the header, dropped
    skipped_blank: int = 0  # rows with every field empty (e.g. trailing ';;;;'), dropped


@dataclass(frozen=True)
class SourceRange:
    """The days a source's events span: [first, last] (both None when it has no event)."""

    source: str
    column: str | None  # the event-time column; None: the source has none (coverage unknown)
    first: date | None = None
    last: date | None = None

    @property
    def known(self) -> bool:
        """Is there an event-time column to measure the source by?"""
        return self.column is not None

    def describe(self) -> str:
        """'sales (order_ts) covers 2024-09-01 … 2026-10-31' or that it has no events."""
        if self.column is None:
            return f"{self.source} has no event time"
        if self.first is None or self.last is None:
            return f"{self.source} has no {self.column} values"
        return f"{self.source} ({self.column}) covers {self.first.isoformat()} … {self.last.isoformat()}"


@dataclass(frozen=True)
class SourceSummary:
    """A source after ingest: its row count, a fingerprint of its files and the days its events span."""

    name: str
    rows: int
    fingerprint: str
    rejected: int = 0  # rows of its current files in quarantine
    path: str = "unchanged"  # "unchanged", "initial", "incremental" (new files appended), "rebuild" or "spark"
    coverage: SourceRange | None = None  # first and last event (see `pipeline.sources.coverage`)


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileLoad, ...]
    sources: tuple[SourceSummary, ...]

    @property
    def loaded(self) -> list[FileLoad]:
        return [f for f in self.files if f.status == "loaded"]

    @property
    def rejected(self) -> dict[str, int]:
        """Rows in quarantine per source (sources without any are left out)."""
        return {s.name: s.rejected for s in self.sources if s.rejected}

    @property
    def coverage(self) -> dict[str, SourceRange]:
        """Each source's first and last event."""
        return {s.name: s.coverage or SourceRange(s.name, None) for s in self.sources}


@dataclass(frozen=True)
class TimeLimit:
    """How long a query may run, and how the user sets that (named when it stops one)."""

    seconds: float
    setting: str  # e.g. "project.query_timeout in config/pulse.yaml" or "--timeout"
    hint: str


@dataclass(frozen=True)
class QueryRequest:
    """One SELECT for the engine: DuckDB-dialect text, its bound values, how messages name it.

    `kpi` and `path` are set for a KPI query: errors then name the KPI, and an
    engine may use a hand-written version of the query beside `path` (Spark:
    `<query>.spark.sql`). `rule` ends a refusal of user-written SQL (e.g. "a
    KPI file holds exactly one SELECT"); None marks Pulse's own SQL (the source
    checks). `explain`: an EXPLAIN of one SELECT is allowed too (`pulse query`,
    on DuckDB).
    """

    sql: str
    params: dict[str, object]
    shown: str  # a file path, "query text", or a check's name
    kpi: str | None = None
    path: Path | None = None
    rule: str | None = None
    limit: TimeLimit | None = None
    explain: bool = False


@dataclass(frozen=True)
class QueryRows:
    """A query's small result: column names and rows of Python values (dates, numbers, text)."""

    columns: list[str]
    rows: list[tuple] = field(default_factory=list)


class Engine(Protocol):
    """What the pipeline asks of the database; see the module's docstring."""

    kind: str  # "duckdb" or "spark"

    @property
    def local(self) -> duckdb.DuckDBPyConnection:
        """The working database, read-only (the query sandbox): result caches, quarantine records."""
        ...

    def load_sources(self, con: duckdb.DuckDBPyConnection, progress: Progress) -> IngestReport:
        """Bring the sources up to date; `con` is the working database, read-write, closed afterwards."""
        ...

    def register_periods(self, window: Sequence[Period]) -> None: ...

    def check(self, request: QueryRequest) -> None:
        """Refuse (QueryError, exit 2) anything but one read-only SELECT: file, statement, why."""
        ...

    def query_text(self, request: QueryRequest) -> str:
        """The text the engine runs for `request` (a translation or an override; for the cache key)."""
        ...

    def run_select(self, request: QueryRequest) -> QueryRows:
        """Check and run one SELECT within `request.limit`, and fetch its rows."""
        ...

    def run_selects(self, requests: Sequence[QueryRequest]) -> list[QueryRows]:
        """`run_select` for each request (some at once where the engine can), results in the requests' order;
        when any fails, the error of the first failing request in that order is raised."""
        ...

    def duplicate_keys(self, source: str) -> tuple[int, str | None]:
        """Primary-key values repeated within one file of `source`, and a file where that happens."""
        ...

    def describe(self) -> str:
        """The engine and its version, for the manifest's versions and the cache keys."""
        ...

    def close(self) -> None:
        """Release what the engine holds for its queries (the sandbox stays the workspace's)."""
        ...
