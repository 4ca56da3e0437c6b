"""The runner: the one module that calls every stage, in order.

config -> sources (ingest) -> kpis (queries) -> comparisons -> context ->
render (HTML, PDF) -> outputs (atomic publish + manifest).
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

import duckdb

from . import database, kpis, sources
from .checkins import latest_by_kr, load_checkins
from .checks import CheckResult, kpi_anomalies, run_source_checks
from .comparisons import KpiResult, compare
from .config import ProjectConfig, load_project
from .errors import RunFailed
from .context import build_context
from .okr_eval import CycleResult, choose_cycle, evaluate, kr_ids
from .outputs import OutputFile, clean_staging, manifest_bytes, publish
from .periods import Calendar, Grain, Period, history_back, today_in
from .render import render_html, render_pdf

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass
class Timings:
    """Seconds spent per stage, in the order the stages ran."""

    stages: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str, started: float) -> None:
        self.stages[name] = round(time.perf_counter() - started, 3)


@dataclass(frozen=True)
class Workspace:
    """An open project: its config, database connection and ingest report."""

    config: ProjectConfig
    con: duckdb.DuckDBPyConnection
    ingest: sources.IngestReport


@dataclass(frozen=True)
class RunResult:
    report_name: str
    period: Period
    folder: Path
    files: tuple[Path, ...]
    kpis: tuple[KpiResult, ...]


def open_workspace(root: Path, progress: Progress = _quiet, timings: Timings | None = None) -> Workspace:
    """Load the config, open the working database and bring sources up to date."""
    config = load_project(root)
    started = time.perf_counter()
    con = database.connect(config.workdir / "pulse.duckdb", config.project.timezone)
    progress("loading exports")
    report = sources.ingest(con, config, progress)
    if timings is not None:
        timings.measure("ingest", started)
    return Workspace(config=config, con=con, ingest=report)


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
    today = today_in(ws.config.project.timezone, now)
    results = run_source_checks(ws.con, ws.config, calendar, period, today)
    failed = [c for c in results if c.failed]
    if failed:
        raise RunFailed(
            f"data-quality gate failed for {period.label}: {len(failed)} check(s) failed; nothing was rendered or sent",
            "fix the exports or adjust the checks in config/sources.yaml; 'pulse check' runs the gate alone",
            details=[f"{c.scope}: {c.name}: {c.message}" for c in failed],
        )
    return results


def kpi_series(ws: Workspace, kpi_ids: list[str], window: list[Period], period: Period) -> dict[str, dict]:
    """Each KPI's query executed once over the whole window."""
    kpis.register_periods(ws.con, window)
    return {kpi_id: kpis.run_kpi(ws.con, ws.config, kpi_id, window, period).values for kpi_id in kpi_ids}


def kpi_results(ws: Workspace, kpi_ids: list[str], calendar: Calendar, period: Period) -> list[KpiResult]:
    """Run each KPI's query once over the window and compare the periods."""
    series = kpi_series(ws, kpi_ids, report_window(calendar, period), period)
    return [compare(k, ws.config.kpis[k], series[k], calendar, period) for k in kpi_ids]


