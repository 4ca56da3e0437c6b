"""The runner: the one module that calls every stage, in order.

config -> sources (ingest) -> checks (gate) -> kpis (queries, comparisons) ->
okrs -> report (context, HTML, PDF) -> outputs (atomic publish + manifest).
Then, on request, delivery: `send_report` emails the built PDFs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pipeline.config import ProjectConfig, load_project
from pipeline.config.delivery import DeliveryFile, load_delivery, smtp_password
from pipeline.core.errors import ConfigError
from pipeline.core.files import OutputFile
from pipeline.core.periods import Period, now_utc
from pipeline.core.timings import Timings
from pipeline.delivery import plan as delivery_plan
from pipeline.delivery.decide import Options, UncertainChoice
from pipeline.delivery.outcome import DeliveryReport
from pipeline.delivery.send import abandon, deliver
from pipeline.kpis.anomalies import kpi_anomalies
from pipeline.kpis.comparisons import KpiResult, compare
from pipeline.kpis.restatements import Restatement, restatements
from pipeline.kpis.segments import segment_results
from pipeline.outputs.archive import SENT, previous_manifest
from pipeline.outputs.index import write_index
from pipeline.outputs.manifest import MANIFEST, Manifest, RunRecord, SegmentOutputs, build_manifest
from pipeline.outputs.names import segment_stems
from pipeline.outputs.publish import clean_staging, publish
from pipeline.report.context import ReportInputs, inactive_sentence
from pipeline.report.render import render_files, start_imports
from pipeline.report.render_cache import RenderCache
from pipeline.report.segments import SegmentJob, render_segments
from pipeline.report.summary import build_summary
from pipeline.report.theme import theme_assets

RENDER_CACHE = "render-cache"  # under the working folder (.pulse/)

from .workspace import (
    Progress,
    _quiet,
    calendar_for,
    coverage_of,
    data_as_of,
    kpi_series_full,
    okr_results,
    open_workspace,
    partial_kpis,
    quality_gate,
    report_scope,
    report_window,
    resolve_period,
)


@dataclass(frozen=True)
class RunResult:
    report_name: str
    period: Period
    folder: Path
    files: tuple[Path, ...]
    kpis: tuple[KpiResult, ...]
    reused: int = 0  # PDFs taken unchanged from the render cache
    pdfs: int = 0  # PDFs of this run (reused or laid out)
    skipped: tuple[str, ...] = ()  # segments without activity left out (inactive_segments: skip)

    def reuse_line(self) -> str:
        """"6 PDFs: 5 of 6 reused (unchanged since an earlier run), 1 rendered", or "" without PDFs."""
        if not self.pdfs:
            return ""
        word = "PDF" if self.pdfs == 1 else "PDFs"
        return (f"{self.pdfs} {word}: {self.reused} of {self.pdfs} reused (unchanged since an earlier run), "
                f"{self.pdfs - self.reused} rendered")


def run_report(
    root: Path,
    report_name: str | None = None,
    period_text: str | None = None,
    now: datetime | None = None,
    progress: Progress = _quiet,
    use_cache: bool = True,
    preview: bool = False,
) -> RunResult:
    """The whole pipeline for one report and period; returns what was written.

    `use_cache=False` (`pulse run --no-cache`) runs every check and KPI query.
    `preview=True` (`pulse preview`) builds the company-wide HTML only, into
    <workdir>/preview/<report>/: nothing is published under reports/, no manifest, no index.
    """
    timings = Timings()
    built_at = now_utc(now)
    # the charts' library is imported in a thread while exports load (a warm start loads none)
    with open_workspace(root, progress, timings, use_cache, loading=start_imports) as ws:  # queries in its sandbox
        config = ws.config
        name, report = config.report(report_name)
        if preview:
            report = report.model_copy(update={"formats": ["html"], "burst_by": None})
        calendar = calendar_for(config, report.grain)
        period = resolve_period(config, report.grain, period_text, now)
        scope = report_scope(config, report, calendar, period)  # the report's KPIs (and KRs') and their sources
        cycle = scope.cycle
        started = time.perf_counter()
        progress("checking data quality")
        checks = quality_gate(ws, calendar, period, now, scope.sources)
        timings.measure("checks", started)

        started = time.perf_counter()
        progress(f"computing {len(report.kpis)} KPIs for {period.label}")
        window = report_window(calendar, period, cycle.before if cycle else None)
        full = kpi_series_full(ws, list(scope.kpis), window, period)
        series = {k: s.values for k, s in full.items()}
        results = [compare(k, config.kpis[k], series[k], calendar, period, samples=full[k].samples)
                   for k in report.kpis]
        checks = checks + kpi_anomalies(results, config.kpis)
        timings.measure("kpis", started)
        started = time.perf_counter()
        okr = okr_results(ws, calendar, period, cycle.name, series) if cycle else None
        timings.measure("okrs", started)
        as_of = data_as_of(ws, scope.sources)
        coverage = coverage_of(ws, scope.sources, period, now)

    folder = config.output_dir / name / period.label
    previous = previous_manifest(folder)
    restated = _restated(previous, results)
    inputs = ReportInputs(
        data_as_of=as_of,
        okr=okr,
        checks=checks,
        theme=theme_assets(config),
        sql={k: config.query_path(k).read_text(encoding="utf-8") for k in report.kpis},
        restatements=restated,
        restated_since=min((r.reported_at for r in restated), default=""),
        window=tuple(window),
        coverage=coverage,
        partial_kpis=partial_kpis(ws, report.kpis, coverage),
    )
    cache = RenderCache(config.workdir / RENDER_CACHE, read=use_cache)
    files = render_files(config, name, report, period, results, inputs, timings, progress, cache=cache)
    if preview:
        preview_folder = config.workdir / "preview" / name
        written = publish(files, preview_folder, config.workdir / "staging")
        return RunResult(name, period, preview_folder, tuple(written), tuple(results), cache.reused,
                         cache.reused + cache.rendered)
    segments: dict[str, SegmentOutputs] = {}
    skipped: dict[str, str] = {}
    if report.burst_by:
        jobs = []
        bursts = list(segment_results(full, name, report, config, calendar, period))
        stems = segment_stems(name, [b.segment for b in bursts])  # unique, bounded file names
        source_checks = [c for c in checks if not c.scope.startswith("kpi:")]
        for burst in bursts:
            if not burst.active and report.inactive_segments == "skip":
                skipped[burst.segment] = inactive_sentence(period, burst.last_active, config.project.locale)
                continue
            seg_restated = _restated(previous, burst.results, burst.segment)
            # the segment's own anomalies, not the company's: a segment report states the segment's figures
            seg_inputs = replace(inputs, segment=burst.segment, okr=None, restatements=seg_restated,
                                 restated_since=min((r.reported_at for r in seg_restated), default=""),
                                 checks=source_checks + kpi_anomalies(burst.results, config.kpis),
                                 inactive=not burst.active, last_active=burst.last_active,
                                 brief=not burst.active and report.inactive_segments == "brief")
            jobs.append(SegmentJob(burst.segment, stems[burst.segment], burst.results, seg_inputs))
        if skipped:
            progress(f"skipped {len(skipped)} {report.burst_by} without activity in {period.label}: "
                     + ", ".join(skipped))
        # segments render in worker processes (render_workers, see report.segments)
        for job, seg_files in zip(jobs, render_segments(config, name, report, period, jobs, timings, progress,
                                                        cache=cache)):
            files.extend(seg_files)
            segments[job.segment] = SegmentOutputs(
                job.results, frozenset(r.kpi_id for r in job.results if r.company_wide), tuple(seg_files),
                build_summary(config, name, report, period, job.results, job.inputs), job.inputs.restatements)
    record = RunRecord(name, period, built_at, as_of, ws.ingest, results, okr, checks, restated, timings.stages,
                       build_summary(config, name, report, period, results, inputs), segments, coverage, skipped)
    manifest = build_manifest(config.root, record, files)
    files.append(OutputFile(MANIFEST, manifest.to_bytes()))
    staging = config.workdir / "staging"
    clean_staging(staging)
    progress(f"writing {folder}")
    try:
        written = publish(files, folder, staging, keep=(SENT,))
        write_index(config, staging)
    finally:
        clean_staging(staging)  # nothing of this run is left in staging, whether it worked or not
    cache.prune()
    return RunResult(name, period, folder, tuple(written), tuple(results), cache.reused, cache.reused + cache.rendered,
                     tuple(skipped))


def _restated(previous: Manifest | None, results: list[KpiResult], segment: str | None = None) -> list[Restatement]:
    """Figures that differ from what an earlier build of this period first reported (kept on record)."""
    if previous is None:
        return []
    return restatements(previous.values_of(segment), results, previous.restated_of(segment), previous.built_at)


def prepare_delivery(config: ProjectConfig, report_name: str | None, outbox: bool = False) -> tuple[DeliveryFile, str | None]:
    """The delivery settings and SMTP password, checked before any work is done."""
    name, report = config.report(report_name)
    if report.email is None:
        raise ConfigError(f"config/reports.yaml: reports.{name} has no email: block",
                          "add email: with send_to: [a recipient list of config/delivery.yaml]; "
                          "see docs/email-and-scheduling.md 'The email block of a report'")
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
    send_correction: bool = False,
    uncertain: UncertainChoice | None = None,
    built: RunResult | None = None,
    run_id: str = "",
    progress: Progress = _quiet,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Email a built report (or write the messages to its outbox with `dry_run`).

    `built` is the result of `run_report` in this process; without it (`pulse
    send`) the exports are ingested first and outputs built from other data
    than the current exports are refused. `resend`, `send_correction` and
    `uncertain` are the operator's answers (see `pipeline.delivery.decide`).
    """
    config = load_project(root)
    name, report = config.report(built.report_name if built is not None else report_name)
    delivery, password = prepare_delivery(config, name, dry_run)
    ingest = None
    if built is None:
        with open_workspace(root, progress) as ws:
            ingest = ws.ingest
        period = resolve_period(config, report.grain, period_text, now)
    else:
        period = built.period
    archived = delivery_plan.read_built(config.output_dir / name / period.label, name, period.label)
    if ingest is not None:
        delivery_plan.check_fresh(archived, ingest)
    messages, problems = delivery_plan.plan_messages(archived, report, delivery)
    options = Options(resend=resend, send_correction=send_correction, uncertain=uncertain,
                      corrections=delivery.corrections)
    result = deliver(archived, messages, config, delivery, password=password, now=now,
                     outbox=dry_run or delivery.outbox, options=options, run_id=run_id, progress=progress, sleep=sleep)
    return replace(result, problems=tuple(problems))


def abandon_report(root: Path, report_name: str, period_text: str | None, *, now: datetime | None = None,
                   run_id: str = "") -> tuple[Period, DeliveryReport | None]:
    """Give up on what is owed of a report and period: every recipient not yet (certainly) reached.

    Without a built report (its build failed) there is nothing to mark per
    recipient; the period itself is settled by the caller (`_pulse_runs`).
    """
    config = load_project(root)
    name, report = config.report(report_name)
    period = resolve_period(config, report.grain, period_text, now)
    folder = config.output_dir / name / period.label
    if report.email is None or not (folder / MANIFEST).is_file():
        return period, None
    delivery = load_delivery(config)
    assert delivery is not None
    archived = delivery_plan.read_built(folder, name, period.label)
    messages, _problems = delivery_plan.plan_messages(archived, report, delivery)
    return period, abandon(archived, messages, config, now=now, run_id=run_id)
