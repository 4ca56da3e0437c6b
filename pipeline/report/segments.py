"""Render the segment reports of a burst (burst_by) in worker processes.

Each segment's HTML and PDF is independent of the others and laying out a
PDF is single-threaded Python, so segments are rendered by a pool of worker
processes: `render_workers` in config/pulse.yaml, by default one per core,
never more than there are segments; 1 renders in this process. Workers are
forked from a fork server that has already imported the renderer (started
once per process; no DuckDB connection or thread is inherited). They get
plain data: the config, the report and its period once, then per segment its
KPI results and report inputs; they return the finished files. The result is
the same, byte for byte, as rendering one segment after the other.

On a terminal a progress bar shows the segments done (nothing in cron).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass

from pipeline.config import ProjectConfig, ReportConfig
from pipeline.core.files import OutputFile
from pipeline.core.periods import Period
from pipeline.core.timings import Timings
from pipeline.kpis.comparisons import KpiResult

from .context import ReportInputs

PRELOAD = ["pipeline.report.render", "weasyprint"]


@dataclass(frozen=True)
class SegmentJob:
    """One segment's report to render: its name, file stem, KPI results and inputs."""

    segment: str
    stem: str
    results: list[KpiResult]
    inputs: ReportInputs


def worker_count(config: ProjectConfig, jobs: int, workers: int | None = None) -> int:
    """Processes to use: `workers`, else render_workers, else one per core; at most one per segment."""
    wanted = workers or config.project.render_workers or os.cpu_count() or 1
    return max(1, min(wanted, jobs))


def render_segments(config: ProjectConfig, name: str, report: ReportConfig, period: Period, jobs: list[SegmentJob],
                    timings, progress: Callable[[str], None], workers: int | None = None) -> list[list[OutputFile]]:
    """Each job's files (HTML, PDF), in the order of `jobs`."""
    from . import render

    count = worker_count(config, len(jobs), workers)
    if render.render_pdf.__module__ != render.__name__:  # replaced in this process (a test stub): it cannot run elsewhere
        count = 1
    started = time.perf_counter()
    with _progress_bar(len(jobs), f"rendering {len(jobs)} {report.burst_by or 'segment'} reports") as advance:
        if count == 1:
            rendered = []
            for job in jobs:
                rendered.append(render.render_files(config, name, report, period, job.results, job.inputs, timings,
                                                    progress, job.stem))
                advance()
        else:
            rendered = _in_workers(config, name, report, period, jobs, count, advance)
    timings.stages["segments"] = round(time.perf_counter() - started, 3)
    return rendered


def _in_workers(config, name, report, period, jobs, count, advance) -> list[list[OutputFile]]:
    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    with ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker,
                             initargs=(config, name, report, period)) as pool:
        futures = {pool.submit(_render_one, job.results, job.inputs, job.stem): index
                   for index, job in enumerate(jobs)}
        rendered: list[list[OutputFile]] = [[] for _ in jobs]
        for future in as_completed(futures):
            rendered[futures[future]] = future.result()
            advance()
    return rendered


_worker: dict[str, object] = {}


def _start_worker(config: ProjectConfig, name: str, report: ReportConfig, period: Period) -> None:
    _worker.update(config=config, name=name, report=report, period=period)


def _render_one(results: list[KpiResult], inputs: ReportInputs, stem: str) -> list[OutputFile]:
    from .render import render_files

    return render_files(_worker["config"], _worker["name"], _worker["report"], _worker["period"],  # type: ignore[arg-type]
                        results, inputs, Timings(), lambda _message: None, stem)


@contextmanager
def _progress_bar(total: int, label: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar on an interactive stderr; a no-op otherwise."""
    if not sys.stderr.isatty() or total < 2:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[dim]› {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