def okr_results(
    ws: Workspace, calendar: Calendar, period: Period, cycle_name: str | None = None,
    series: dict[str, dict] | None = None,
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


def run_report(
    root: Path,
    report_name: str | None = None,
    period_text: str | None = None,
    now: datetime | None = None,
    progress: Progress = _quiet,
) -> RunResult:
    """The whole pipeline for one report and period; returns what was written."""
    timings = Timings()
    ws = open_workspace(root, progress, timings)
    config = ws.config
    name, report = config.report(report_name)
    calendar = calendar_for(config, report.grain)
    period = resolve_period(config, report.grain, period_text, now)
    started = time.perf_counter()
    progress("checking data quality")
    checks = quality_gate(ws, calendar, period, now)
    timings.measure("checks", started)

    started = time.perf_counter()
    progress(f"computing {len(report.kpis)} KPIs for {period.label}")
    cycle = choose_cycle(config.okrs, calendar, period) if config.okrs and report.okrs else None
    kr_kpis = [] if cycle is None else sorted(
        {kr.kpi for o in cycle.config.objectives.values() for kr in o.key_results.values() if kr.kpi}
    )
    ids = list(dict.fromkeys([*report.kpis, *kr_kpis]))
    series = kpi_series(ws, ids, report_window(calendar, period, cycle.before if cycle else None), period)
    results = [compare(k, config.kpis[k], series[k], calendar, period) for k in report.kpis]
    checks = checks + kpi_anomalies(results, config)
    timings.measure("kpis", started)
    started = time.perf_counter()
    okr = okr_results(ws, calendar, period, cycle.name, series) if cycle else None
    timings.measure("okrs", started)
    as_of = sources.latest_date(ws.con, config)
    ws.con.close()

    started = time.perf_counter()
    progress("rendering HTML")
    context = build_context(config, name, report, period, results, as_of, okr, checks)
    html = render_html(config.templates_dir, report.template, context)
    timings.measure("html", started)
    files = []
    if "html" in report.formats:
        files.append(OutputFile(f"{name}.html", html.encode("utf-8")))
    if "pdf" in report.formats:
        started = time.perf_counter()
        progress("rendering PDF")
        files.append(OutputFile(f"{name}.pdf", render_pdf(html, config.templates_dir)))
        timings.measure("pdf", started)

    folder = config.output_dir / name / period.label
    manifest = build_manifest(ws, name, period, results, okr, as_of, files, timings, checks)
    files.append(OutputFile("manifest.json", manifest_bytes(manifest)))
    staging = config.workdir / "staging"
    clean_staging(staging)
    progress(f"writing {folder}")
    written = publish(files, folder, staging)
    clean_staging(staging)
    return RunResult(name, period, folder, tuple(written), tuple(results))


def build_manifest(
    ws: Workspace,
    report_name: str,
    period: Period,
    results: list[KpiResult],
    okr: CycleResult | None,
    as_of: date | None,
    files: list[OutputFile],
    timings: Timings,
    checks: list[CheckResult],
) -> dict:
    """What a run used and produced: inputs and their hashes, config hash, figures."""
    config_dir = ws.config.root / "config"
    config_hash = hashlib.sha256()
    for path in sorted(config_dir.rglob("*.yaml")) + sorted(ws.config.queries_dir.rglob("*.sql")):
        config_hash.update(str(path.relative_to(ws.config.root)).encode())
        config_hash.update(path.read_bytes())
    return {
        "report": report_name,
        "period": {"label": period.label, "start": period.start, "end_exclusive": period.end},
        "data_as_of": as_of,
        "inputs": [{"source": f.source, "path": f.path, "sha256": f.sha256, "rows": f.rows} for f in ws.ingest.files],
        "config_sha256": config_hash.hexdigest(),
        "kpis": {
            r.kpi_id: {
                "value": r.value,
                "previous": r.previous,
                "last_year": r.last_year,
                "target": r.target,
                "health": r.health.value,
            }
            for r in results
        },
        "okrs": None if okr is None else {
            "cycle": okr.name,
            "expected": okr.expected,
            "final": okr.final,
            "objectives": {
                o.objective_id: {
                    "score": o.score,
                    "status": o.status.value,
                    "key_results": {
                        k.kr_id: {"baseline": k.baseline, "current": k.current, "attainment": k.attainment,
                                  "score": k.score, "expected": k.expected, "status": k.status.value}
                        for k in o.key_results
                    },
                }
                for o in okr.objectives
            },
        },
        "checks": [
            {"scope": c.scope, "check": c.name, "severity": c.severity, "passed": c.passed,
             "message": c.message, "numbers": c.numbers}
            for c in checks
        ],
        "outputs": {f.name: hashlib.sha256(f.content).hexdigest() for f in files},
        "timings_seconds": timings.stages,
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("pulse-reports", "duckdb", "polars", "jinja2", "weasyprint"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found
