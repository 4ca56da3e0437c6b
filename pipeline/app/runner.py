"""The runner: the one module that calls every stage, in order.

config -> sources (ingest) -> kpis (queries) -> comparisons -> context ->
render (HTML, PDF) -> outputs (atomic publish + manifest).
Then, on request, delivery: `send_report` emails the built PDFs (see `delivery`).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.core import database

from pipeline.delivery import plan as delivery_plan

from pipeline.core import result_cache as kpi_cache

from pipeline.kpis import queries as kpis

from pipeline.sources import ingest as sources
from pipeline.okrs.checkins import latest_by_kr, load_checkins
from pipeline.checks.source_checks import CheckResult, kpi_anomalies, rejects_check, run_source_checks
from pipeline.kpis.comparisons import KpiResult, compare
from pipeline.outputs.archive import IndexEntry, IndexLink, archived_reports, previous_manifest, restatements
from pipeline.config.project import ProjectConfig, ReportConfig, load_project
from pipeline.delivery.send import DeliveryReport, deliver
from pipeline.config.delivery_file import load_delivery, smtp_password
from pipeline.config.delivery import DeliveryFile
from pipeline.report.context import ReportInputs, build_context
from pipeline.report.summary import build_summary, summary_record
from pipeline.core.errors import ConfigError, RunFailed
from .lock import project_lock
from pipeline.outputs.manifest import RunRecord, build_manifest, kpi_values
from pipeline.okrs.cycles import CycleResult, choose_cycle, evaluate, kr_ids
from pipeline.outputs.publish import OutputFile, clean_staging, manifest_bytes, publish, write_atomically
from pipeline.report.segments import SegmentJob, render_segments
from pipeline.core.periods import Calendar, Grain, Period, history_back, now_utc, today_in
from pipeline.report.render import render_html, render_pdf, render_template
from pipeline.report.theme import theme_assets

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass
class Timings:
    """Seconds spent per stage, in the order the stages ran."""

    stages: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str, started: float) -> None:
        self.stages[name] = round(time.perf_counter() - started, 3)

    def add(self, name: str, started: float) -> None:
        self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - started, 3)


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


def open_workspace(root: Path, progress: Progress = _quiet, timings: Timings | None = None,
                   use_cache: bool = True) -> Workspace:
    """Load the config, open the working database and bring sources up to date.

    KPI and check results on this connection are cached (see `kpi_cache`) unless `use_cache` is false.
    """
    config = load_project(root)
    started = time.perf_counter()
    con = database.connect_project(config)
    progress("loading exports")
    report = sources.ingest(con, config, progress)
    kpi_cache.activate(kpi_cache.KpiCache(con, config, {s.name: s.fingerprint for s in report.sources}, use_cache))
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
    results = run_source_checks(ws.con, ws.config, calendar, period, today) + rejects_check(ws.con, ws.config)
    failed = [c for c in results if c.failed]
    if failed:
        raise RunFailed(
            f"data-quality gate failed for {period.label}: {len(failed)} check(s) failed; nothing was rendered or sent",
            "fix the exports or adjust the checks in config/sources.yaml; 'pulse check' runs the gate alone",
            details=[f"{c.scope}: {c.name}: {c.message}" for c in failed],
        )
    return results


def kpi_series_full(ws: Workspace, kpi_ids: list[str], window: list[Period], period: Period) -> dict[str, kpis.KpiSeries]:
    """Each KPI's query executed once over the whole window, with its segments."""
    kpis.register_periods(ws.con, window)
    return {kpi_id: kpis.run_kpi(ws.con, ws.config, kpi_id, window, period) for kpi_id in kpi_ids}


