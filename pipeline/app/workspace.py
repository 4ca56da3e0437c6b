"""An open project: config, engine, ingested sources, and the numbers asked of it.

`open_workspace` loads the config, opens the engine the project names
(`engine:` in config/pulse.yaml: DuckDB, embedded, by default, or Spark; see
`pipeline.core.engine`), brings every source up to date on a read-write
connection to the working database and closes it; checks, KPI and ad hoc
queries then run read-only: on DuckDB in the query sandbox (see
`pipeline.core.sandbox`), opened when first used, on Spark under the same
statement rules, with the sandbox holding the caches it reads. Closing the workspace (`close`, or leaving its `with`
block) closes the sandbox and writes the results this run added to the cache
on a read-write connection again (not when the block ends in an error: a
failed command leaves the working database as ingest left it). The functions below compute what the
commands show (the gate, KPI series and results, OKR scores) for a report
period. The runner and the interactive commands (`pulse kpis`, `okrs`,
`check`, `query`) share them. This is the one place that chooses the engine;
the stages after `kpis` get series and scores, never the engine.

What a report claims about its data comes from the sources its KPIs read
(OKR key results' KPIs included): its gate checks those sources, its "data as
of" is the last event date they all reach, and a period they only partly
cover is marked partial (see `pipeline.checks.coverage`). Each source's first
and last event are measured while it loads (on DuckDB, on ingest's read-write
connection; on Spark, in its session).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipeline.checks.coverage import PeriodCoverage, sources_coverage
from pipeline.checks.gate import quality_gate as run_gate
from pipeline.checks.gate import run_checks, warning_lines
from pipeline.checks.source_checks import CheckResult
from pipeline.config import ProjectConfig, ReportConfig, load_project
from pipeline.core import database
from pipeline.core.engine import Engine, IngestReport
from pipeline.core.periods import Calendar, Grain, Period, history_back, today_in
from pipeline.core.result_cache import ResultCache
from pipeline.core.sandbox import Sandbox
from pipeline.core.timings import Timings
from pipeline.kpis import queries as kpis
from pipeline.kpis.comparisons import KpiResult, compare
from pipeline.kpis.lineage import kpi_sources, sources_of
from pipeline.kpis.queries import Series
from pipeline.okrs.checkins import latest_by_kr, load_checkins
from pipeline.okrs.cycles import CycleResult, CycleWindow, choose_cycle, evaluate, kr_ids
from pipeline.sources.coverage import SourceRange
from pipeline.sources.paths import sandbox_rules

from . import warm
from .lock import project_lock

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class Workspace:
    """An open project: its config, engine, ingest report, the sandbox (the working database, read-only)
    and its result cache."""

    config: ProjectConfig
    sandbox: Sandbox
    ingest: IngestReport
    engine: Engine
    cache: ResultCache | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The sandboxed, read-only connection (opened when first used)."""
        return self.sandbox.con

    def close(self, keep_results: bool = True) -> None:
        """Release the engine, close the sandbox, then write the results this run added to the cache
        (read-write) unless `keep_results` is false (a command that failed writes nothing)."""
        try:
            self.engine.close()
        finally:
            self.sandbox.close()
        if keep_results and self.cache is not None and self.cache.pending:
            con = database.connect_project(self.config)
            try:
                self.cache.flush(con)
            finally:
                con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        self.close(keep_results=exc_type is None)

    @property
    def ranges(self) -> dict[str, SourceRange]:
        """Each source's first and last event."""
        return self.ingest.coverage


def open_workspace(root: Path, progress: Progress = _quiet, timings: Timings | None = None,
                   use_cache: bool = True, config: ProjectConfig | None = None,
                   loading: Callable[[], None] | None = None) -> Workspace:
    """Load the config (unless given), open its engine, bring sources up to date and prepare the query sandbox.

    Ingest is the only writer: its read-write connection is closed before any
    query runs. KPI and check results are cached (see
    `pipeline.core.result_cache`) unless `use_cache` is false. `loading` is
    called before the exports are looked at (a warm start does not look at them).
    """
    config = config or load_project(root)
    started = time.perf_counter()
    sandbox = open_sandbox(config)
    engine = open_engine(config, sandbox)
    try:
        # DuckDB: nothing changed since an ingest that found nothing to do (Spark reads in every session)
        state = warm.load(config, use_cache) if engine.kind == "duckdb" else None
        if state is not None:
            report = state.ingest
        else:
            if loading is not None:
                loading()
            con = database.connect_project(config)
            try:
                progress("loading exports")
                report = engine.load_sources(con, progress)
                if use_cache:
                    ResultCache.prepare(con)
            finally:
                con.close()
            if engine.kind == "duckdb":
                warm.save(config, warm.WarmState(report, use_cache))
    except BaseException:
        engine.close()
        sandbox.close()
        raise
    cache = ResultCache({name: source.model_dump(mode="json") for name, source in config.sources.items()},
                        {s.name: s.fingerprint for s in report.sources}, config.project.timezone, use_cache,
                        engine=engine.describe())
    if timings is not None:
        timings.measure("ingest", started)
    return Workspace(config=config, sandbox=sandbox, ingest=report, engine=engine, cache=cache)


