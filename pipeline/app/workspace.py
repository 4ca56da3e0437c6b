"""An open project: config, working database, ingested sources, and the numbers asked of it.

`open_workspace` loads the config, brings every source up to date on a
read-write connection to the working database and closes it; checks, KPI and
ad hoc queries then run on the read-only sandbox (see `pipeline.core.sandbox`),
opened when first used. Closing the workspace (`close`, or leaving its `with`
block) closes the sandbox and writes the results this run added to the cache
on a read-write connection again. The functions below compute what the
commands show (the gate, KPI series and results, OKR scores) for a report
period. The runner and the interactive commands (`pulse kpis`, `okrs`,
`check`, `query`) share them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipeline.checks.gate import quality_gate as run_gate
from pipeline.checks.source_checks import CheckResult
from pipeline.config import ProjectConfig, load_project
from pipeline.core import database
from pipeline.core.periods import Calendar, Grain, Period, history_back, today_in
from pipeline.core.result_cache import ResultCache
from pipeline.core.sandbox import Sandbox
from pipeline.core.timings import Timings
from pipeline.kpis import queries as kpis
from pipeline.kpis.comparisons import KpiResult, compare
from pipeline.kpis.queries import Series
from pipeline.okrs.checkins import latest_by_kr, load_checkins
from pipeline.okrs.cycles import CycleResult, choose_cycle, evaluate, kr_ids
from pipeline.sources import ingest as sources
from pipeline.sources.paths import sandbox_rules

from .lock import project_lock

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class Workspace:
    """An open project: its config, ingest report, the sandbox its queries run on and its result cache."""

    config: ProjectConfig
    sandbox: Sandbox
    ingest: sources.IngestReport
    cache: ResultCache | None = None
    data_as_of: date | None = None  # the latest date in the sources (the report's "data as of")

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The sandboxed, read-only connection (opened when first used)."""
        return self.sandbox.con

    def close(self) -> None:
        """Close the sandbox, then write the results this run added to the cache (read-write)."""
        self.sandbox.close()
        if self.cache is not None and self.cache.pending:
            con = database.connect_project(self.config)
            try:
                self.cache.flush(con)
            finally:
                con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_workspace(root: Path, progress: Progress = _quiet, timings: Timings | None = None,
                   use_cache: bool = True, config: ProjectConfig | None = None) -> Workspace:
    """Load the config (unless given), bring sources up to date and prepare the query sandbox.

    Ingest is the only writer: its read-write connection is closed before any
    query runs. KPI and check results are cached (see
    `pipeline.core.result_cache`) unless `use_cache` is false.
    """
    config = config or load_project(root)
    started = time.perf_counter()
    con = database.connect_project(config)
    try:
        progress("loading exports")
        report = sources.ingest(con, config, progress)
        as_of = sources.latest_date(con, config)
        if use_cache:
            ResultCache.prepare(con)
    finally:
        con.close()
    cache = ResultCache({name: source.model_dump(mode="json") for name, source in config.sources.items()},
                        {s.name: s.fingerprint for s in report.sources}, config.project.timezone, use_cache)
    if timings is not None:
        timings.measure("ingest", started)
    return Workspace(config=config, sandbox=open_sandbox(config), ingest=report, cache=cache, data_as_of=as_of)


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


def quality_gate(ws: Workspace, calendar: Calendar, period: Period, now: datetime | None = None) -> list[CheckResult]:
    """Run the source checks; a failed `fail` check stops the run (exit code 1)."""
    return run_gate(ws.con, ws.config, calendar, period, today_in(ws.config.project.timezone, now), ws.cache)


def kpi_series_full(ws: Workspace, kpi_ids: list[str], window: list[Period], period: Period) -> dict[str, kpis.KpiSeries]:
    """Each KPI's query executed once over the whole window, with its segments."""
    con = kpis.register_periods(ws.sandbox, window)
    return {kpi_id: kpis.run_kpi(con, ws.config, kpi_id, window, period, ws.cache) for kpi_id in kpi_ids}


def kpi_series(ws: Workspace, kpi_ids: list[str], window: list[Period], period: Period) -> dict[str, Series]:
    """Each KPI's company-wide series, one query execution per KPI."""
    return {k: s.values for k, s in kpi_series_full(ws, kpi_ids, window, period).items()}


def kpi_results(ws: Workspace, kpi_ids: list[str], calendar: Calendar, period: Period) -> list[KpiResult]:
    """Run each KPI's query once over the window and compare the periods."""
    series = kpi_series(ws, kpi_ids, report_window(calendar, period), period)
    return [compare(k, ws.config.kpis[k], series[k], calendar, period) for k in kpi_ids]


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