def kpi_series(ws: Workspace, kpi_ids: list[str], window: list[Period], period: Period) -> dict[str, dict]:
    """Each KPI's company-wide series, one query execution per KPI."""
    return {k: s.values for k, s in kpi_series_full(ws, kpi_ids, window, period).items()}


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
    use_cache: bool = True,
) -> RunResult:
    """The whole pipeline for one report and period; returns what was written.

    `use_cache=False` (`pulse run --no-cache`) runs every check and KPI query.
    """
    timings = Timings()
    built_at = now_utc(now)
    ws = open_workspace(root, progress, timings, use_cache)
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
    full = kpi_series_full(ws, ids, report_window(calendar, period, cycle.before if cycle else None), period)
    series = {k: s.values for k, s in full.items()}
    results = [compare(k, config.kpis[k], series[k], calendar, period) for k in report.kpis]
    checks = checks + kpi_anomalies(results, config)
    timings.measure("kpis", started)
    started = time.perf_counter()
    okr = okr_results(ws, calendar, period, cycle.name, series) if cycle else None
    timings.measure("okrs", started)
    as_of = sources.latest_date(ws.con, config)
    ws.con.close()

    folder = config.output_dir / name / period.label
    previous = previous_manifest(folder)
    restated = restatements(previous, results)
    inputs = ReportInputs(
        data_as_of=as_of,
        okr=okr,
        checks=checks,
        theme=theme_assets(config),
        sql={k: config.query_path(k).read_text(encoding="utf-8") for k in report.kpis},
        restatements=restated,
        restated_since=str(previous.get("built_at", "")) if previous else "",
    )
    files = render_files(config, name, report, period, results, inputs, timings, progress)
    segments: dict[str, dict] = {}
    summaries = {}  # the email's executive summary per segment
    if report.burst_by:
        jobs = []
        for segment, seg_results, wide_only in segment_results(full, report.kpis, report.burst_by, config, calendar, period):
            seg_inputs = replace(inputs, segment=segment, okr=None, company_wide_only=wide_only,
                                 restatements=restatements(previous, seg_results, segment))
            jobs.append(SegmentJob(segment, f"{name}-{slug(segment)}", seg_results, seg_inputs))
        # segments render in worker processes (render_workers, see parallel_render)
        for job, seg_files in zip(jobs, render_segments(config, name, report, period, jobs, timings, progress)):
            files.extend(seg_files)
            summaries[job.segment] = build_summary(config, name, report, period, job.results, job.inputs)
            segments[job.segment] = {"kpis": kpi_values(job.results),
                                     "company_wide_only": sorted(job.inputs.company_wide_only),
                                     "files": [f.name for f in seg_files]}
    record = RunRecord(name, period, built_at, as_of, ws.ingest, results, okr, checks, restated, timings.stages)
    manifest = build_manifest(config.root, record, files, segments)
    manifest["summary"] = summary_record(build_summary(config, name, report, period, results, inputs), summaries)
    files.append(OutputFile("manifest.json", manifest_bytes(manifest)))
    staging = config.workdir / "staging"
    clean_staging(staging)
    progress(f"writing {folder}")
    written = publish(files, folder, staging)
    write_index(config, staging)
    clean_staging(staging)
    return RunResult(name, period, folder, tuple(written), tuple(results))


def segment_results(full: dict[str, kpis.KpiSeries], kpi_ids: list[str], dimension: str, config: ProjectConfig,
                    calendar: Calendar, period: Period):
    """Per segment of `dimension`: its KPI results and the KPIs shown company-wide."""
    names = sorted({s for k in kpi_ids for s in full[k].by_dimension.get(dimension, {})})
    if not names:
        raise RunFailed(
            f"burst_by: {dimension}: no KPI query of this report returns a '{dimension}' column",
            "return the dimension as an extra column (e.g. GROUP BY GROUPING SETS ((period, region), (period)))",
        )
    for segment in names:
        results, wide_only = [], set()
        for k in kpi_ids:
            by_segment = full[k].by_dimension.get(dimension)
            if by_segment is None:
                wide_only.add(k)
                values = full[k].values
            else:
                values = by_segment.get(segment, {p: (0.0 if config.kpis[k].fill == "zero" else None)
                                                  for p in full[k].values})
            kpi = config.kpis[k]
            if by_segment is not None:
                kpi = kpi.model_copy(update={"target": None})  # targets are company-wide figures
            results.append(compare(k, kpi, values, calendar, period))
        yield segment, results, frozenset(wide_only)