def open_engine(config: ProjectConfig, sandbox: Sandbox) -> Engine:
    """The engine `engine:` in config/pulse.yaml names; `sandbox` is the working database, read-only."""
    if config.engine.name == "spark":
        from pipeline.kpis.spark_engine import SparkEngine  # PySpark loads only for a Spark project

        return SparkEngine(config, sandbox)
    from pipeline.kpis.duckdb_engine import DuckDBEngine

    return DuckDBEngine(config, sandbox)


def open_sandbox(config: ProjectConfig) -> Sandbox:
    """The project's query sandbox: its working database read-only, files where the project allows."""
    settings = config.project
    return Sandbox(config.workdir / "pulse.duckdb", settings.timezone, sandbox_rules(config), settings.memory_limit,
                   settings.threads)


def calendar_for(config: ProjectConfig, grain: Grain) -> Calendar:
    return Calendar(grain=grain, fiscal_year_start=config.project.fiscal_year_start)


def resolve_period(config: ProjectConfig, grain: Grain, text: str | None, now: datetime | None = None) -> Period:
    """The report period for `--period` (default `last`), in the project's zone."""
    today = today_in(config.project.timezone, now)
    return calendar_for(config, grain).parse(text or "last", today)


def report_window(calendar: Calendar, period: Period, since: Period | None = None) -> list[Period]:
    """The trend/last-year window, stretched back to `since` (e.g. before an OKR cycle)."""
    window = calendar.window(period, history_back(calendar.grain))
    if since is not None and since.start < window[0].start:
        current, earlier = window[0], []
        while current.start > since.start:
            current = calendar.shift(current, -1)
            earlier.append(current)
        window = list(reversed(earlier)) + window
    return window


def report_cycle(config: ProjectConfig, report: ReportConfig, calendar: Calendar, period: Period) -> CycleWindow | None:
    """The OKR cycle a report shows for `period` (None: the report shows no OKRs)."""
    return choose_cycle(config.okrs, calendar, period) if config.okrs and report.okrs else None


def cycle_kpis(cycle: CycleWindow | None) -> list[str]:
    """The KPIs the cycle's key results are measured by."""
    if cycle is None:
        return []
    return sorted({kr.kpi for o in cycle.config.objectives.values() for kr in o.key_results.values() if kr.kpi})


@dataclass(frozen=True)
class ReportScope:
    """What a report reads for a period: its KPIs (shown, and its key results' KPIs), their sources, its cycle."""

    kpis: tuple[str, ...]
    sources: tuple[str, ...]
    cycle: CycleWindow | None


def report_scope(config: ProjectConfig, report: ReportConfig, calendar: Calendar, period: Period) -> ReportScope:
    cycle = report_cycle(config, report, calendar, period)
    ids = tuple(dict.fromkeys([*report.kpis, *cycle_kpis(cycle)]))
    return ReportScope(ids, tuple(sources_of(config, ids)), cycle)


def quality_gate(ws: Workspace, calendar: Calendar, period: Period, now: datetime | None = None,
                 sources: Sequence[str] | None = None) -> list[CheckResult]:
    """Run the checks of `sources` (a report's; default every source); a failed `fail` check stops the run
    (exit code 1)."""
    return run_gate(ws.engine, ws.config, calendar, period, today_in(ws.config.project.timezone, now), ws.cache,
                    sources, ws.ranges)


