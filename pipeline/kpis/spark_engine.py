"""The Spark engine (`engine: spark`): sources read, checked and queried by Apache Spark.

Spark reads the exports and holds each source as a persisted view (see
`pipeline.sources.spark_ingest`); the `periods` table is a small view too;
KPI, check and ad hoc queries run translated to Spark SQL (see `spark_sql`)
and only their small results come back to this process. Pulse's own records
stay in the local working database (`local`). A query runs at most
`engine.query_timeout` seconds when that is set. See `pipeline.core.engine`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import date

import duckdb

from pipeline.config import ProjectConfig
from pipeline.core.engine import IngestReport, Progress, QueryRequest, QueryRows
from pipeline.core.errors import QueryError
from pipeline.core.periods import Period
from pipeline.sources import spark_ingest
from pipeline.sources.spark_session import first_line, open_session

from .spark_sql import SparkQuery, spark_error, spark_query


class SparkEngine:
    """Sources, checks and queries on a Spark session (local or Spark Connect)."""

    kind = "spark"

    def __init__(self, config: ProjectConfig, con: duckdb.DuckDBPyConnection) -> None:
        self.config = config
        self.local = con
        self.spark = open_session(config)
        self._sources: dict[str, spark_ingest.SparkSource] = {}

    def load_sources(self, progress: Progress) -> IngestReport:
        report, self._sources = spark_ingest.load_sources(self.spark, self.config, progress)
        return report

    def register_periods(self, window: Sequence[Period]) -> None:
        frame = self.spark.createDataFrame([(p.start, p.end, p.label) for p in window],
                                           "period_start date, period_end date, label string")
        frame.createOrReplaceTempView("periods")

    def _query(self, request: QueryRequest) -> SparkQuery:
        return spark_query(request, list(self.config.sources))

    def query_text(self, request: QueryRequest) -> str:
        return self._query(request).sql

    def run_select(self, request: QueryRequest) -> QueryRows:
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
        timeout = self.config.engine.query_timeout
        tag = f"pulse-{uuid.uuid4().hex}"
        timer = None
        if timeout:
            self.spark.addTag(tag)
            timer = threading.Timer(timeout, lambda: self.spark.interruptTag(tag))
            timer.start()
        try:
            return frame.collect()
        except Exception as exc:
            if timer is not None and not timer.is_alive():
                raise QueryError(f"{request.shown}: stopped after {timeout:g} s (engine.query_timeout)",
                                 "make the query cheaper, or raise query_timeout in config/pulse.yaml") from None
            raise spark_error(request, query, first_line(exc)) from None
        finally:
            if timer is not None:
                timer.cancel()
                self.spark.removeTag(tag)

    def duplicate_keys(self, source: str) -> tuple[int, str | None]:
        found = self._sources[source].duplicate_keys
        return sum(found.values()), min((f for f, n in found.items() if n), default=None)

    def latest_date(self) -> date | None:
        return spark_ingest.latest_date(self.spark, self.config)

    def describe(self) -> str:
        return f"spark {self.spark.version}"

    def close(self) -> None:
        """Release the sources' cached rows and views; the session stays for this process."""
        for name, held in self._sources.items():
            try:
                self.spark.catalog.dropTempView(name)
                held.frame.unpersist()
            except Exception:  # a session already stopped has nothing left to release
                pass
        self._sources = {}
        self.local.close()