def slug(text: str) -> str:
    """A file-name-safe form of a segment name: 'Sjælland' -> 'sjaelland'."""
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "ae", "Ø": "oe", "Å": "aa", "ß": "ss"})
    folded = unicodedata.normalize("NFKD", text.translate(table)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "segment"


def render_files(config: ProjectConfig, name: str, report: ReportConfig, period: Period, results: list[KpiResult],
                 inputs: ReportInputs, timings: Timings, progress: Progress, stem: str | None = None) -> list[OutputFile]:
    """The report's HTML and PDF, complete in memory."""
    stem = stem or name
    started = time.perf_counter()
    progress(f"rendering {stem}.html")
    context = build_context(config, name, report, period, results, inputs)
    html = render_html(config.templates_dir, report.template, context)
    timings.add("html", started)
    files = []
    if "html" in report.formats:
        files.append(OutputFile(f"{stem}.html", html.encode("utf-8")))
    if "pdf" in report.formats:
        started = time.perf_counter()
        progress(f"rendering {stem}.pdf")
        files.append(OutputFile(f"{stem}.pdf", render_pdf(html, config.templates_dir, report.pdf_variant)))
        timings.add("pdf", started)
    return files


def write_index(config: ProjectConfig, staging: Path) -> None:
    """reports/index.html: every report and period built, newest first."""
    entries = []
    for archived in archived_reports(config.output_dir):
        links = [IndexLink(f, f"{archived.report}/{archived.period}/{f}") for f in archived.files]
        entries.append(IndexEntry(archived.report, archived.period, archived.built_at, tuple(links)))
    html = render_template(config.templates_dir, "index.html.j2",
                           {"company": config.project.company, "entries": entries})
    write_atomically(config.output_dir / "index.html", html.encode("utf-8"), staging)


# -- delivery (email) and the project lock ------------------------------------------------
@contextmanager
def locked(root: Path, command: str, now: datetime | None = None) -> Iterator[ProjectConfig]:
    """Hold the project's lock (<workdir>/pulse.lock) while a command works."""
    config = load_project(root)
    with project_lock(config.workdir, command, now):
        yield config


def prepare_delivery(config: ProjectConfig, report_name: str | None, outbox: bool = False) -> tuple[DeliveryFile, str | None]:
    """The delivery settings and SMTP password, checked before any work is done."""
    name, report = config.report(report_name)
    if report.email is None:
        raise ConfigError(f"config/reports.yaml: reports.{name} has no email: block",
                          "add email: with send_to: [a recipient list of config/delivery.yaml]; see README 'Email delivery'")
    delivery = load_delivery(config)
    assert delivery is not None
    password = None if (outbox or delivery.outbox) else smtp_password(delivery)
    return delivery, password


def send_report(
    root: Path,
    report_name: str | None = None,
    period_text: str | None = None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    resend: bool = False,
    built: RunResult | None = None,
    progress: Progress = _quiet,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Email a built report (or write the messages to its outbox with `dry_run`).

    `built` is the result of `run_report` in this process; without it (`pulse
    send`) the exports are ingested first and outputs built from other data
    than the current exports are refused.
    """
    config = load_project(root)
    name, report = config.report(built.report_name if built is not None else report_name)
    delivery, password = prepare_delivery(config, name, dry_run)
    ingest = None
    if built is None:
        ws = open_workspace(root, progress)
        ws.con.close()
        ingest = ws.ingest
        period = resolve_period(config, report.grain, period_text, now)
    else:
        period = built.period
    archived = delivery_plan.read_built(config.output_dir / name / period.label, name, period.label)
    if ingest is not None:
        delivery_plan.check_fresh(archived, ingest)
    messages, problems = delivery_plan.plan_messages(archived, report, delivery)
    result = deliver(archived, messages, config, delivery, password=password, now=now,
                     outbox=dry_run or delivery.outbox, resend=resend, progress=progress, sleep=sleep)
    return replace(result, problems=tuple(problems))
