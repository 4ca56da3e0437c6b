"""The Spark engine (`engine: spark`): sources read, checked and queried by Apache Spark.

Spark reads the exports and holds each source as a persisted view (see
`pipeline.sources.spark_ingest`); the `periods` table is a small view too;
KPI, check and ad hoc queries run translated to Spark SQL (see `spark_sql`)
and only their small results come back to this process. The sandbox's rules
hold: one read-only SELECT per query, refused in the same words as on DuckDB
(see `spark_sql.check`), reading only the sources and `periods`, stopped at
its time limit (`project.query_timeout`, `pulse query --timeout`). Pulse's own
records stay in the local working database, read through the query sandbox
(`local`). See `pipeline.core.engine`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

import duckdb

from pipeline.config import ProjectConfig
from pipeline.core.engine import IngestReport, Progress, QueryRequest, QueryRows
from pipeline.core.errors import QueryError
from pipeline.core.periods import Period
from pipeline.core.sandbox import Sandbox
from pipeline.sources import spark_ingest
from pipeline.sources.spark_session import first_line, open_session

from .spark_sql import SparkQuery, check, spark_error, spark_query


class SparkEngine:
    """Sources, checks and queries on a Spark session (local or Spark Connect)."""

    kind = "spark"

    def __init__(self, config: ProjectConfig, sandbox: Sandbox) -> None:
        self.config = config
        self.sandbox = sandbox
        self.spark = open_session(config)
        self._sources: dict[str, spark_ingest.SparkSource] = {}

    @property
    def local(self) -> duckdb.DuckDBPyConnection:
        return self.sandbox.con

    def load_sources(self, con: duckdb.DuckDBPyConnection, progress: Progress) -> IngestReport:
        """Spark reads every source into its session; the working database `con` is not needed."""
        report, self._sources = spark_ingest.load_sources(self.spark, self.config, progress)
        return report

    def register_periods(self, window: Sequence[Period]) -> None:
        frame = self.spark.createDataFrame([(p.start, p.end, p.label) for p in window],
                                           "period_start date, period_end date, label string")
        frame.createOrReplaceTempView("periods")

    def check(self, request: QueryRequest) -> None:
        check(request, list(self.config.sources))

    def _query(self, request: QueryRequest) -> SparkQuery:
        return spark_query(request, list(self.config.sources))

    def query_text(self, request: QueryRequest) -> str:
        return self._query(request).sql

    def run_selects(self, requests: Sequence[QueryRequest]) -> list[QueryRows]:
        """One after another: Spark spreads each query over the cluster."""
        return [self.run_select(r) for r in requests]

    def run_select(self, request: QueryRequest) -> QueryRows:
        self.check(request)
        query = self._query(request)
        try:
            frame = self.spark.sql(query.sql, args=query.params or None)
        except Exception as exc:
            raise spark_error(request, query, first_line(exc)) from None
        # timestamps come back as wall-clock time in the project's zone (naive), as on DuckDB
        fields = frame.schema.fields
        names = [f.name for f in fields]
        if any(f.dataType.simpleString() == "timestamp" for f in fields):
            from pyspark.sql import functions as F

            positional = frame.toDF(*[f"_c{i}" for i in range(len(fields))])
            frame = positional.select(*[
                (F.col(f"_c{i}").cast("timestamp_ntz") if f.dataType.simpleString() == "timestamp"
                 else F.col(f"_c{i}")).alias(f"_c{i}") for i, f in enumerate(fields)])
        rows = self._collect(frame, request, query)
        return QueryRows(names, [tuple(row) for row in rows])

    def _collect(self, frame, request: QueryRequest, query: SparkQuery) -> list:
        """The rows; past the request's time limit its jobs are cancelled (by their tag), again every half
        second until the collect ends, as a job may start after the first cancel (planning takes a while)."""
        limit = request.limit
        if limit is None:
            try:
                return frame.collect()
            except Exception as exc:
                raise spark_error(request, query, first_line(exc)) from None
        tags = _JobTags(self.spark, f"pulse-{uuid.uuid4().hex}")
        done = threading.Event()
        fired = threading.Event()

        def watch(seconds: float) -> None:
            if done.wait(seconds):
                return
            fired.set()
            while not done.is_set():
                tags.cancel()
                done.wait(0.5)

        watcher = threading.Thread(target=watch, args=(limit.seconds,), daemon=True)
        tags.add()
        watcher.start()
        try:
            return frame.collect()
        except Exception as exc:
            if fired.is_set():
                who = f"KPI '{request.kpi}' ({request.shown})" if request.kpi else request.shown
                raise QueryError(f"{who}: stopped after {limit.seconds:g} s, its time limit ({limit.setting})",
                                 limit.hint) from None
            raise spark_error(request, query, first_line(exc)) from None
        finally:
            done.set()
            watcher.join()
            tags.remove()

    def duplicate_keys(self, source: str) -> tuple[int, str | None]:
        found = self._sources[source].duplicate_keys
        return sum(found.values()), min((f for f, n in found.items() if n), default=None)

    def describe(self) -> str:
        return f"spark {self.spark.version}"

    def close(self) -> None:
        """Release the sources' cached rows and views; the session stays for this process, the sandbox
        is the workspace's to close."""
        for name, held in self._sources.items():
            try:
                self.spark.catalog.dropTempView(name)
                held.frame.unpersist()
            except Exception:  # a session already stopped has nothing left to release
                pass
        self._sources = {}


class _JobTags:
    """A tag on the jobs this thread starts, and their cancelling from another thread. A local (classic)
    session tags its SparkContext's jobs (a session tag reaches no job there); Spark Connect has no
    SparkContext in the client and tags the session's operations."""

    def __init__(self, spark, tag: str) -> None:
        self.spark = spark
        self.tag = tag
        try:
            self.context = spark.sparkContext
        except Exception:  # Spark Connect: no SparkContext in this process
            self.context = None

    def add(self) -> None:
        if self.context is not None:
            self.context.addJobTag(self.tag)
        else:
            self.spark.addTag(self.tag)

    def cancel(self) -> None:
        if self.context is not None:
            self.context.cancelJobsWithTag(self.tag)
        else:
            self.spark.interruptTag(self.tag)

    def remove(self) -> None:
        if self.context is not None:
            self.context.removeJobTag(self.tag)
        else:
            self.spark.removeTag(self.tag)