def failed_checks(ws: Workspace, calendar: Calendar, period: Period, sources: Sequence[str],
                  now: datetime | None = None) -> list[CheckResult]:
    """The failed `fail` checks of `sources` for `period` (cached like the gate's), for the interactive
    commands to show as warnings: what would stop `pulse run`."""
    results = run_checks(ws.engine, ws.config, calendar, period, today_in(ws.config.project.timezone, now), ws.cache,
                         sources, ws.ranges)
    return [c for c in results if c.failed]


def coverage_of(ws: Workspace, sources: Sequence[str], period: Period,
                now: datetime | None = None) -> tuple[PeriodCoverage, ...]:
    """How each of `sources` covers `period` (sources without an event time left out)."""
    grace = {s: ws.config.sources[s].checks.freshness.grace_days for s in sources}
    return sources_coverage(ws.ranges, sources, period, today_in(ws.config.project.timezone, now), grace)


def data_as_of(ws: Workspace, sources: Sequence[str]) -> date | None:
    """The last event date every one of `sources` reaches (the earliest of their last events): the date a
    report's data is complete to. None when none of them has an event."""
    lasts = [ws.ranges[s].last for s in sources if s in ws.ranges and ws.ranges[s].known]
    return min(lasts) if lasts and all(d is not None for d in lasts) else None  # type: ignore[type-var]


def interactive_warnings(ws: Workspace, calendar: Calendar, period: Period, sources: Sequence[str],
                         now: datetime | None = None) -> list[str]:
    """What an interactive command (`pulse kpis`, `okrs`, `query`) prints on stderr above its output: every
    failed `fail` check of the sources it reads (what would stop `pulse run`), and how far the data reaches
    into a period it covers only partly."""
    return warning_lines(failed_checks(ws, calendar, period, sources, now), coverage_of(ws, sources, period, now),
                         period)


def partial_kpis(ws: Workspace, kpi_ids: Sequence[str], coverage: Sequence[PeriodCoverage]) -> frozenset[str]:
    """The KPIs that read a source which only partly covers the period."""
    partial = {c.source for c in coverage if c.partial}
    return frozenset(k for k in kpi_ids if partial & set(kpi_sources(ws.config, k)))


def kpi_series_full(ws: Workspace, kpi_ids: list[str], window: list[Period], period: Period) -> dict[str, kpis.KpiSeries]:
    """Each KPI's query executed once over the whole window (KPIs sharing a query share its execution), with
    its segments (filled only where its sources have data)."""
    ws.engine.register_periods(window)
    return kpis.run_kpis(ws.engine, ws.config, kpi_ids, window, period, ws.cache, ws.ranges)


def kpi_series(ws: Workspace, kpi_ids: list[str], window: list[Period], period: Period) -> dict[str, Series]:
    """Each KPI's company-wide series, one query execution per KPI."""
    return {k: s.values for k, s in kpi_series_full(ws, kpi_ids, window, period).items()}


def kpi_results(ws: Workspace, kpi_ids: list[str], calendar: Calendar, period: Period) -> list[KpiResult]:
    """Run each KPI's query once over the window and compare the periods."""
    full = kpi_series_full(ws, kpi_ids, report_window(calendar, period), period)
    return [compare(k, ws.config.kpis[k], full[k].values, calendar, period, samples=full[k].samples) for k in kpi_ids]


def okr_results(
    ws: Workspace, calendar: Calendar, period: Period, cycle_name: str | None = None,
    series: dict[str, Series] | None = None,
) -> CycleResult | None:
    """Score the OKR cycle for `period`; None when the project has no okrs.yaml."""
    okrs = ws.config.okrs
    if okrs is None:
        return None
    cycle = choose_cycle(okrs, calendar, period, cycle_name)
    needed = sorted({kr.kpi for o in cycle.config.objectives.values() for kr in o.key_results.values() if kr.kpi})
    have = series or {}
    missing = [k for k in needed if k not in have or cycle.before.start not in have[k]]
    if missing:
        have = {**have, **kpi_series(ws, missing, report_window(calendar, period, cycle.before), period)}
    entries = []
    if okrs.checkins:
        known = set().union(*(kr_ids(c) for c in okrs.cycles.values()))
        entries = load_checkins(ws.config.root / okrs.checkins, known)
    return evaluate(okrs, cycle, period, have, latest_by_kr(entries, period.end))


@contextmanager
def locked(root: Path, command: str, now: datetime | None = None) -> Iterator[ProjectConfig]:
    """Hold the project's lock (<workdir>/pulse.lock) while a command works."""
    config = load_project(root)
    with project_lock(config.workdir, command, now):
        yield config
